import Foundation
import LVSHealth
import LVSKernel
import LVSManifest
import LVSModel
import LVSNotify
import LVSReconciler
import LVSStore
import Logging
import Testing

@testable import LVSDaemon

/// The notifier's last reported states live in SQLite: a restarted daemon does not alert again
/// for a state it already reported, and does alert for a change that happened while it was down.
@Suite struct NotifyPersistenceTests {
    static let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.100")!, port: 80)
    static let servers = [
        RealServer.ID(address: IPAddress("10.0.0.11")!, port: 80), RealServer.ID(address: IPAddress("10.0.0.12")!, port: 80),
    ]

    static func desired() -> DesiredState {
        let specs = zip(servers, [UInt32(3), 1]).map { RealServerSpec(server: RealServer(id: $0.0, weight: $0.1)) }
        return DesiredState(manifest: "web", services: [
            ServiceSpec(
                name: "web", service: VirtualService(id: vip, scheduler: .wrr), realServers: specs,
                healthCheck: HealthCheck(type: .tcp), inhibitOnFailure: false)
        ])
    }

    /// A store with the two-server service applied, and a health record for each server.
    func setUp(healthy: Bool) throws -> (Store, FakeKernel, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)")
        let store = try Store(path: dir.appendingPathComponent("lvsctl.db").path)
        let kernel = FakeKernel()
        let state = Self.desired()
        let rev = try store.saveRevision(manifest: state.manifest, content: Manifest.encode(state), author: "t")
        let r = Reconciler(store: store, kernel: kernel)
        _ = try r.apply(try r.plan([state]).plan, revisions: [state.manifest: rev], origin: .apply, author: "t")
        try setHealth(store, healthy: healthy)
        return (store, kernel, dir)
    }

    func setHealth(_ store: Store, healthy: Bool) throws {
        for rs in Self.servers {
            try store.upsertHealth(HealthRecord(service: Self.vip, realServer: rs, healthy: healthy, changedAt: Date()))
        }
    }

    /// One daemon lifetime: start, one pass, deliver, stop. Returns what the sink received.
    func lifetime(_ store: Store, _ kernel: FakeKernel) async throws -> [String] {
        let sink = RecordingSink()
        let config = DaemonConfig(interval: 3600, metricsAddress: "")
        let daemon = try Daemon(
            config: config, store: store, kernel: kernel, logger: Logger(label: "test"), sinks: [sink], prober: ScriptedProber())
        await daemon.reconcileOnce(reason: "test")
        await daemon.flushNotifications()
        await daemon.monitor.checker.stop()
        return await sink.sent.map(\.summary)
    }

    @Test func quorumLostIsReportedOnceAcrossRestartsAndRegainedWhileDownIsReported() async throws {
        let (store, kernel, dir) = try setUp(healthy: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lost = "SERVICE \(Self.vip) QUORUM_LOST"

        let first = try await lifetime(store, kernel)
        #expect(first == [lost])
        #expect(try store.notifyStates()["SERVICE \(Self.vip)"] == "QUORUM_LOST")
        let second = try await lifetime(store, kernel)
        #expect(second == [], "a restart does not report the unchanged state again")

        // The servers recovered while no daemon ran: the next one reports the quorum regained, once.
        try setHealth(store, healthy: true)
        let third = try await lifetime(store, kernel)
        #expect(third == ["SERVICE \(Self.vip) QUORUM_GAINED"])
        let fourth = try await lifetime(store, kernel)
        #expect(fourth == [])
    }

    @Test func reportedStatesSeedTheQuorum() {
        let q = ReconcileOverlay.reportedQuorum([
            "SERVICE tcp/10.0.0.100:80": "QUORUM_LOST", "SERVICE tcp/10.0.0.101:80": "QUORUM_GAINED",
            "REALSERVER tcp/10.0.0.100:80/10.0.0.11:80": "DOWN", "SERVICE nonsense": "QUORUM_LOST",
        ])
        #expect(q == [
            VirtualService.ID("tcp/10.0.0.100:80")!: false, VirtualService.ID("tcp/10.0.0.101:80")!: true,
        ])
    }
}
