public import Foundation
public import LVSHealth
public import LVSKernel
import LVSApply
import LVSManifest
public import LVSModel
public import LVSNotify
public import LVSPlan
public import LVSReconciler
public import LVSStore
public import Logging

/// One daemon reconcile pass, synchronous: applied revisions → health and maintenance overlay →
/// plan (all manifests together) → apply → audit.
///
/// Not thread-safe: the daemon runs it on one serial queue (``SerialEngine``). It remembers
/// between passes the quorum of each service, the overrides it applied last (to attribute a
/// restoring weight change to health or maintenance) and which revisions it rejected (to
/// notify once per revision).
///
/// Changes are split by cause and applied as up to three runs, in this order: declared changes
/// (origin `daemon`), health-driven weight changes (origin `health`) and maintenance-driven
/// weight changes (origin `maintenance`). A change counts as health- or maintenance-driven when
/// it is an `update-real-server` that changes only the weight, on a real server with a health or
/// maintenance override now or in the previous pass. Each kernel write still gets exactly one
/// audit row.
public final class ReconcileEngine: @unchecked Sendable {
    public let store: Store
    public let kernel: any IPVSKernel
    public let reconciler: Reconciler
    public var allowExecChecks: Bool
    public var lockTimeout: Duration
    public var author: String
    public var logger: Logger

    private var previousQuorum: [VirtualService.ID: Bool] = [:]
    private var previousCauses: [ServiceRealServerKey: DaemonOverlay.Cause]?
    /// What a fresh engine assumes the previous pass overrode (`lvsctl undrain` seeds the real
    /// servers it releases, so restoring their weight is audited as maintenance).
    public var seedCauses: [ServiceRealServerKey: DaemonOverlay.Cause] = [:]
    private var previousOverrides: [ServiceRealServerKey: UInt32] = [:]
    private var rejectedRevisions: [String: Int64] = [:]
    private var lastDriftSignature: [DriftItem] = []

