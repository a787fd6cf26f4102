import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSPlan
import LVSReconciler
import LVSStore
import Testing

/// The reconcile pass against the in-memory kernel and a real SQLite store: one audit row per
/// kernel write, ownership and drains recorded, failures recorded with their undo.
@Suite struct ReconcilerTests {
    let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.100")!, port: 80)

    func desired(weights: [UInt32], manifest: String = "web") -> DesiredState {
        let servers = weights.enumerated().map { i, w in
            RealServerSpec(server: RealServer(id: .init(address: IPAddress("10.0.0.\(11 + i)")!, port: 80), weight: w))
        }
        return DesiredState(manifest: manifest, services: [
            ServiceSpec(name: "web", service: VirtualService(id: vip, scheduler: .wrr), realServers: servers)
        ])
    }

    func setUp() throws -> (Reconciler, FakeKernel, Store, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reconciler-\(UUID().uuidString)")
        let store = try Store(path: dir.appendingPathComponent("lvsctl.db").path)
        let kernel = FakeKernel()
        return (Reconciler(store: store, kernel: kernel), kernel, store, dir)
    }

    func revision(_ store: Store, _ state: DesiredState) throws -> Revision {
        try store.saveRevision(manifest: state.manifest, content: Manifest.encode(state), author: "test")
    }

