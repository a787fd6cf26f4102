import Foundation
import LVSHealth
import LVSKernel
import LVSManifest
import LVSModel
import LVSNotify
import LVSPlan
import LVSReconciler
import LVSStore
import Testing

/// Daemon passes against the in-memory kernel and a real SQLite store, with injected health.
@Suite struct ReconcileEngineTests {
    static let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.100")!, port: 80)
    static let rs1 = RealServer.ID(address: IPAddress("10.0.0.11")!, port: 80)
    static let rs2 = RealServer.ID(address: IPAddress("10.0.0.12")!, port: 80)
    static var down1: [ServiceRealServerKey: HealthState] { [ServiceRealServerKey(service: vip, realServer: rs1): .down] }

    static func desired(check: HealthCheck.Kind = .tcp, inhibit: Bool = false) -> DesiredState {
        let servers = [(rs1, UInt32(3)), (rs2, UInt32(1))].map { RealServerSpec(server: RealServer(id: $0.0, weight: $0.1)) }
        return DesiredState(manifest: "web", services: [
            ServiceSpec(
                name: "web", service: VirtualService(id: vip, scheduler: .wrr), realServers: servers,
                healthCheck: HealthCheck(type: check, command: check == .exec ? ["/bin/true"] : nil),
                inhibitOnFailure: inhibit)
        ])
    }

    struct Env {
        var engine: ReconcileEngine
        var kernel: FakeKernel
        var store: Store
        var dir: URL
        func weight(_ rs: RealServer.ID) -> UInt32? {
            kernel.state.services.first?.realServers.first { $0.server.id == rs }?.server.weight
        }
        func rows(_ origin: ChangeOrigin) throws -> [AuditEntry] { try store.audit().filter { $0.origin == origin } }
    }

    /// A store with `state` applied as `lvsctl apply` does.
    func setUp(_ state: DesiredState = desired(), allowExec: Bool = false, apply: Bool = true) throws -> Env {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("daemon-\(UUID().uuidString)")
        let store = try Store(path: dir.appendingPathComponent("lvsctl.db").path)
        let kernel = FakeKernel()
        let rev = try store.saveRevision(manifest: state.manifest, content: Manifest.encode(state), author: "t")
        if apply {
            let r = Reconciler(store: store, kernel: kernel)
            _ = try r.apply(try r.plan([state]).plan, revisions: [state.manifest: rev], origin: .apply, author: "t")
        }
        let engine = ReconcileEngine(store: store, kernel: kernel, allowExecChecks: allowExec)
        return Env(engine: engine, kernel: kernel, store: store, dir: dir)
    }

    @Test func nothingChangesWhileNothingChanges() throws {
        let env = try setUp()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let before = try env.store.audit().count
        for _ in 0..<3 {
            let r = try env.engine.pass(health: [:])
            #expect(r.kernelWrites == 0 && r.planSize == 0 && r.drift.isEmpty)
        }
        #expect(try env.store.audit().count == before)
        #expect(env.kernel.writeCount == 3)
    }