    public init(
        store: Store, kernel: any IPVSKernel, allowExecChecks: Bool = false, lockTimeout: Duration = .seconds(10),
        author: String = "lvsctl-daemon", logger: Logger = Logger(label: "lvsctl.daemon"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.kernel = kernel
        self.reconciler = Reconciler(store: store, kernel: kernel, now: now)
        self.allowExecChecks = allowExecChecks
        self.lockTimeout = lockTimeout
        self.author = author
        self.logger = logger
    }

    /// What one pass did.
    public struct PassResult: Sendable {
        public var reconcileID: String
        /// Manifests planned and applied.
        public var manifests: [String] = []
        /// Manifests left alone, with why (exec checks not allowed, undecodable revision).
        public var rejected: [String: String] = [:]
        /// Changes in the plan (all causes).
        public var planSize = 0
        /// Kernel writes made.
        public var kernelWrites = 0
        /// Audit rows written, by origin.
        public var auditRows: [ChangeOrigin: Int] = [:]
        /// Drift found before applying, health- and maintenance-driven differences excluded.
        public var drift: [DriftItem] = []
        /// Notifications to send (the ``Notifier`` dedupes state changes).
        public var notifications: [LVSNotify.Notification] = []
        /// The health targets of the accepted manifests.
        public var targets: [HealthTarget] = []
        /// Which manifest declares which service (metrics labels).
        public var serviceManifests: [VirtualService.ID: String] = [:]
        /// The guard refusals or apply error, if the pass failed.
        public var error: String?

        public init(reconcileID: String) { self.reconcileID = reconcileID }
    }

    /// A pass that failed after recording what it could; the daemon backs off.
    public struct PassError: Error, CustomStringConvertible {
        public var description: String
        public var result: PassResult
    }

    /// The applied revision of `manifest`: the revision of its last successful run, else its latest.
    public static func appliedRevision(_ store: Store, manifest: String) throws -> Revision? {
        for run in try store.runs(manifest: manifest) where run.status == .succeeded {
            if let id = run.revisionID, let rev = try store.revision(id: id) { return rev }
        }
        return try store.latestRevision(manifest: manifest)
    }

    /// Seeds the quorum the first pass compares against (what the daemon last reported before a
    /// restart); ignored once a pass has run.
    public func restoreQuorum(_ quorum: [VirtualService.ID: Bool]) {
        if previousQuorum.isEmpty { previousQuorum = quorum }
    }

    /// Runs one pass with the given health states.
    /// - Throws: ``PassError`` when the plan is refused or the kernel rejects a change.
    @discardableResult
    public func pass(health: [HealthKey: HealthState], reconcileID: String = ReconcileEngine.newID()) throws -> PassResult {
        // The whole pass holds the writer lock: the applied revisions, maintenance flags and drains
        // it reads are the ones it applies against. (Reading the revisions before taking the lock
        // let an `lvsctl apply` finish in between, and the pass then undid it.)
        try store.withWriterLock(timeout: lockTimeout) { try lockedPass(health: health, reconcileID: reconcileID) }
    }

    private func lockedPass(health: [HealthKey: HealthState], reconcileID: String) throws -> PassResult {
        var result = PassResult(reconcileID: reconcileID)
        var log = logger
        log[metadataKey: "reconcile.id"] = "\(reconcileID)"

        // 1. Applied revisions, decoded; exec checks refused unless allowed.
        var states: [DesiredState] = []
        var revisions: [String: Revision] = [:]
        for name in try store.manifests() {
            guard let rev = try Self.appliedRevision(store, manifest: name) else { continue }
            let state: DesiredState
            do {
                state = try Manifest.decode(canonicalJSON: rev.content)
            } catch {
                reject(name, rev, "revision \(rev.number) cannot be decoded: \(error)", &result, log)
                continue
            }
            let exec = HealthChecker.execChecks(in: state)
            if !allowExecChecks && !exec.isEmpty {
                reject(
                    name, rev,
                    "revision \(rev.number) uses exec health checks (\(exec.joined(separator: ", "))) and this daemon's config "
                        + "does not allow them; set \"allowExecChecks\": true in the daemon config or remove the exec checks",
                    &result, log)
                continue
            }
            rejectedRevisions[name] = nil
            states.append(state)
            revisions[name] = rev
            for s in state.services { result.serviceManifests[s.service.id] = name }
            result.targets += HealthTarget.targets(in: state)
        }
        result.manifests = states.map(\.manifest)
        guard !states.isEmpty else { return result }

        // 2. Overlay health and maintenance, plan, apply.
        let scope = Set(states.map(\.manifest))
        let flags = try store.maintenanceFlags()
        let overlay = DaemonOverlay.apply(
            desired: states, health: health, maintenance: DaemonOverlay.maintenanceKeys(flags, in: states),
            previousQuorum: previousQuorum)
        previousQuorum = overlay.quorum
        for (manifest, q) in overlay.quorumChanges {
            let name = states.first { $0.manifest == manifest }?.services.first { $0.service.id == q.service }?.name
            result.notifications.append(.quorum(
                gained: q.hasQuorum, service: q.service, serviceName: name, manifest: manifest,
                message: "healthy weight \(q.healthyWeight) \(q.hasQuorum ? "≥" : "<") \(q.threshold)"))
        }
        let firstPass = previousCauses == nil
        let previous = previousCauses ?? overlay.causes.merging(seedCauses) { now, _ in now }
        defer {
            previousCauses = overlay.causes
            previousOverrides = overlay.weightOverrides
        }

        var policy = PlanPolicy()
        policy.weightOverrides = overlay.weightOverrides
        let planned = try reconciler.plan(overlay.desired, scope: scope, policy: policy)
        result.planSize = planned.plan.changes.count
        // Drift: what differs beyond the overrides just changed by health or maintenance.
        let changedKeys = Set(overlay.weightOverrides.keys).union(previousOverrides.keys).filter {
            overlay.weightOverrides[$0] != previousOverrides[$0]
        }
        let draining = Set(try store.drains().map { ServiceRealServerKey(service: $0.service, realServer: $0.realServer) })
        let causeChanged = Set(overlay.causes.keys).union(previous.keys).filter { overlay.causes[$0] != previous[$0] }
        let drift = Drift.compute(
            desired: overlay.desired, live: planned.live, owners: planned.owners,
            weightOverrides: overlay.weightOverrides
        ).filter { item in
            guard let s = item.service, let r = item.realServer else { return true }
            let key = ServiceRealServerKey(service: s, realServer: r)
            // What health or maintenance changes in this pass (a weight, the sorry server in or
            // out) is not drift, nor is a real server being drained (weight 0 until its
            // connections end: a removed server, or the sorry server after quorum came back).
            if causeChanged.contains(key) || (item.kind == .unexpected && draining.contains(key)) { return false }
            guard item.field == "weight" else { return true }
            if changedKeys.contains(key) { return false }
            // A fresh daemon does not know the previous overrides: a weight that health or
            // maintenance set (before a restart) and that nobody changed since is not drift.
            return !(firstPass && setByOverride(s, r, live: item.live))
        }
        result.drift = drift
        if !drift.isEmpty && drift != lastDriftSignature {
            result.notifications.append(LVSNotify.Notification(
                kind: .driftDetected, manifest: Set(drift.map(\.manifest)).sorted().joined(separator: ","),
                message: "\(drift.count) difference\(drift.count == 1 ? "" : "s") between the applied revisions and the kernel; "
                    + "the daemon converges them: \(drift.prefix(3).map(\.description).joined(separator: "; "))"))
        }
        lastDriftSignature = drift

        guard planned.plan.isApplyable else {
            let why = planned.plan.violations.map(\.description).joined(separator: "; ")
            result.error = "the plan was refused: \(why)"
            log.error("reconcile refused by a safety guard", metadata: ["reconcile.violations": "\(why)"])
            result.notifications.append(LVSNotify.Notification(
                kind: .applyFailed, manifest: scope.sorted().joined(separator: ","), message: result.error ?? why))
            throw PassError(description: result.error ?? why, result: result)
        }

        let (declared, health, maintenance) = split(planned.plan, now: overlay.causes, previous: previous)
        for (plan, origin) in [(declared, ChangeOrigin.daemon), (health, .health), (maintenance, .maintenance)] {
            let touched = Set(plan.changes.map(\.manifest))
            let revs = origin == .daemon ? revisions : revisions.filter { touched.contains($0.key) }
            do {
                let outcome = try reconciler.apply(
                    plan, revisions: revs, origin: origin, author: author, verifyFingerprint: false)
                result.kernelWrites += outcome.report.writes
                if outcome.auditRows > 0 { result.auditRows[origin, default: 0] += outcome.auditRows }
                for c in plan.changes {
                    log.info(
                        "applied change",
                        metadata: ["reconcile.origin": "\(origin.rawValue)", "change": "\(c.summary)"])
                }
            } catch {
                result.error = "applying \(origin.rawValue) changes failed: \(error)"
                log.error("apply failed", metadata: ["reconcile.origin": "\(origin.rawValue)", "error": "\(error)"])
                result.notifications.append(LVSNotify.Notification(
                    kind: .applyFailed, manifest: touched.sorted().joined(separator: ","),
                    message: result.error ?? "\(error)"))
                throw PassError(description: result.error ?? "\(error)", result: result)
            }
        }
        return result
    }

    /// Whether the kernel's weight of `realServer` is the one a health or maintenance change last
    /// set, according to the audit.
    func setByOverride(_ service: VirtualService.ID, _ realServer: RealServer.ID, live: String?) -> Bool {
        guard let last = try? store.lastSet(service: service, realServer: realServer),
            last.origin == .health || last.origin == .maintenance,
            let after = last.after, let value = try? JSONDecoder().decode(Change.Value.self, from: Data(after.utf8)),
            case .realServer(let rs) = value
        else { return false }
        return live == "\(rs.weight)"
    }

    /// Splits a plan into declared changes (with all bookkeeping), health-driven and
    /// maintenance-driven weight changes.
    func split(
        _ plan: Plan, now: [ServiceRealServerKey: DaemonOverlay.Cause],
        previous: [ServiceRealServerKey: DaemonOverlay.Cause]
    ) -> (Plan, Plan, Plan) {
        var declared = plan
        declared.changes = []
        var health = Plan(baseFingerprint: plan.baseFingerprint, computedAt: plan.computedAt)
        var maintenance = health
        for c in plan.changes {
            guard Self.isWeightOnly(c), let s = c.service, let r = c.realServer else {
                declared.changes.append(c)
                continue
            }
            let key = ServiceRealServerKey(service: s, realServer: r)
            switch now[key] ?? previous[key] {
            case .health?: health.changes.append(c)
            case .maintenance?: maintenance.changes.append(c)
            case nil: declared.changes.append(c)
            }
        }
        return (declared, health, maintenance)
    }

    /// An `update-real-server` whose only difference is the weight.
    static func isWeightOnly(_ c: Change) -> Bool {
        guard c.action == .updateRealServer, var before = c.before?.realServer, let after = c.after?.realServer else {
            return false
        }
        before.weight = after.weight
        return before == after
    }

    private func reject(_ name: String, _ rev: Revision, _ why: String, _ result: inout PassResult, _ log: Logger) {
        result.rejected[name] = why
        log.error("manifest not reconciled", metadata: ["manifest": "\(name)", "reason": "\(why)"])
        if rejectedRevisions[name] != rev.id {
            rejectedRevisions[name] = rev.id
            result.notifications.append(LVSNotify.Notification(kind: .applyFailed, manifest: name, message: why))
        }
    }

    /// A short random id for one pass, for the `reconcile.id` log field.
    public static func newID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}
