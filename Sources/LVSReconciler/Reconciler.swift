public import Foundation
public import LVSApply
public import LVSKernel
public import LVSModel
public import LVSPlan
public import LVSStore

/// One reconcile pass, the same for `lvsctl apply`, `drift --fix`, `rollback` and the daemon:
/// read the live table, plan against the desired states, apply, and record everything in the store.
///
/// The planner is pure; this type is the one place that gathers its inputs (ownership and drains
/// from the store, the live table from the kernel, the time) and writes its outputs back (audit
/// rows, ownership claims and releases, drain records).
public final class Reconciler {
    public let store: Store
    public let kernel: any IPVSKernel
    /// The time, injected so that tests can move it.
    public var now: @Sendable () -> Date
    /// Called at the end of each step of an apply with the step's name (profiling; see `LVSCTL_TRACE`).
    public var trace: (String) -> Void = { _ in }
    /// Whether ``apply(_:revisions:origin:author:recordEmptyRun:verifyFingerprint:)`` holds back
    /// SIGTERM, SIGINT and SIGHUP until its writes are audited (``TerminationSignals``). The
    /// `lvsctl` CLI turns it on; the daemon handles those signals itself.
    nonisolated(unsafe) public static var holdTerminationSignals = false
    /// Writes the files a plan renders (the keepalived config) and reloads their reader. A plan
    /// with a file change and no writer fails before any kernel write.
    public var fileWriter: (any RenderedFileWriter)?

    public init(store: Store, kernel: any IPVSKernel, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.kernel = kernel
        self.now = now
    }

    /// The inputs the planner saw and the plan it made.
    public struct Planned: Sendable {
        public var plan: Plan
        public var live: LiveTable
        public var owners: [VirtualService.ID: String]
        /// Health and maintenance as planned; `overlay.desired` is what the plan converges to.
        public var overlay: ReconcileOverlay.Result
    }

    /// Plans `desired` against the live kernel table.
    ///
    /// `files`: the rendered files and their text now (the command reads and renders them; the
    /// planner compares, ``ConfigFile/change(for:)``).
    /// - Parameters:
    ///   - desired: the desired state of each manifest in scope.
    ///   - scope: manifests whose owned services may be changed or deleted (default: those in
    ///     `desired`).
    ///   - fingerprint: record the live table's fingerprint in the plan (only a plan saved for a
    ///     later `apply --plan` needs it).
    ///   - overlay: health and maintenance to plan with; nil reads them from the store
    ///     (``ReconcileOverlay/stored(_:desired:)``). Every plan goes through an overlay: a write
    ///     path that skipped it would put drained and failed real servers back into rotation.
    public func plan(
        _ desired: [DesiredState], scope: Set<String>? = nil, policy: PlanPolicy = PlanPolicy(),
        fingerprint: Bool = true, overlay: ReconcileOverlay.Result? = nil, files: [ManagedFile] = []
    ) throws -> Planned {
        try plan(
            desired, live: try kernel.snapshot(), scope: scope, policy: policy, fingerprint: fingerprint, overlay: overlay,
            files: files)
    }

    /// Plans `desired` (the declared states) against a live table the caller has already read,
    /// with the store's records. `owners`: the ownership the caller has just read from the store
    /// (read here when nil).
    public func plan(
        _ desired: [DesiredState], live: LiveTable, owners known: [VirtualService.ID: String]? = nil,
        scope: Set<String>? = nil, policy: PlanPolicy = PlanPolicy(), fingerprint: Bool = true,
        overlay: ReconcileOverlay.Result? = nil, files: [ManagedFile] = []
    ) throws -> Planned {
        let records = try PlanningRecords.read(from: store, owners: known, overlay: overlay == nil, quorumFor: desired)
        return Self.plan(
            desired, against: DirectorState(live: live, records: records), now: now(), scope: scope, policy: policy,
            fingerprint: fingerprint, overlay: overlay, files: files)
    }

    /// Plans `desired` against a director's state: the one planning path of every command, online
    /// (the state just read from the kernel and the store) and offline (`lvsctl plan --against`,
    /// a state captured earlier by `lvsctl export -o state`).
    public static func plan(
        _ desired: [DesiredState], against state: DirectorState, now: Date, scope: Set<String>? = nil,
        policy: PlanPolicy = PlanPolicy(), fingerprint: Bool = true, overlay known: ReconcileOverlay.Result? = nil,
        files: [ManagedFile] = []
    ) -> Planned {
        let overlay = known ?? ReconcileOverlay.from(state.records, desired: desired)
        var input = PlanInput(
            desired: overlay.desired, live: state.live, owners: state.records.owners, drains: state.records.drainStates,
            now: now.timeIntervalSince1970, scope: scope ?? Set(desired.map(\.manifest)),
            policy: overlay.applied(to: policy), fingerprint: fingerprint)
        input.files = files
        return Planned(plan: Planner.plan(input), live: state.live, owners: state.records.owners, overlay: overlay)
    }

