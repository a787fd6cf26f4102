import Foundation
import LVSModel
import LVSNotify
import LVSStore
import LVSVRRP
import Logging
import Testing

@testable import LVSDaemon

/// The director's side of the pair, on the host with a real FIFO and a real SQLite store; no
/// keepalived (its pid file is missing, so a state query answers "not running").
@Suite struct DirectorStateUnitTests {
    static let config = VRRPConfig(
        instances: [VRRPInstance(
            name: "VI_1", interface: "eth0", virtualRouterID: 51,
            addresses: [VRRPAddress(address: IPAddress("10.0.0.100")!, prefixLength: 24)], priority: ["d1": 150, "d2": 100])],
        syncGroups: [VRRPSyncGroup(name: "G1", instances: ["VI_1"])], maintenanceInstances: ["VI_1"])

    actor Sent {
        var lines: [String] = []
        func add(_ n: LVSNotify.Notification) { lines.append(n.summary) }
    }

    static func poll(_ what: String, timeout: Double = 60, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try await !condition() {
            guard Date() < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Opens the FIFO for writing (the reader thread holds it open for reading) and writes lines.
    static func write(_ fifo: String, _ lines: [String]) throws -> Int32 {
        let fd = open(fifo, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return fd
    }

    @Test func fifoTransitionsAreAuditedNotifiedOnceAndSurviveARestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("director-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = DirectorPaths(runDirectory: dir + "/run", keepalivedPIDFile: dir + "/none.pid")
        let store = try Store(path: dir + "/lvsctl.db")
        let sent = Sent()
        let state = DirectorState(
            paths: paths, node: "d1", store: store, logger: Logger(label: "test"), settleDelay: .milliseconds(10)
        ) { await sent.add($0) }
        try await state.configure(manifest: "pair", config: Self.config)

        // Created by configure: the FIFO (0600), readiness held, maintenance from the store (off).
        var st = stat()
        #expect(lstat(paths.notifyFIFO, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO && (st.st_mode & 0o777) == 0o600)
        #expect(TrackFile.read(paths.readinessFile) == true)
        #expect(TrackFile.read(paths.maintenanceFile) == false)
        try await Self.poll("the start-up state query") { await state.queriesAnswered >= 1 }

        let fd = try Self.write(paths.notifyFIFO, [
            #"GROUP "G1" BACKUP 0"#, #"INSTANCE "VI_1" BACKUP 150"#, #"INSTANCE "VI_1" MASTER 150"#,
            #"INSTANCE "VI_1" MASTER_PRIORITY 140"#, #"GROUP "G1" MASTER 0"#, #"INSTANCE "VI_1" MASTER 150"#,
        ])
        try await Self.poll("four transitions") { try store.audit().filter { $0.origin == .vrrp }.count == 4 }
        #expect(await state.currentRoles().groups == ["G1": .master])
        // EOF (keepalived reloads or stops): the state is asked for, and keepalived is not running.
        close(fd)
        try await Self.poll("the STOP transitions after EOF") { try store.audit().filter { $0.origin == .vrrp }.count == 6 }
        let rows = try store.audit(AuditFilter(order: .oldestFirst)).filter { $0.origin == .vrrp }
        #expect(rows.map(\.action) == ["vrrp-group", "vrrp-instance", "vrrp-instance", "vrrp-group", "vrrp-instance", "vrrp-group"])
        #expect(rows[2].before == #"{"vrrp":{"kind":"instance","name":"VI_1","priority":150,"state":"backup"}}"#)
        #expect(rows[2].after == #"{"vrrp":{"kind":"instance","name":"VI_1","priority":150,"state":"master"}}"#)
        #expect(rows.allSatisfy { $0.manifest == "pair" && $0.service == nil })
        #expect(await sent.lines == [
            "GROUP G1 BACKUP", "INSTANCE VI_1 BACKUP", "INSTANCE VI_1 MASTER", "GROUP G1 MASTER", "INSTANCE VI_1 STOP",
            "GROUP G1 STOP",
        ])
        let stored = try store.vrrpRoles()
        #expect(stored.map { "\($0.kind) \($0.name) \($0.state)" } == ["instance VI_1 STOP", "group G1 STOP"])
        let exposition = await state.exposition()
        #expect(exposition.contains(#"lvsctl_vrrp_state{instance="VI_1"} 4"#))
        #expect(exposition.contains(#"lvsctl_vrrp_transitions_total{instance="VI_1"} 3"#))
        #expect(exposition.contains(#"lvsctl_vrrp_transitions_total{group="G1"} 3"#))
        await state.stop()

        // A restarted daemon starts from the stored roles: STOP → MASTER is one transition each.
        let again = DirectorState(
            paths: paths, node: "d1", store: store, logger: Logger(label: "test"), settleDelay: .milliseconds(10)
        ) { await sent.add($0) }
        try await again.configure(manifest: "pair", config: Self.config)
        try await Self.poll("the second start-up query") { await again.queriesAnswered >= 1 }
        #expect(try store.audit().filter { $0.origin == .vrrp }.count == 6, "nothing new: keepalived still not running")
        let fd2 = try Self.write(paths.notifyFIFO, [#"INSTANCE "VI_1" MASTER 150"#, #"GROUP "G1" MASTER 0"#])
        try await Self.poll("two more transitions") { try store.audit().filter { $0.origin == .vrrp }.count == 8 }
        #expect(await sent.lines.suffix(2) == ["INSTANCE VI_1 MASTER", "GROUP G1 MASTER"])
        await again.stop()
        close(fd2)
    }

    @Test func maintenanceAndReadinessFiles() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("director-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = DirectorPaths(runDirectory: dir + "/run", keepalivedPIDFile: dir + "/none.pid")
        let store = try Store(path: dir + "/lvsctl.db")
        try store.setDirectorMaintenance(
            DirectorMaintenance(author: "alice", reason: "kernel", since: Date()), manifest: "pair", author: "alice",
            values: { $0.map { _ in #"{"directorMaintenance":{}}"# } })
        let state = DirectorState(paths: paths, node: "d1", store: store, logger: Logger(label: "test")) { _ in }
        // Nothing is written before a vrrp section is known.
        try await state.syncMaintenance()
        #expect(TrackFile.read(paths.maintenanceFile) == nil)
        try await state.configure(manifest: "pair", config: Self.config)
        #expect(TrackFile.read(paths.maintenanceFile) == true, "run rewrites the track file from the store at start")
        try store.setDirectorMaintenance(nil, manifest: "pair", author: "bob", values: { _ in nil })
        try await state.syncMaintenance()
        #expect(TrackFile.read(paths.maintenanceFile) == false)
        #expect(try store.audit(AuditFilter(order: .oldestFirst)).map(\.action) == ["director-maintenance-on", "director-maintenance-off"])

        let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.100")!, port: 80)
        #expect(TrackFile.read(paths.readinessFile) == true)
        #expect(await !state.updateReadiness(unsettled: []).ready, "no pass has converged")
        await state.passed(succeeded: false, quorum: [vip: true])
        #expect(await !state.updateReadiness(unsettled: []).ready)
        await state.passed(succeeded: true, quorum: [vip: true])
        #expect(await !state.updateReadiness(unsettled: ["tcp/10.0.0.100:80/10.0.0.11:80"]).ready)
        #expect(await state.updateReadiness(unsettled: []).ready)
        #expect(TrackFile.read(paths.readinessFile) == false)
        await state.passed(succeeded: true, quorum: [vip: false])
        let lost = await state.updateReadiness(unsettled: [])
        #expect(!lost.ready && lost.reasons == ["no health quorum for tcp/10.0.0.100:80"])
        #expect(TrackFile.read(paths.readinessFile) == true)
        await state.passed(succeeded: false, quorum: [vip: true])
        #expect(await state.updateReadiness(unsettled: []).ready, "converged once: a later failed pass does not unready")
        await state.stop()
    }
}
