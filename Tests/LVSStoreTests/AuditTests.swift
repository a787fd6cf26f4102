import Foundation
import LVSModel
import LVSStore
import Testing

@Suite("Apply runs and audit")
struct AuditTests {
    /// A store with one revision, one run and five audit rows spread over time.
    struct Fixture {
        let store: Store
        let clock: ManualClock
        let revision: Revision
        let run: ApplyRun
        let start: Date

        init() throws {
            clock = ManualClock()
            store = try Store.inMemory(clock: clock.source)
            revision = try store.saveRevision(manifest: "web", content: "{}", author: "alice")
            _ = try store.saveRevision(manifest: "dns", content: "{}", author: "alice")
            run = try store.beginRun(manifest: "web", revision: revision, origin: .apply, author: "alice")
            start = clock.now
            let svc = try vs("tcp/10.0.0.1:80")
            let dns = try vs("udp/10.0.0.2:53")
            let a = try rs("192.168.1.10:80")
            let b = try rs("192.168.1.11:80")
            func entry(_ minute: Double, _ manifest: String, _ action: String, _ service: VirtualService.ID?,
                       _ realServer: RealServer.ID?, _ result: AuditEntry.Result = .applied) -> AuditEntry {
                AuditEntry(
                    runID: run.id, revisionID: revision.id, manifest: manifest, at: start.addingTimeInterval(minute * 60),
                    action: action, service: service, realServer: realServer, before: nil, after: "{}", result: result,
                    durationMicroseconds: 100, origin: .apply)
            }
            try store.appendAudit([
                entry(0, "web", "create-service", svc, nil),
                entry(1, "web", "add-real-server", svc, a),
                entry(2, "web", "add-real-server", svc, b),
                entry(3, "dns", "create-service", dns, nil),
                entry(4, "web", "update-real-server", svc, a, .failed),
                entry(5, "web", "update-real-server", svc, b),
            ])
        }
    }

    @Test("runs begin as running and finish with a status")
    func runs() throws {
        let f = try Fixture()
        #expect(f.run.status == .running && f.run.finishedAt == nil && f.run.revisionID == f.revision.id)
        f.clock.advance(3)
        let done = try f.store.finishRun(f.run.id, status: .failed, error: "EEXIST on add-real-server")
        #expect(done.status == .failed && done.error == "EEXIST on add-real-server")
        #expect(done.finishedAt == f.run.startedAt.addingTimeInterval(3))
        #expect(try f.store.run(f.run.id) == done)
        let daemon = try f.store.beginRun(manifest: nil, origin: .daemon, author: "lvsctl-daemon")
        #expect(try f.store.runs().map(\.id) == [daemon.id, f.run.id])
        #expect(try f.store.runs(manifest: "web").map(\.id) == [f.run.id])
        #expect(throws: StoreError.notFound("apply run 999")) { try f.store.finishRun(999, status: .succeeded) }
    }