    @Test func applyWritesOneAuditRowPerKernelWriteAndClaimsOwnership() throws {
        let (r, kernel, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = desired(weights: [3, 1])
        let planned = try r.plan([state])
        #expect(planned.plan.changes.count == 3)
        let out = try r.apply(planned.plan, revisions: ["web": try revision(store, state)], origin: .apply, author: "t")
        #expect(out.auditRows == 3)
        #expect(kernel.writeCount == 3)
        #expect(out.run?.status == .succeeded)
        #expect(try store.owner(of: vip)?.manifest == "web")
        #expect(try store.audit().map(\.action).sorted() == ["add-real-server", "add-real-server", "create-service"])
        // Converged: nothing more to do, and nothing recorded for it.
        let again = try r.plan([state])
        #expect(again.plan.isEmpty)
        let none = try r.apply(again.plan, revisions: [:], origin: .apply, author: "t")
        #expect(none.run == nil && none.auditRows == 0)
    }

    /// Deleting a service releases its ownership, which reads the owners inside the apply's
    /// transaction (a plain read there would re-enter the database queue).
    @Test func deletingAServiceReleasesItsOwnershipInTheSameTransaction() throws {
        let (r, kernel, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = desired(weights: [3, 1])
        _ = try r.apply(try r.plan([state]).plan, revisions: ["web": try revision(store, state)], origin: .apply, author: "t")
        let empty = DesiredState(manifest: "web", services: [])
        var policy = PlanPolicy()
        policy.allowDelete = true
        let planned = try r.plan([empty], policy: policy)
        #expect(planned.plan.releases == [vip])
        let out = try r.apply(planned.plan, revisions: ["web": try revision(store, empty)], origin: .apply, author: "t")
        #expect(out.run?.status == .succeeded)
        #expect(out.auditRows == 1)
        #expect(kernel.state.services.isEmpty)
        #expect(try store.owner(of: vip) == nil)
    }

    @Test func removalDrainsAndRecordsTheDrain() throws {
        let (r, kernel, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let two = desired(weights: [3, 1])
        _ = try r.apply(try r.plan([two]).plan, revisions: ["web": try revision(store, two)], origin: .apply, author: "t")
        // Give the server to be removed a live connection.
        kernel.state.services[0].realServers[1].activeConnections = 1
        let one = desired(weights: [3])
        var policy = PlanPolicy()
        policy.allowRemoval = true
        let planned = try r.plan([one], policy: policy)
        #expect(planned.plan.changes.map(\.action) == [.drainRealServer])
        _ = try r.apply(planned.plan, revisions: ["web": try revision(store, one)], origin: .apply, author: "t")
        #expect(try store.drains().count == 1)
        #expect(kernel.state.services[0].realServers[1].server.weight == 0)
        // Still connected: nothing to do yet. Once the connection is gone, delete and finish the drain.
        #expect(try r.plan([one], policy: policy).plan.changes.isEmpty)
        kernel.state.services[0].realServers[1].activeConnections = 0
        let finish = try r.plan([one], policy: policy)
        #expect(finish.plan.changes.map(\.action) == [.deleteRealServer])
        _ = try r.apply(finish.plan, revisions: ["web": try revision(store, one)], origin: .drain, author: "t")
        #expect(try store.drains().isEmpty)
        #expect(kernel.state.services[0].realServers.count == 1)
        #expect(try store.audit().first?.origin == .drain)
    }

    /// A process killed during an apply leaves its run `running`. The next apply, which holds the
    /// writer lock, closes it as interrupted (a run with no intent rows: nothing to resolve).
    @Test func theNextApplyClosesARunLeftRunningByAKilledProcess() throws {
        let (r, _, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = desired(weights: [3, 1])
        let killed = try store.beginRun(manifest: "web", revision: try revision(store, state), origin: .apply, author: "killed")
        #expect(try store.run(killed.id)?.status == .running)
        let out = try r.apply(try r.plan([state]).plan, revisions: ["web": try revision(store, state)], origin: .apply, author: "t")
        #expect(out.run?.status == .succeeded)
        let closed = try store.run(killed.id)
        #expect(closed?.status == .failed)
        #expect(closed?.error == InterruptedRuns.error(foundDone: 0, notMade: 0, unknown: 0))
        #expect(r.recovered.map(\.run.id) == [killed.id])
        #expect(closed?.finishedAt != nil)
        #expect(try store.runs().filter { $0.status == .running }.isEmpty)
    }

    @Test func aFailedApplyIsUndoneAndRecordedAsSuch() throws {
        let (r, kernel, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = desired(weights: [3, 1, 2])
        kernel.injectFailure(errno: 34) { if case .addRealServer(_, let rs) = $0 { return rs.weight == 2 }; return false }
        let planned = try r.plan([state])
        #expect(throws: (any Error).self) {
            try r.apply(planned.plan, revisions: ["web": try revision(store, state)], origin: .apply, author: "t")
        }
        #expect(kernel.state.services.isEmpty, "the kernel is as before the apply")
        let rows = try store.audit(AuditFilter())
        #expect(rows.contains { $0.result == .failed && $0.errno == 34 })
        #expect(rows.contains { $0.origin == .undo })
        #expect(rows.filter { $0.origin == .apply && $0.result == .undone }.count == 3)
        #expect(try store.runs().first?.status == .undone)
        #expect(try store.owner(of: vip) == nil, "nothing is claimed by a failed apply")
    }

    /// A failed apply marks its revision failed: it is never the applied revision (drift and the
    /// daemon converge to the last succeeded one); applying it again successfully clears the mark.
    @Test func aFailedApplyMarksItsRevisionFailed() throws {
        let (r, kernel, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = desired(weights: [3, 1])
        let rev1 = try revision(store, first)
        _ = try r.apply(try r.plan([first]).plan, revisions: ["web": rev1], origin: .apply, author: "t")
        #expect(try store.appliedRevision(manifest: "web")?.id == rev1.id)

        let second = desired(weights: [3, 1, 2])
        kernel.injectFailure(errno: 34) { if case .addRealServer(_, let rs) = $0 { return rs.weight == 2 }; return false }
        let rev2 = try revision(store, second)
        #expect(throws: (any Error).self) {
            try r.apply(try r.plan([second]).plan, revisions: ["web": rev2], origin: .apply, author: "t")
        }
        #expect(try store.revision(id: rev2.id)?.failed == true)
        #expect(try store.appliedRevision(manifest: "web")?.id == rev1.id, "the last succeeded revision stays applied")
        #expect(try store.latestRevision(manifest: "web")?.id == rev2.id)
    }

    /// With no succeeded run at all (a first apply that failed), no revision is applied: drift
    /// does not report the refused services as missing.
    @Test func aFirstApplyThatFailedLeavesNoAppliedRevision() throws {
        let (r, kernel, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = desired(weights: [3, 1, 2])
        kernel.injectFailure(errno: 34) { if case .addRealServer(_, let rs) = $0 { return rs.weight == 2 }; return false }
        let rev = try revision(store, state)
        #expect(throws: (any Error).self) {
            try r.apply(try r.plan([state]).plan, revisions: ["web": rev], origin: .apply, author: "t")
        }
        #expect(try store.appliedRevision(manifest: "web") == nil)

        // The same content applied again, now successfully: the mark is cleared.
        let ok = Reconciler(store: store, kernel: FakeKernel())
        let again = try revision(store, state)
        #expect(again.id == rev.id && again.failed)
        _ = try ok.apply(try ok.plan([state]).plan, revisions: ["web": again], origin: .apply, author: "t")
        #expect(try store.revision(id: rev.id)?.failed == false)
        #expect(try store.appliedRevision(manifest: "web")?.id == rev.id)
    }

    /// Every plan goes through the stored overlay: a plain apply of the unchanged manifest keeps
    /// a drained real server at weight 0 and one the health checker holds down at its health
    /// weight (removed without inhibitOnFailure), instead of writing the manifest weights back.
    @Test(arguments: [false, true])
    func aPlainApplyKeepsMaintenanceAndHealth(inhibit: Bool) throws {
        let (r, kernel, store, dir) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        var state = desired(weights: [3, 1, 2])
        state.services[0].inhibitOnFailure = inhibit
        let rev = try revision(store, state)
        _ = try r.apply(try r.plan([state]).plan, revisions: ["web": rev], origin: .apply, author: "t")
        let rs1 = RealServer.ID(address: IPAddress("10.0.0.11")!, port: 80)
        let rs2 = RealServer.ID(address: IPAddress("10.0.0.12")!, port: 80)
        try store.setMaintenance(MaintenanceFlag(service: vip, realServer: rs2, author: "op", since: Date()))
        try store.upsertHealth(HealthRecord(service: vip, realServer: rs1, healthy: false, changedAt: Date()))

        // What the daemon (or drain) writes: the same plan.
        let first = try r.plan([state])
        _ = try r.apply(first.plan, revisions: ["web": rev], origin: .daemon, author: "t")
        let weights = { Dictionary(uniqueKeysWithValues: kernel.state.services[0].realServers.map { ($0.server.id, $0.server.weight) }) }
        #expect(weights()[rs2] == 0)
        #expect(weights()[rs1] == (inhibit ? 0 : nil))

        // A plain apply of the unchanged manifest plans nothing.
        let again = try r.plan([state])
        #expect(again.plan.changes.isEmpty, "\(again.plan.changes.map(\.summary))")
    }
}

