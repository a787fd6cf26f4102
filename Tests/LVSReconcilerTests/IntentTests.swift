import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSPlan
import LVSReconciler
import LVSStore
import Testing

/// Intent before writing (issue 17), against the in-memory kernel and a real SQLite file: the
/// run and one `planned` row per change are committed before the first kernel write; a store that
/// cannot take them stops the apply before the kernel is touched; a process that dies in the
/// middle leaves a run the next command resolves against the kernel.
@Suite struct IntentTests {
    let manifest = "bulk"

    /// `services` services with `servers` real servers each.
    func desired(services: Int, servers: Int) -> DesiredState {
        DesiredState(manifest: manifest, services: (0..<services).map { s in
            let id = VirtualService.ID.address(.tcp, IPAddress("10.1.\(s / 250).\(s % 250 + 1)")!, port: 80)
            let rs = (0..<servers).map { i in
                RealServerSpec(server: RealServer(
                    id: .init(address: IPAddress("192.168.\(i / 250).\(i % 250 + 1)")!, port: 8080), weight: 1))
            }
            return ServiceSpec(name: "s\(s)", service: VirtualService(id: id, scheduler: .wlc), realServers: rs)
        })
    }

    func tempDir() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("intent-\(UUID().uuidString)")
    }

    /// Objects (services and real servers) in a table: one per kernel write of a fresh apply.
    static func objects(_ table: LiveTable) -> Int {
        table.services.reduce(0) { $0 + 1 + $1.realServers.count }
    }

    /// Copies what is committed in the database at `path` to `copy` (`VACUUM INTO` over another
    /// connection, by the system's sqlite3): what a process killed now would leave.
    static func copyCommitted(_ path: String, to copy: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [path, "VACUUM INTO '\(copy)'"]
        do {
            try p.run()
            p.waitUntilExit()
            if p.terminationStatus != 0 { Issue.record("sqlite3 VACUUM INTO exited \(p.terminationStatus)") }
        } catch {
            Issue.record("sqlite3: \(error)")
        }
    }

    /// A kernel that runs `onExecute` after each batch of writes reached the fake (on the thread
    /// the applier sends them from), with the number of the batch (1, 2, …).
    final class WatchedKernel: IPVSKernel, @unchecked Sendable {
        let fake: FakeKernel
        var batches = 0
        let onExecute: (Int, FakeKernel) -> Void
        init(_ fake: FakeKernel, onExecute: @escaping (Int, FakeKernel) -> Void) {
            self.fake = fake
            self.onExecute = onExecute
        }
        func info() throws(KernelError) -> KernelInfo { try fake.info() }
        func snapshot() throws(KernelError) -> LiveTable { try fake.snapshot() }
        func service(_ id: VirtualService.ID) throws(KernelError) -> LiveService? { try fake.service(id) }
        func execute(_ writes: [KernelWrite], stopOnError: Bool) -> [WriteOutcome] {
            let out = fake.execute(writes, stopOnError: stopOnError)
            batches += 1
            onExecute(batches, fake)
            return out
        }
        var writeCount: Int { fake.writeCount }
    }

    /// When the first kernel write is made, another connection to the file already sees the run
    /// `running`, one `planned` row per change and the ownership of the services it creates.
    @Test func theIntentIsCommittedBeforeTheFirstKernelWrite() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lvsctl.db").path
        let store = try Store(path: path)
        let state = desired(services: 3, servers: 5)
        var seen: (runs: [ApplyRun], planned: Int, owners: Int, kernel: Int)? = nil
        let kernel = WatchedKernel(FakeKernel()) { batch, fake in
            guard batch == 1, let other = try? Store(path: path) else { return }
            let runs = (try? other.runs()) ?? []
            let planned = runs.first.flatMap { try? other.plannedRows(runID: $0.id).count } ?? -1
            seen = (runs, planned, (try? other.owners().count) ?? -1, fake.writeCount)
        }
        let r = Reconciler(store: store, kernel: kernel)
        let plan = try r.plan([state]).plan
        #expect(plan.changes.count == 18)
        let revision = try store.saveRevision(manifest: manifest, content: Manifest.encode(state), author: "t")
        let out = try r.apply(plan, revisions: [manifest: revision], origin: .apply, author: "t")

        let before = try #require(seen, "the kernel was never written")
        #expect(before.runs.map(\.status) == [.running])
        #expect(before.planned + before.kernel >= 18 && before.planned <= 18,
            "every write not yet marked has its planned row: \(before.planned) planned, \(before.kernel) written")
        #expect(before.owners == 3, "the services the plan creates are owned before they exist")
        // And after the run: every row marked, none planned, history shows them.
        #expect(out.run?.status == .succeeded && out.auditRows == 18)
        #expect(try store.plannedRows(runID: try #require(out.run).id).isEmpty)
        #expect(try store.audit().count == 18)
        #expect(try store.audit().allSatisfy { $0.result == .applied })
    }

    /// A full store (SQLite's `max_page_count`, as a small file system would) refuses the intent:
    /// the apply fails with a clear error, the kernel is not touched and no run is left. Once
    /// there is room, the same apply converges.
    @Test func aFullStoreStopsTheApplyBeforeAnyKernelWrite() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(path: dir.appendingPathComponent("lvsctl.db").path)
        let kernel = FakeKernel()
        let r = Reconciler(store: store, kernel: kernel)
        let state = desired(services: 20, servers: 25)
        let plan = try r.plan([state]).plan
        let revision = try store.saveRevision(manifest: manifest, content: Manifest.encode(state), author: "t")
        let pageCount = try store.queryForTesting("PRAGMA page_count").first?.first ?? nil
        let pages = try #require(pageCount.flatMap { Int($0) })
        try store.executeForTesting("PRAGMA max_page_count = \(pages + 2)")

        let error = try #require(throws: StoreError.self) {
            try r.apply(plan, revisions: [manifest: revision], origin: .apply, author: "t")
        }
        guard case .full = error else {
            Issue.record("expected .full, got \(error)")
            return
        }
        #expect(error.description.contains("file system is full") && error.description.contains("free space"), "\(error)")
        #expect(kernel.writeCount == 0, "nothing reached the kernel")
        #expect(kernel.state.services.isEmpty)
        #expect(try store.runs().isEmpty, "the run and its intent rolled back together")
        #expect(try store.owners().isEmpty)

        try store.executeForTesting("PRAGMA max_page_count = 1073741823")
        let out = try r.apply(try r.plan([state]).plan, revisions: [manifest: revision], origin: .apply, author: "t")
        #expect(out.run?.status == .succeeded)
        #expect(Self.objects(kernel.state) == 20 * 26)
        #expect(try store.audit(AuditFilter(limit: 100_000)).count == 20 * 26)
    }

    /// A kill -9 in the middle of the kernel writes, simulated exactly: after kernel batch `at`,
    /// the database as committed at that moment is copied (`VACUUM INTO`, another connection) with
    /// the kernel's table; that pair is what a killed process leaves. The next apply on them
    /// closes the run with an audit row per object the kernel holds, then converges.
    @Test(arguments: [1, 2])
    func aRunKilledMidApplyIsAuditedByTheNextApply(at batch: Int) throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lvsctl.db").path
        let copy = dir.appendingPathComponent("killed.db").path
        let store = try Store(path: path)
        var killedKernel: LiveTable? = nil
        let kernel = WatchedKernel(FakeKernel()) { n, fake in
            guard n == batch, killedKernel == nil else { return }
            killedKernel = fake.state
            Self.copyCommitted(path, to: copy)
        }
        let state = desired(services: 4, servers: 400)
        let total = 4 * 401
        let r = Reconciler(store: store, kernel: kernel)
        let revision = try store.saveRevision(manifest: manifest, content: Manifest.encode(state), author: "t")
        _ = try r.apply(try r.plan([state]).plan, revisions: [manifest: revision], origin: .apply, author: "t")
        let table = try #require(killedKernel, "the apply sent fewer than \(batch) batches")
        let inKernel = Self.objects(table)
        #expect(inKernel > 0 && inKernel <= total)

        // What the killed process left.
        let left = try Store(path: copy)
        let run = try #require(try left.runs().first)
        #expect(run.status == .running)
        let planned = try left.plannedRows(runID: run.id).count
        let marked = try left.audit(AuditFilter(runID: run.id, limit: 100_000)).count
        #expect(planned + marked == total, "every write has a row: \(planned) planned, \(marked) marked")
        #expect(try left.audit(AuditFilter(limit: 100_000)).count == marked, "history leaves out planned rows")

        // The next apply resolves it, then converges.
        let restarted = FakeKernel(state: table)
        let next = Reconciler(store: left, kernel: restarted)
        let out = try next.apply(try next.plan([state]).plan, revisions: [manifest: revision], origin: .apply, author: "t2")
        let recovered = try #require(next.recovered.first)
        #expect(next.recovered.count == 1 && recovered.run.id == run.id)
        #expect(recovered.foundDone + marked == inKernel, "\(recovered)")
        #expect(recovered.foundDone + recovered.notMade == planned && recovered.unknown == 0)
        #expect(recovered.description.contains("was interrupted"))
        let closed = try #require(try left.run(run.id))
        #expect(closed.status == .failed && closed.finishedAt != nil)
        #expect(closed.error == InterruptedRuns.error(foundDone: recovered.foundDone, notMade: recovered.notMade, unknown: 0))
        #expect(try left.plannedRows(runID: run.id).isEmpty)
        let killedRows = try left.audit(AuditFilter(runID: run.id, limit: 100_000))
        #expect(killedRows.count == inKernel, "one row per object the killed run put in the kernel")
        #expect(killedRows.allSatisfy { $0.result == .applied })

        // Nothing left to write when the kill came after the last kernel write: no new run.
        #expect(inKernel == total ? out.run == nil : out.run?.status == .succeeded, "\(String(describing: out.run))")
        #expect(Self.objects(restarted.state) == total)
        #expect(try left.audit(AuditFilter(limit: 100_000)).count == total, "each object audited once")
        #expect(try left.owners().count == 4)
        #expect(try left.runs().allSatisfy { $0.status != .running })
        #expect(try next.plan([state]).plan.isEmpty)
    }

    /// A killed run's services that never reached the kernel are released (claimed at the intent),
    /// those it did create stay owned; a command that only reads (``InterruptedRuns/closeIfIdle``)
    /// closes the run the same way.
    @Test func aReadingCommandClosesAnInterruptedRunAndReleasesWhatWasNeverCreated() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lvsctl.db").path
        let copy = dir.appendingPathComponent("killed.db").path
        let store = try Store(path: path)
        var killedKernel: LiveTable? = nil
        let kernel = WatchedKernel(FakeKernel()) { n, fake in
            guard n == 1 else { return }
            killedKernel = fake.state
            Self.copyCommitted(path, to: copy)
        }
        // Killed inside the first batch (no outcome marked yet) after the kernel took part of it:
        // two services with their real servers, not the third.
        let state = desired(services: 3, servers: 300)
        let r = Reconciler(store: store, kernel: kernel)
        let revision = try store.saveRevision(manifest: manifest, content: Manifest.encode(state), author: "t")
        _ = try r.apply(try r.plan([state]).plan, revisions: [manifest: revision], origin: .apply, author: "t")
        var table = try #require(killedKernel)
        try #require(table.services.count == 3)
        table.services.removeLast()
        let created = Set(table.services.map(\.service.id))

        let left = try Store(path: copy)
        #expect(try left.owners().count == 3, "all three claimed at the intent")
        let check = InterruptedRuns.closeIfIdle(store: left, kernel: FakeKernel(state: table))
        guard case .closed(let runs) = check else {
            Issue.record("expected the run closed, got \(check)")
            return
        }
        #expect(runs.count == 1 && check.notes.count == 1 && check.notes[0].contains("was interrupted"))
        #expect(Set(try left.owners().keys) == created, "the service never created is released")
        #expect(try left.runs().allSatisfy { $0.status != .running })
        #expect(try left.audit(AuditFilter(limit: 100_000)).count == Self.objects(table))
        // Nothing left to close.
        guard case .clean = InterruptedRuns.closeIfIdle(store: left, kernel: FakeKernel(state: table)) else {
            Issue.record("a second check found something to close")
            return
        }
    }

    /// A run `running` while another process holds the writer lock is an apply in progress: a
    /// reading command leaves it alone and says so.
    @Test func aRunInProgressIsLeftAlone() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lvsctl.db").path
        let store = try Store(path: path)
        let run = try store.beginRun(manifest: manifest, origin: .apply, author: "busy")
        let check = try store.withWriterLock(timeout: .seconds(5)) {
            // The lock is per open file description: a second process is what the check meets.
            // From this process, a thread cannot take it either (the lock file is held).
            InterruptedRuns.closeIfIdle(store: try Store(path: path), kernel: FakeKernel())
        }
        guard case .inProgress(let runs, _) = check else {
            Issue.record("expected in progress, got \(check)")
            return
        }
        #expect(runs.map(\.id) == [run.id])
        #expect(check.notes.first?.contains("in progress") == true)
        #expect(try store.run(run.id)?.status == .running)
    }

    /// `history` opens the kernel only when a run is left `running`: never on a clean store, and
    /// a kernel it cannot read (not root, no IPVS) leaves the run `running` with a note saying why.
    @Test func aCommandThatReadsNoKernelOpensItOnlyToCloseARun() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(path: dir.appendingPathComponent("lvsctl.db").path)
        struct NoIPVS: Error, CustomStringConvertible { var description: String { "no IPVS here" } }
        var opened = 0
        guard case .clean = InterruptedRuns.closeIfIdle(store: store, openKernel: { opened += 1; return FakeKernel() }) else {
            Issue.record("a clean store had something to close")
            return
        }
        #expect(opened == 0, "no run left running: the kernel is not opened")

        let run = try store.beginRun(manifest: manifest, origin: .apply, author: "killed")
        let refused = InterruptedRuns.closeIfIdle(store: store, openKernel: { throw NoIPVS() })
        guard case .notClosed(let runs, let reason) = refused else {
            Issue.record("expected not closed, got \(refused)")
            return
        }
        #expect(runs.map(\.id) == [run.id] && reason.contains("no IPVS here"))
        #expect(refused.notes.first?.contains("the next lvsctl command that can read the kernel and write the store closes it") == true)
        #expect(try store.run(run.id)?.status == .running)

        guard case .closed(let closed) = InterruptedRuns.closeIfIdle(store: store, openKernel: { opened += 1; return FakeKernel() }) else {
            Issue.record("expected the run closed")
            return
        }
        #expect(opened == 1 && closed.map(\.run.id) == [run.id])
        #expect(try store.run(run.id)?.status == .failed)
    }
}