    @Test("audit rows come back newest first, with their fields")
    func newestFirst() throws {
        let f = try Fixture()
        let all = try f.store.audit()
        #expect(all.map(\.action) == [
            "update-real-server", "update-real-server", "create-service", "add-real-server", "add-real-server",
            "create-service",
        ])
        let last = try #require(all.first)
        #expect(last.realServer == (try rs("192.168.1.11:80")) && last.result == .applied && last.after == "{}")
        #expect(last.durationMicroseconds == 100 && last.origin == .apply && last.runID == f.run.id)
        #expect(Set(all.compactMap(\.id)).count == 6)
    }

    struct FilterCase: CustomStringConvertible {
        var name: String
        var filter: @Sendable (Date) throws -> AuditFilter
        /// Minutes after the fixture's start of the expected rows, in order.
        var minutes: [Double]
        var description: String { name }
    }

    @Test("audit filters", arguments: [
        FilterCase(name: "oldest first", filter: { _ in AuditFilter(order: .oldestFirst) }, minutes: [0, 1, 2, 3, 4, 5]),
        FilterCase(name: "manifest", filter: { _ in AuditFilter(manifest: "dns") }, minutes: [3]),
        FilterCase(name: "service", filter: { _ in AuditFilter(service: try vs("tcp/10.0.0.1:80")) }, minutes: [5, 4, 2, 1, 0]),
        FilterCase(
            name: "real server", filter: { _ in AuditFilter(realServer: try rs("192.168.1.10:80"), order: .oldestFirst) },
            minutes: [1, 4]),
        FilterCase(
            name: "since and until",
            filter: { s in AuditFilter(since: s.addingTimeInterval(60), until: s.addingTimeInterval(180), order: .oldestFirst) },
            minutes: [1, 2]),
        FilterCase(name: "limit", filter: { _ in AuditFilter(limit: 2) }, minutes: [5, 4]),
        FilterCase(name: "limit oldest", filter: { _ in AuditFilter(limit: 2, order: .oldestFirst) }, minutes: [0, 1]),
        FilterCase(name: "failed only", filter: { _ in AuditFilter(result: .failed) }, minutes: [4]),
        FilterCase(name: "other run", filter: { _ in AuditFilter(runID: 12345) }, minutes: []),
        FilterCase(
            name: "combined",
            filter: { s in AuditFilter(manifest: "web", service: try vs("tcp/10.0.0.1:80"), since: s.addingTimeInterval(120), limit: 2) },
            minutes: [5, 4]),
    ])
    func filters(_ c: FilterCase) throws {
        let f = try Fixture()
        let rows = try f.store.audit(c.filter(f.start))
        #expect(rows.map { $0.at.timeIntervalSince(f.start) / 60 } == c.minutes)
    }

    @Test("lastSet finds the newest applied row per object, ignoring failed and undone rows")
    func lastSet() throws {
        let f = try Fixture()
        let svc = try vs("tcp/10.0.0.1:80")
        #expect(try f.store.lastSet(service: svc)?.action == "create-service")
        let a = try #require(try f.store.lastSet(service: svc, realServer: rs("192.168.1.10:80")))
        #expect(a.at == f.start.addingTimeInterval(60), "the later failed update does not count")
        let b = try #require(try f.store.lastSet(service: svc, realServer: rs("192.168.1.11:80")))
        #expect(b.action == "update-real-server")
        #expect(try f.store.lastSet(service: vs("tcp/10.9.9.9:80")) == nil)

        #expect(try f.store.markUndone(auditIDs: [try #require(b.id)]) == 1)
        #expect(try f.store.lastSet(service: svc, realServer: rs("192.168.1.11:80"))?.action == "add-real-server")

        let all = try f.store.lastSetByObject()
        #expect(all.map { "\($0.service?.description ?? "-") \($0.realServer?.description ?? "-") \($0.action)" } == [
            "tcp/10.0.0.1:80 - create-service",
            "tcp/10.0.0.1:80 192.168.1.10:80 add-real-server",
            "tcp/10.0.0.1:80 192.168.1.11:80 add-real-server",
            "udp/10.0.0.2:53 - create-service",
        ])
        #expect(try f.store.lastSetByObject(service: vs("udp/10.0.0.2:53")).count == 1)
    }

    @Test("appendAudit stores all rows or none")
    func atomic() throws {
        let f = try Fixture()
        let good = AuditEntry(
            runID: f.run.id, revisionID: nil, manifest: "web", at: f.start.addingTimeInterval(600), action: "set-timeouts", service: nil,
            result: .applied, origin: .apply)
        var bad = good
        bad.runID = 999_999  // no such run: the foreign key fails
        #expect(throws: StoreError.self) { try f.store.appendAudit([good, bad]) }
        #expect(try f.store.audit().count == 6)
        let stored = try f.store.appendAudit([good])
        #expect(stored.first?.id != nil && stored.first?.service == nil)
        #expect(try f.store.audit(AuditFilter(limit: 1)).first?.action == "set-timeouts")
    }

    /// appendAudit binds what consecutive rows share once per INSERT and the rest per row; rows
    /// that share little (failures, undo rows, other revisions, other durations) and batches longer
    /// than one INSERT must come back exactly as given, with consecutive ids in the given order.
    @Test("a long batch of mixed rows comes back field for field, in order")
    func mixedBatch() throws {
        let f = try Fixture()
        let other = try f.store.saveRevision(manifest: "web", content: #"{"x":1}"#, author: "bob")
        let svc = try vs("tcp/10.0.0.1:80")
        var entries: [AuditEntry] = []
        for i in 0..<700 {
            let failed = i % 97 == 5
            entries.append(AuditEntry(
                runID: f.run.id, revisionID: i % 300 == 299 ? other.id : (i % 250 == 7 ? nil : f.revision.id),
                manifest: i % 333 == 100 ? "dns" : "web", at: f.start.addingTimeInterval(Double(i) + 0.000_123),
                action: failed ? "update-real-server" : "add-real-server", service: i % 50 == 0 ? nil : svc,
                realServer: i % 50 == 0 ? nil : try rs("192.168.\(i / 250).\(i % 250):80"),
                before: i % 3 == 0 ? nil : #"{"weight":\#(i)}"#, after: i % 7 == 0 ? nil : #"{"weight":\#(i + 1)}"#,
                result: failed ? .failed : (i % 211 == 3 ? .undone : .applied), errno: failed ? 34 : nil,
                kernelError: failed ? "Numerical result out of range \(i)" : nil,
                durationMicroseconds: Int64(i / 128), origin: i > 650 ? .undo : .apply))
        }
        let ids = try f.store.appendAuditRows(entries)
        #expect(ids.count == entries.count)
        let back = try f.store.audit(AuditFilter(limit: 10_000, order: .oldestFirst)).filter { ids.contains($0.id ?? -1) }
        #expect(back.map(\.id) == ids.map { Optional($0) })
        for (entry, (stored, id)) in zip(entries, zip(back, ids)) {
            var expected = entry
            expected.id = id
            expected.at = Date(timeIntervalSince1970: (entry.at.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
            #expect(stored == expected)
        }
    }

    @Test("audit rows survive reopening a file database")
    func persisted() throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        do {
            let store = try Store(path: path)
            let revision = try store.saveRevision(manifest: "web", content: "{}", author: "alice")
            let run = try store.beginRun(manifest: "web", revision: revision, origin: .driftFix, author: "alice")
            try store.appendAudit([
                AuditEntry(
                    runID: run.id, revisionID: revision.id, manifest: "web", at: Date(), action: "update-service",
                    service: try vs("fwmark/7/ipv6"), before: #"{"scheduler":"rr"}"#, after: #"{"scheduler":"wlc"}"#,
                    result: .failed, errno: 22, kernelError: "Invalid argument", durationMicroseconds: 5, origin: .driftFix)
            ])
            try store.finishRun(run.id, status: .failed, error: "Invalid argument")
        }
        let entry = try #require(try Store(path: path).audit().first)
        #expect(entry.service == (try vs("fwmark/7/ipv6")) && entry.errno == 22 && entry.kernelError == "Invalid argument")
        #expect(entry.before == #"{"scheduler":"rr"}"# && entry.origin == .driftFix && entry.result == .failed)
    }
}