    /// `inhibitOnFailure: true` (keepalived `inhibit_on_failure`): weight 0, not removed.
    @Test func downServerGetsWeightZeroWithOneAuditRowAndIsRestored() throws {
        let env = try setUp(Self.desired(inhibit: true))
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let down = try env.engine.pass(health: Self.down1)
        #expect(down.kernelWrites == 1)
        #expect(down.auditRows == [.health: 1])
        #expect(down.drift.isEmpty, "a health change is not drift: \(down.drift)")
        #expect(env.weight(Self.rs1) == 0, "inhibited, not removed, so no drain wait")
        #expect(env.weight(Self.rs2) == 1)
        let rows = try env.rows(.health)
        #expect(rows.count == 1)
        #expect(rows.first?.action == "update-real-server")
        #expect(rows.first?.realServer == Self.rs1)
        #expect(try env.store.drains().isEmpty, "no drain record: health is not a removal")

        // Still down: nothing more.
        #expect(try env.engine.pass(health: Self.down1).kernelWrites == 0)
        #expect(try env.rows(.health).count == 1)

        // Recovered: the manifest weight again, one more row with origin health.
        let up = try env.engine.pass(health: [ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): .up])
        #expect(up.auditRows == [.health: 1])
        #expect(env.weight(Self.rs1) == 3)
        #expect(try env.rows(.health).count == 2)
        #expect(try env.engine.pass(health: [:]).kernelWrites == 0)
    }

    /// `inhibitOnFailure: false` (keepalived's default): the failed real server leaves the
    /// kernel table at once (no drain) and comes back on recovery, each audited as health.
    @Test func downServerWithoutInhibitIsRemovedAndAddedBack() throws {
        let env = try setUp(Self.desired(inhibit: false))
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let down = try env.engine.pass(health: Self.down1)
        #expect(down.kernelWrites == 1)
        #expect(down.auditRows == [.health: 1])
        #expect(down.drift.isEmpty, "a health change is not drift: \(down.drift)")
        #expect(env.weight(Self.rs1) == nil, "removed from the table")
        #expect(env.weight(Self.rs2) == 1)
        #expect(try env.rows(.health).map(\.action) == ["delete-real-server"])
        #expect(try env.store.drains().isEmpty, "no drain record: health is not a removal from the manifest")
        #expect(try env.engine.pass(health: Self.down1).kernelWrites == 0)
        // A fresh engine (the CLI's drift) does not call the removal drift either.
        let cli = ReconcileEngine(store: env.store, kernel: env.kernel)
        #expect(try cli.drift(health: Self.down1).findings.items.isEmpty)

        let up = try env.engine.pass(health: [ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): .up])
        #expect(up.auditRows == [.health: 1])
        #expect(up.drift.isEmpty, "\(up.drift)")
        #expect(env.weight(Self.rs1) == 3)
        #expect(try env.rows(.health).map(\.action).sorted() == ["add-real-server", "delete-real-server"])
        #expect(try env.engine.pass(health: [:]).kernelWrites == 0)
    }

    @Test func allServersDownIsNotRefusedByTheRemovalGuard() throws {
        let env = try setUp()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let all: [ServiceRealServerKey: HealthState] = [
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): .down,
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs2): .down,
        ]
        let r = try env.engine.pass(health: all)
        #expect(r.error == nil)
        #expect(r.auditRows == [.health: 2])
        #expect(env.weight(Self.rs1) == nil && env.weight(Self.rs2) == nil, "removed: inhibitOnFailure is off")
        // Quorum lost is reported.
        #expect(r.notifications.contains { $0.kind == .quorumLost })
    }

    @Test func maintenanceIsAuditedAsMaintenanceAndUndone() throws {
        let env = try setUp()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        try env.store.setMaintenance(MaintenanceFlag(service: Self.vip, realServer: Self.rs2, author: "op", since: Date()))
        let on = try env.engine.pass(health: [:])
        #expect(on.auditRows == [.maintenance: 1])
        #expect(env.weight(Self.rs2) == 0)
        try env.store.clearMaintenance(service: Self.vip, realServer: Self.rs2)
        let off = try env.engine.pass(health: [:])
        #expect(off.auditRows == [.maintenance: 1])
        #expect(env.weight(Self.rs2) == 1)

        // A fresh engine (the CLI's undrain) attributes the restore to maintenance when seeded.
        try env.store.setMaintenance(MaintenanceFlag(service: Self.vip, author: "op", since: Date()))
        #expect(try env.engine.pass(health: [:]).auditRows == [.maintenance: 2])
        try env.store.clearMaintenance(service: Self.vip)
        let fresh = ReconcileEngine(store: env.store, kernel: env.kernel)
        fresh.seedCauses = [
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): .maintenance,
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs2): .maintenance,
        ]
        #expect(try fresh.pass(health: [:]).auditRows == [.maintenance: 2])
        #expect(env.weight(Self.rs1) == 3 && env.weight(Self.rs2) == 1)
    }

    /// `lvsctl drain SERVICE` from the CLI (a fresh engine) while the daemon's engine runs: the
    /// daemon's next pass sees no drift, and neither does the one after `undrain`.
    @Test(arguments: [false, true])
    func cliDrainOfAWholeServiceIsNotDriftForTheDaemon(sorry: Bool) throws {
        var state = Self.desired(inhibit: true)
        if sorry { state.services[0].sorryServer = RealServer(id: RealServer.ID(address: IPAddress("10.0.0.13")!, port: 80), weight: 1) }
        let env = try setUp(state)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        #expect(try env.engine.pass(health: [:]).drift.isEmpty)

        try env.store.setMaintenance(MaintenanceFlag(service: Self.vip, author: "op", since: Date()))
        let cli = ReconcileEngine(store: env.store, kernel: env.kernel, allowExecChecks: true)
        let drained = try cli.pass(health: [:])
        #expect(drained.auditRows[.maintenance] == 2, "\(drained.auditRows)")
        let daemonAfterDrain = try env.engine.pass(health: [:])
        #expect(daemonAfterDrain.drift.isEmpty, "\(daemonAfterDrain.drift)")
        #expect(daemonAfterDrain.kernelWrites == 0)
        #expect(daemonAfterDrain.notifications.map(\.kind) == [.quorumLost])

        try env.store.clearMaintenance(service: Self.vip)
        let undo = ReconcileEngine(store: env.store, kernel: env.kernel, allowExecChecks: true)
        undo.seedCauses = [
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): .maintenance,
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs2): .maintenance,
        ]
        _ = try undo.pass(health: [:])
        let daemonAfterUndrain = try env.engine.pass(health: [:])
        #expect(daemonAfterUndrain.drift.isEmpty, "\(daemonAfterUndrain.drift)")
        #expect(daemonAfterUndrain.notifications.map(\.kind) == [.quorumGained])
        #expect(env.weight(Self.rs1) == 3 && env.weight(Self.rs2) == 1)
    }

    /// Every server down brings the sorry server in; both back take it out (drained): neither
    /// pass reports drift, and quorum lost and gained are reported once each.
    @Test func healthDrivenSorryServerInAndOutIsNotDrift() throws {
        var state = Self.desired(inhibit: true)
        state.services[0].sorryServer = RealServer(id: RealServer.ID(address: IPAddress("10.0.0.13")!, port: 80), weight: 1)
        let env = try setUp(state)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let sorry = RealServer.ID(address: IPAddress("10.0.0.13")!, port: 80)
        #expect(try env.engine.pass(health: [:]).drift.isEmpty)
        let down = [ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): HealthState.down, ServiceRealServerKey(service: Self.vip, realServer: Self.rs2): .down]
        let lost = try env.engine.pass(health: down)
        #expect(lost.drift.isEmpty, "\(lost.drift)")
        #expect(lost.notifications.map(\.kind) == [.quorumLost])
        #expect(env.weight(sorry) == 1 && env.weight(Self.rs1) == 0)
        #expect(try env.engine.pass(health: down).drift.isEmpty)
        let back = try env.engine.pass(health: [:])
        #expect(back.drift.isEmpty, "\(back.drift)")
        #expect(back.notifications.map(\.kind) == [.quorumGained])
        #expect(env.weight(Self.rs1) == 3 && env.weight(Self.rs2) == 1)
        #expect(try env.engine.pass(health: [:]).drift.isEmpty, "the sorry server draining is not drift either")
    }

    @Test func outOfBandEditIsDriftFixedWithOriginDaemon() throws {
        let env = try setUp()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        env.kernel.state.services[0].realServers[1].server.weight = 42
        let r = try env.engine.pass(health: Self.down1)
        #expect(r.drift.count == 1)
        #expect(r.drift.first?.realServer == Self.rs2)
        #expect(r.notifications.filter { $0.kind == .driftDetected }.count == 1)
        #expect(r.auditRows == [.daemon: 1, .health: 1])
        #expect(env.weight(Self.rs2) == 1 && env.weight(Self.rs1) == nil)
    }

    @Test func execChecksAreRejectedUnlessAllowed() throws {
        let env = try setUp(Self.desired(check: .exec), apply: false)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let r = try env.engine.pass(health: [:])
        #expect(r.manifests.isEmpty)
        #expect(r.rejected["web"]?.contains("allowExecChecks") == true, "\(r.rejected)")
        #expect(env.kernel.state.services.isEmpty, "a rejected manifest is not reconciled")
        #expect(r.notifications.map(\.kind) == [.applyFailed])
        #expect(r.targets.isEmpty)
        // Once per revision.
        #expect(try env.engine.pass(health: [:]).notifications.isEmpty)

        let allowed = ReconcileEngine(store: env.store, kernel: env.kernel, allowExecChecks: true)
        let ok = try allowed.pass(health: [:])
        #expect(ok.manifests == ["web"])
        #expect(ok.auditRows == [.daemon: 3])
        #expect(ok.targets.count == 2)
    }

    @Test func overlayDriftCommandViewHidesHealthAndMaintenance() throws {
        let state = Self.desired(inhibit: true)
        let overlay = ReconcileOverlay.apply(
            desired: [state], health: Self.down1,
            maintenance: [ServiceRealServerKey(service: Self.vip, realServer: Self.rs2)])
        #expect(overlay.weightOverrides == [
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): 0,
            ServiceRealServerKey(service: Self.vip, realServer: Self.rs2): 0,
        ])
        #expect(overlay.causes[ServiceRealServerKey(service: Self.vip, realServer: Self.rs1)] == .health)
        #expect(overlay.causes[ServiceRealServerKey(service: Self.vip, realServer: Self.rs2)] == .maintenance)
        #expect(overlay.desired == [state], "every declared server stays declared")
        #expect(overlay.removals.isEmpty)

        // Without inhibitOnFailure the down server leaves the desired state and is a removal.
        let plain = ReconcileOverlay.apply(
            desired: [Self.desired(inhibit: false)], health: Self.down1,
            maintenance: [ServiceRealServerKey(service: Self.vip, realServer: Self.rs2)])
        #expect(plain.weightOverrides == [ServiceRealServerKey(service: Self.vip, realServer: Self.rs2): 0])
        #expect(plain.removals == [ServiceRealServerKey(service: Self.vip, realServer: Self.rs1)])
        #expect(plain.desired.first?.services.first?.realServers.map(\.server.id) == [Self.rs2])
    }

    /// `lvsctl drift` and the daemon's pass decide drift with the same function: fed the same
    /// store, kernel and health states, a fresh engine's ``ReconcileEngine/drift(health:manifests:)``
    /// (what the CLI calls) and the daemon's first pass report the same items.
    @Test(arguments: [false, true])
    func cliDriftAndTheDaemonsDriftAreTheSameDecision(inhibit: Bool) throws {
        var state = Self.desired(inhibit: inhibit)
        let rs3 = RealServer.ID(address: IPAddress("10.0.0.13")!, port: 80)
        state.services[0].realServers.append(RealServerSpec(server: RealServer(id: rs3, weight: 5)))
        let env = try setUp(state)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        // Health down on rs1 (applied by a daemon pass), maintenance on rs2, then rs3 edited out of band.
        let daemon = ReconcileEngine(store: env.store, kernel: env.kernel)
        try env.store.setMaintenance(MaintenanceFlag(service: Self.vip, realServer: Self.rs2, author: "op", since: Date()))
        _ = try daemon.pass(health: Self.down1)
        let i = try #require(env.kernel.state.services[0].realServers.firstIndex { $0.server.id == rs3 })
        env.kernel.state.services[0].realServers[i].server.weight = 42

        let cli = try ReconcileEngine(store: env.store, kernel: env.kernel).drift(health: Self.down1).findings.items
        let pass = try ReconcileEngine(store: env.store, kernel: env.kernel).pass(health: Self.down1).drift
        #expect(cli == pass)
        #expect(cli.map(\.realServer) == [rs3], "only the out-of-band edit is drift: \(cli)")
    }

    /// A real server the health checker holds down, seen by a fresh engine (the CLI after the
    /// daemon restarted, or `drift`): what lvsctl's health write left is not drift.
    @Test func whatAHealthWriteLeftIsNotDriftForAFreshEngine() throws {
        let env = try setUp(Self.desired(inhibit: true))
        defer { try? FileManager.default.removeItem(at: env.dir) }
        _ = try env.engine.pass(health: Self.down1)
        // Recovered, but no pass has run yet: the kernel still has health's weight 0.
        let recovered = [ServiceRealServerKey(service: Self.vip, realServer: Self.rs1): HealthState.up]
        #expect(try ReconcileEngine(store: env.store, kernel: env.kernel).drift(health: recovered).findings.items.isEmpty)
    }
}