    /// Plans `desired` again after `planned.plan` was applied, to check that nothing is left to
    /// do, without reading and planning the whole table a second time.
    ///
    /// Services the plan did not touch matched their desired state in `planned.live` (else the
    /// plan would have changed them), so only the touched services are read again (a service
    /// read is 2 requests, a whole-table read 1 + N) and planned against their desired state,
    /// with the kernel-wide settings of `planned.live`. When the plan touched the kernel-wide
    /// settings, or so many services that one whole-table read is cheaper, everything is read and
    /// planned again. A change someone else made meanwhile to an untouched service is left to the
    /// next plan.
    public func planAfterApply(
        _ desired: [DesiredState], planned: Planned, scope: Set<String>? = nil, policy: PlanPolicy = PlanPolicy()
    ) throws -> Plan {
        var touched = Set<VirtualService.ID>()
        // Files were compared before the apply and written by it; this checks the kernel.
        for c in planned.plan.changes where !c.action.isFileWrite {
            guard let id = c.service else { return try plan(desired, scope: scope, policy: policy).plan }
            touched.insert(id)
        }
        if touched.count * 2 > planned.live.services.count {
            return try plan(desired, scope: scope, policy: policy).plan
        }
        var services: [LiveService] = []
        for id in touched.sorted() {
            if let s = try kernel.service(id) { services.append(s) }
        }
        let live = LiveTable(
            services: services, timeouts: planned.live.timeouts, syncDaemons: planned.live.syncDaemons,
            sysctls: planned.live.sysctls)
        let subset = desired.map { d in
            DesiredState(manifest: d.manifest, services: d.services.filter { touched.contains($0.service.id) }, settings: d.settings)
        }
        // The ownership the apply left (what its bookkeeping stored), without reading it back.
        let owners = planned.plan.owners(after: planned.owners)
        return try plan(subset, live: live, owners: owners, scope: scope ?? Set(desired.map(\.manifest)), policy: policy).plan
    }

    /// What an apply did.
    public struct Outcome: Sendable {
        /// The run recorded in the store; nil when nothing needed doing.
        public var run: ApplyRun?
        public var report: ApplyReport
        /// Audit rows written (one per kernel write, undo writes included).
        public var auditRows: Int
    }

    /// Applies `plan`, writing one audit row per kernel write and the plan's bookkeeping.
    ///
    /// Intent before writing: the run (`running`), one `planned` audit row per change and the
    /// ownership of the services the plan creates are committed in one transaction before the
    /// first kernel write (a full disk fails here, and nothing reaches the kernel). The rows are
    /// marked with the kernel's answers a batch per transaction while the writes go on
    /// (``AuditWriter``); the rest of the bookkeeping and the end of the run commit together at
    /// the end. A process killed at any moment leaves the run `running` and every write that may
    /// have reached the kernel with a row; the next command resolves them
    /// (``InterruptedRuns/recover(store:kernel:live:)``), which this method also does first, so a
    /// run never stays `running` past the next apply, even one with nothing to do.
    ///
    /// - Parameters:
    ///   - revisions: the revision of each manifest the plan comes from (audit rows and ownership
    ///     claims point at them).
    ///   - origin: why the changes are made (`apply`, `rollback`, `drift-fix`, `daemon`…).
    ///   - recordEmptyRun: record a run even when the plan writes nothing (a new revision that
    ///     needs no kernel change is still an applied revision).
    /// - Throws: `ApplyError` after recording the failed run and its audit rows.
    public func apply(
        _ plan: Plan, revisions: [String: Revision], origin: ChangeOrigin, author: String,
        recordEmptyRun: Bool = false, verifyFingerprint: Bool = true
    ) throws -> Outcome {
        // Callers hold the writer lock: a run still `running` belongs to a process that died.
        recovered += try InterruptedRuns.recover(store: store, kernel: kernel)
        if plan.changes.isEmpty && !plan.hasBookkeeping && !recordEmptyRun {
            return Outcome(run: nil, report: ApplyReport(), auditRows: 0)
        }
        if Self.holdTerminationSignals {
            return try TerminationSignals.deferring {
                try record(plan, revisions: revisions, origin: origin, author: author, verifyFingerprint: verifyFingerprint)
            }
        }
        return try record(plan, revisions: revisions, origin: origin, author: author, verifyFingerprint: verifyFingerprint)
    }

