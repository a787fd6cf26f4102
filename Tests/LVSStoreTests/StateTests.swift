import Foundation
import LVSModel
import LVSStore
import Testing

@Suite("Ownership, drains, health and maintenance")
struct StateTests {
    @Test("ownership: set, get, refuse another manifest, transfer, remove")
    func ownership() throws {
        let clock = ManualClock()
        let store = try Store.inMemory(clock: clock.source)
        let web = try store.saveRevision(manifest: "web", content: "{}", author: "alice")
        let api = try store.saveRevision(manifest: "api", content: "{}", author: "alice")
        let http = try vs("tcp/10.0.0.1:80")
        let v6 = try vs("tcp/[2001:db8::1]:443")
        let mark = try vs("fwmark/7")

        try store.setOwner([http, v6], revision: web)
        try store.setOwner([mark], revision: api)
        #expect(try store.owner(of: http) == Ownership(service: http, manifest: "web", revisionID: web.id, claimedAt: clock.now))
        #expect(try store.ownership(manifest: "web").map(\.service) == [http, v6])
        #expect(try store.ownership().map(\.service) == [http, v6, mark])
        #expect(try store.owners() == [http: "web", v6: "web", mark: "api"])

        // Claiming another manifest's service fails and writes nothing.
        let other = try vs("udp/10.0.0.9:53")
        #expect(throws: StoreError.ownedByAnotherManifest(service: "fwmark/7", owner: "api", requested: "web")) {
            try store.setOwner([other, mark], revision: web)
        }
        #expect(try store.owner(of: other) == nil)

        // Re-claiming by the same manifest re-stamps the revision.
        let web2 = try store.saveRevision(manifest: "web", content: #"{"v":2}"#, author: "alice")
        try store.setOwner([http], revision: web2)
        #expect(try store.owner(of: http)?.revisionID == web2.id)

        #expect(try store.removeOwner([http, mark], manifest: "api") == 1, "api owns only the mark")
        #expect(try store.removeOwner([http, mark], manifest: "web") == 1, "web owns only http")
        #expect(try store.ownership().map(\.service) == [v6])
        #expect(try store.owners() == [v6: "web"])
    }

    @Test("drains: upsert, read, list, delete")
    func drains() throws {
        let store = try Store.inMemory()
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        let svc = try vs("tcp/10.0.0.1:80")
        var drain = DrainRecord(
            service: svc, realServer: try rs("192.168.1.11:80"), manifest: "web", startedAt: start,
            deadline: start.addingTimeInterval(300), reason: .removedFromManifest)
        try store.upsertDrain(drain)
        #expect(try store.drain(service: svc, realServer: drain.realServer) == drain)

        drain.deadline = nil
        drain.startedAt = start.addingTimeInterval(60)
        try store.upsertDrain(drain)
        #expect(try store.drains() == [drain])

        let other = DrainRecord(
            service: try vs("udp/10.0.0.2:53"), realServer: try rs("192.168.2.1:53"), manifest: "dns", startedAt: start,
            deadline: nil, reason: .removedFromManifest)
        try store.upsertDrain(other)
        #expect(try store.drains().map(\.manifest) == ["web", "dns"])
        #expect(try store.drains(manifest: "dns") == [other])

        #expect(try store.removeDrain(service: svc, realServer: drain.realServer))
        #expect(try store.removeDrain(service: svc, realServer: drain.realServer) == false)
        #expect(try store.drain(service: svc, realServer: drain.realServer) == nil)
    }

    @Test("health: upsert, read, list, delete")
    func health() throws {
        let store = try Store.inMemory()
        let t = Date(timeIntervalSince1970: 1_780_000_000.25)
        let svc = try vs("tcp/10.0.0.1:80")
        var a = HealthRecord(service: svc, realServer: try rs("192.168.1.10:80"), healthy: true, changedAt: t)
        try store.upsertHealth(a)
        #expect(try store.health(service: svc, realServer: a.realServer) == a)

        a.healthy = false
        a.lastCheck = t.addingTimeInterval(6)
        a.lastError = "connect: Connection refused"
        a.consecutiveFailures = 3
        a.consecutiveSuccesses = 0
        a.changedAt = t.addingTimeInterval(6)
        try store.upsertHealth(a)
        let b = HealthRecord(
            service: svc, realServer: try rs("192.168.1.2:80"), healthy: true, lastCheck: t, consecutiveSuccesses: 9,
            changedAt: t)
        try store.upsertHealth(b)
        #expect(try store.healthRecords() == [b, a], "sorted by real server address")
        #expect(try store.healthRecords(service: vs("tcp/10.0.0.9:80")).isEmpty)
        #expect(try store.removeHealth(service: svc, realServer: b.realServer))
        #expect(try store.healthRecords(service: svc) == [a])
    }

    @Test("maintenance flags on services and real servers")
    func maintenance() throws {
        let store = try Store.inMemory()
        let t = Date(timeIntervalSince1970: 1_780_000_000)
        let svc = try vs("tcp/10.0.0.1:80")
        let other = try vs("tcp/10.0.0.2:80")
        let a = try rs("192.168.1.10:80")
        let b = try rs("192.168.1.11:80")

        try store.setMaintenance(MaintenanceFlag(service: svc, realServer: a, reason: "kernel upgrade", author: "alice", since: t))
        #expect(try store.isInMaintenance(service: svc, realServer: a))
        #expect(try store.isInMaintenance(service: svc, realServer: b) == false)
        #expect(try store.isInMaintenance(service: svc) == false)

        try store.setMaintenance(MaintenanceFlag(service: svc, author: "bob", since: t))
        try store.setMaintenance(MaintenanceFlag(service: svc, author: "carol", since: t.addingTimeInterval(1)))
        #expect(try store.isInMaintenance(service: svc, realServer: b), "the whole service is in maintenance")
        #expect(try store.isInMaintenance(service: other, realServer: b) == false)
        #expect(try store.maintenanceFlags() == [
            MaintenanceFlag(service: svc, author: "carol", since: t.addingTimeInterval(1)),
            MaintenanceFlag(service: svc, realServer: a, reason: "kernel upgrade", author: "alice", since: t),
        ])

        #expect(try store.clearMaintenance(service: svc))
        #expect(try store.isInMaintenance(service: svc, realServer: b) == false)
        #expect(try store.clearMaintenance(service: svc, realServer: a))
        #expect(try store.clearMaintenance(service: svc, realServer: a) == false)
        #expect(try store.maintenanceFlags().isEmpty)
    }

    @Test("notification states: set, replace, read back from a reopened file")
    func notifyStates() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lvsctl.db").path
        do {
            let store = try Store(path: path)
            #expect(try store.notifyStates().isEmpty)
            try store.setNotifyState(subject: "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80", state: "DOWN")
            try store.setNotifyState(subject: "SERVICE tcp/10.0.0.1:80", state: "QUORUM_LOST")
            try store.setNotifyState(subject: "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80", state: "UP")
        }
        let reopened = try Store(path: path)
        #expect(try reopened.notifyStates() == [
            "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80": "UP", "SERVICE tcp/10.0.0.1:80": "QUORUM_LOST",
        ])
    }
}