    /// Interrupted runs this reconciler closed before applying (for the caller to report).
    public private(set) var recovered: [InterruptedRuns.Recovered] = []

    /// The services `plan` creates and claims for `revisions`: owned from the intent on, so a
    /// crash or a full disk after their creation never leaves them foreign.
    static func createdClaims(_ plan: Plan, revisions: [String: Revision]) -> [String: [VirtualService.ID]] {
        let claimed = Set(plan.claims.map { ServiceClaimKey(service: $0.service, manifest: $0.manifest) })
        var out: [String: [VirtualService.ID]] = [:]
        for c in plan.changes where c.action == .createService {
            guard let id = c.service, revisions[c.manifest] != nil,
                claimed.contains(ServiceClaimKey(service: id, manifest: c.manifest))
            else { continue }
            out[c.manifest, default: []].append(id)
        }
        return out
    }

    private struct ServiceClaimKey: Hashable {
        var service: VirtualService.ID
        var manifest: String
    }

    /// The apply itself: the intent, the kernel writes and their outcomes, the bookkeeping.
    private func record(
        _ plan: Plan, revisions: [String: Revision], origin: ChangeOrigin, author: String, verifyFingerprint: Bool
    ) throws -> Outcome {
        // Files are written after every kernel write succeeded, inside the apply (a failed write
        // undoes the kernel writes: nothing half-applied), and their reader is reloaded once the
        // run is recorded. What must stay true: the file is never newer than the kernel state it
        // belongs with, except after a failed reload, which the error reports.
        let fileChanges = plan.changes.filter(\.action.isFileWrite)
        var kernelPlan = plan
        if !fileChanges.isEmpty {
            guard let fileWriter else {
                throw ReconcileError("this plan writes \(fileChanges.map(\.subject).joined(separator: ", ")) but no file writer was given; nothing was written")
            }
            kernelPlan.changes.removeAll(where: \.action.isFileWrite)
            // Everything that can refuse the write before the kernel is touched (the file
            // changed since it was planned, keepalived's config test, keepalived not running).
            for c in fileChanges { try fileWriter.check(c) }
        }
        let manifests = Set(plan.changes.map(\.manifest)).union(revisions.keys)
        let runManifest = manifests.count == 1 ? manifests.first : nil
        let created = Self.createdClaims(kernelPlan, revisions: revisions)

        // 1. Intent, in one transaction before the first kernel write.
        var audit: AuditWriter! = nil
        let run: ApplyRun = try store.transaction { tx in
            let run = try tx.beginRun(
                manifest: runManifest, revision: runManifest.flatMap { revisions[$0] }, origin: origin, author: author)
            audit = AuditWriter(store: store, runID: run.id, revisions: revisions, origin: origin, now: now)
            try audit.writeIntent(kernelPlan, in: tx)
            for (manifest, ids) in created.sorted(by: { $0.key < $1.key }) {
                if let revision = revisions[manifest] { try tx.setOwner(ids, revision: revision) }
            }
            return run
        }
        trace("intent saved")

        // 2. The kernel writes, their outcomes marked a batch per transaction.
        var failure: (any Error)? = nil
        var report = ApplyReport()
        var fileRows: [AuditEntry] = []
        do {
            report = try Applier(kernel: kernel, trace: trace).apply(
                kernelPlan, verifyFingerprint: verifyFingerprint, onEvent: audit.record, willUndo: audit.planUndo,
                afterWrites: {
                    for c in fileChanges {
                        let clock = ContinuousClock()
                        let start = clock.now
                        do {
                            try fileWriter?.write(c)
                            fileRows.append(fileRow(c, run: run.id, revisions: revisions, origin: origin, error: nil, took: clock.now - start))
                        } catch {
                            fileRows.append(fileRow(c, run: run.id, revisions: revisions, origin: origin, error: "\(error)", took: clock.now - start))
                            throw error
                        }
                    }
                })
            report.applied += fileChanges.count
        } catch {
            failure = error
        }
        do {
            try audit.finish()
        } catch {
            // The store cannot take the outcomes (a full disk): every write has its intent row,
            // and the run stays `running` for the next command to resolve against the kernel.
            let kernelFailure = failure.map { "; the kernel also refused a change: \($0)" } ?? ""
            throw ReconcileError(
                "the store could not record the outcomes of this apply's kernel writes: \(error); "
                    + "every write has its intent row in the audit, and the next lvsctl command (after the store "
                    + "is fixed) marks which reached the kernel\(kernelFailure)")
        }
        trace("kernel writes sent and outcomes saved")

        // 3. The end of the run, with the bookkeeping of a complete apply.
        let outcome: Outcome = try store.transaction { tx in
            // Writes never sent (after a failure, or a stale plan) never reached the kernel.
            if !audit.allMarked { try tx.deletePlanned(runID: run.id) }
            if !fileRows.isEmpty { _ = try tx.appendAuditRows(fileRows) }
            if let failure {
                // Rows of changes that were taken back are marked as such.
                let undoneIDs = audit.undoneRows()
                if !undoneIDs.isEmpty { _ = try tx.markUndone(auditIDs: undoneIDs) }
                // Claimed at the intent, released again for services the kernel does not hold.
                if !created.isEmpty {
                    var held = Set<VirtualService.ID>()
                    for (i, c) in kernelPlan.changes.enumerated() where c.action == .createService {
                        if let id = c.service, audit.holds(i) { held.insert(id) }
                    }
                    for (manifest, ids) in created {
                        let gone = ids.filter { !held.contains($0) }
                        if !gone.isEmpty { _ = try tx.removeOwner(gone, manifest: manifest) }
                    }
                }
                let finished = try tx.finishRun(
                    run.id, status: undoneIDs.isEmpty ? .failed : .undone, error: "\(failure)")
                // The revision this command tried to apply is not what the kernel holds: never
                // the applied revision (``Store/appliedRevision(manifest:)``).
                if Self.marksRevisions(origin) {
                    try tx.markRevisions(revisions.values.map(\.id), failed: true)
                }
                return Outcome(run: finished, report: report, auditRows: audit.count + fileRows.count)
            }
            if Self.marksRevisions(origin) {
                try tx.markRevisions(revisions.values.filter(\.failed).map(\.id), failed: false)
            }
            try recordBookkeeping(plan, revisions: revisions, in: tx)
            let finished = try tx.finishRun(run.id, status: .succeeded)
            trace("bookkeeping saved")
            return Outcome(run: finished, report: report, auditRows: audit.count + fileRows.count)
        }
        if let failure { throw failure }
        if !fileChanges.isEmpty, let fileWriter {
            try fileWriter.reload(after: fileChanges)
        }
        return outcome
    }


    /// The audit row of a file write: the file's path and digest before and after (not its text:
    /// the revision and the node give it back).
    private func fileRow(
        _ c: Change, run: Int64, revisions: [String: Revision], origin: ChangeOrigin, error: String?, took: Duration
    ) -> AuditEntry {
        func text(_ v: Change.Value?) -> String? {
            guard var f = v?.file else { return nil }
            f.content = nil
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(Change.Value.file(f))).map { String(decoding: $0, as: UTF8.self) }
        }
        return AuditEntry(
            runID: run, revisionID: revisions[c.manifest]?.id, manifest: c.manifest, at: now(),
            action: c.action == .createKeepalivedConfig ? "create-keepalived-config" : "update-keepalived-config",
            service: nil, before: text(c.before), after: text(c.after), result: error == nil ? .applied : .failed,
            kernelError: error, durationMicroseconds: AuditWriter.micros(took), origin: origin)
    }

    /// Whether a run of this origin applies a revision a user asked for (`apply`, `rollback`), so
    /// that its failure marks the revision failed. The daemon, drift --fix and drains converge to
    /// the applied revision: their failure says nothing against it.
    static func marksRevisions(_ origin: ChangeOrigin) -> Bool { origin == .apply || origin == .rollback }

    /// Saves ownership claims and releases and the drains started and finished by an applied plan,
    /// in `store` (the apply's transaction).
    func recordBookkeeping(_ plan: Plan, revisions: [String: Revision], in store: Store) throws {
        let byManifest = Dictionary(grouping: plan.claims, by: \.manifest)
        for (manifest, claims) in byManifest {
            guard let revision = revisions[manifest] else { continue }
            try store.setOwner(claims.map(\.service), revision: revision)
        }
        if !plan.releases.isEmpty {
            // One read of the owners and one removal per owning manifest (not one of each per service).
            let owners = try store.owners()
            var byOwner: [String: [VirtualService.ID]] = [:]
            for id in plan.releases {
                if let owner = owners[id] { byOwner[owner, default: []].append(id) }
            }
            for (owner, ids) in byOwner.sorted(by: { $0.key < $1.key }) {
                _ = try store.removeOwner(ids, manifest: owner)
            }
        }
        for d in plan.drainsToStart {
            try store.upsertDrain(DrainRecord(
                service: d.service, realServer: d.realServer, manifest: d.manifest,
                startedAt: Date(timeIntervalSince1970: d.startedAt),
                deadline: d.deadline.isFinite ? Date(timeIntervalSince1970: d.deadline) : nil,
                reason: .removedFromManifest))
        }
        for key in plan.drainsToFinish {
            _ = try store.removeDrain(service: key.service, realServer: key.realServer)
        }
    }
}
