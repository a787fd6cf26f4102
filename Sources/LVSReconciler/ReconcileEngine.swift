public import Foundation
public import LVSHealth
public import LVSKernel
import LVSApply
import LVSManifest
public import LVSModel
public import LVSNotify
public import LVSPlan
public import LVSStore
public import Logging

/// The reconcile pass, synchronous: applied revisions → decode → exec-check policy → health and
/// maintenance overlay → plan (all manifests together) → what is not drift → split by cause →
/// apply → audit. The daemon runs it in a loop; `drain` and `undrain` run one pass; `drift`
/// runs its first half (``drift(health:manifests:)``), so the CLI and the daemon cannot disagree
/// on what is drift.
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
/// maintenance override now or in the previous pass, or a real server health removes (deleted)
/// or gives back (added). Each kernel write still gets exactly one audit row.
public final class ReconcileEngine: @unchecked Sendable {
    public let store: Store
    public let kernel: any IPVSKernel
    public let reconciler: Reconciler
    public var allowExecChecks: Bool
    public var lockTimeout: Duration
    public var author: String
    public var logger: Logger

    private var previousQuorum: [VirtualService.ID: Bool] = [:]
    /// What the previous pass put in force; nil before the first.
    private var previous: OverlayMemory?
    /// What a fresh engine assumes the previous pass overrode (`lvsctl undrain` seeds the real
    /// servers it releases, so restoring their weight is audited as maintenance).
    public var seedCauses: [ServiceRealServerKey: ReconcileOverlay.Cause] = [:]
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
        /// The quorum of each service of the accepted manifests after this pass's health view
        /// (what the director's readiness is decided on).
        public var quorum: [VirtualService.ID: Bool] = [:]
        /// The `vrrp` section of the accepted manifests and the manifest that declares it.
        public var vrrp: (manifest: String, config: VRRPConfig)?
        /// The declared states of the accepted manifests (what the BGP announcement is decided on).
        public var desired: [DesiredState] = []

        public init(reconcileID: String) { self.reconcileID = reconcileID }
    }

    /// A pass that failed after recording what it could; the daemon backs off.
    public struct PassError: Error, CustomStringConvertible {
        public var description: String
        public var result: PassResult
    }

    /// Seeds the quorum the first pass compares against (what the daemon last reported before a
    /// restart); ignored once a pass has run.
    public func restoreQuorum(_ quorum: [VirtualService.ID: Bool]) {
        if previousQuorum.isEmpty { previousQuorum = quorum }
    }

    /// Runs one pass with the given health states.
    /// - Throws: ``PassError`` when the plan is refused or the kernel rejects a change.
    @discardableResult
    public func pass(health: [ServiceRealServerKey: HealthState], reconcileID: String = ReconcileEngine.newID()) throws -> PassResult {
        // The whole pass holds the writer lock: the applied revisions, maintenance flags and drains
        // it reads are the ones it applies against. (Reading the revisions before taking the lock
        // let an `lvsctl apply` finish in between, and the pass then undid it.)
        try store.withWriterLock(timeout: lockTimeout) { try lockedPass(health: health, reconcileID: reconcileID) }
    }

    /// The applied revisions, decoded, exec checks refused unless allowed.
    struct Desired {
        var states: [DesiredState] = []
        var revisions: [String: Revision] = [:]
    }

    /// Step 1 of a pass: the applied revision of each manifest (`only`: these manifests; a
    /// manifest never applied is an error then), decoded; exec checks refused unless allowed.
    func desired(_ result: inout PassResult, log: Logger, only: [String]? = nil) throws -> Desired {
        var out = Desired()
        for name in try only ?? store.manifests() {
            guard let rev = try store.appliedRevision(manifest: name) else {
                if only != nil { throw ReconcileError("manifest \(name) has never been applied") }
                continue
            }
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
            out.states.append(state)
            out.revisions[name] = rev
            for s in state.services { result.serviceManifests[s.service.id] = name }
            if let v = state.vrrp { result.vrrp = (name, v) }
            result.targets += HealthTarget.targets(in: state)
        }
        result.manifests = out.states.map(\.manifest)
        result.desired = out.states
        return out
    }

    /// Step 2: the overlay of health and maintenance (quorum remembered between passes, else
    /// the last reported), and the plan against the live table.
    func planned(
        _ desired: Desired, health: [ServiceRealServerKey: HealthState], policy: PlanPolicy = PlanPolicy(),
        files: [ManagedFile] = []
    ) throws -> Reconciler.Planned {
        let overlay = ReconcileOverlay.apply(
            desired: desired.states, health: health,
            maintenance: ReconcileOverlay.maintenanceKeys(try store.maintenanceFlags(), in: desired.states),
            previousQuorum: previousQuorum.isEmpty ? ReconcileOverlay.reportedQuorum(try store.notifyStates()) : previousQuorum)
        return try reconciler.plan(
            desired.states, scope: Set(desired.states.map(\.manifest)), policy: policy, fingerprint: false, overlay: overlay,
            files: files)
    }

    /// Step 3: what is not drift (``DriftRules``), against what the previous pass put in force.
    func findings(_ planned: Reconciler.Planned) throws -> DriftRules.Findings {
        let draining = Set(try store.drains().map { ServiceRealServerKey(service: $0.service, realServer: $0.realServer) })
        return DriftRules.findings(
            planned, draining: draining, previous: previous, released: seedCauses,
            lastSet: { [store] key in try? store.lastSet(service: key.service, realServer: key.realServer) })
    }

    /// Drift as the daemon's pass decides it, without applying anything: `lvsctl drift`.
    /// - Parameter manifests: only these (default: all applied manifests).
    /// - Parameter files: the rendered files of these desired states, with their text now (the
    ///   keepalived config: the command renders it; none by default).
    public func drift(
        health: [ServiceRealServerKey: HealthState], manifests: [String]? = nil,
        files: ([DesiredState]) throws -> [ManagedFile] = { _ in [] }
    ) throws -> DriftReport {
        var result = PassResult(reconcileID: Self.newID())
        let desired = try self.desired(&result, log: logger, only: manifests)
        let planned = try self.planned(desired, health: health, files: try files(desired.states))
        return DriftReport(
            findings: try findings(planned), planned: planned, desired: desired.states, revisions: desired.revisions,
            rejected: result.rejected)
    }

    /// The `vrrp` section of the applied manifests (validation lets one manifest own it) and
    /// the manifest that declares it; nil when none has one. Reads the store only.
    /// A revision that cannot be decoded is skipped here; the pass reports it.
    public func vrrpSection() throws -> (manifest: String, config: VRRPConfig)? {
        try Self.vrrpSection(in: store)
    }

    /// The one reading of the applied `vrrp` section: the daemon, `status` and `maintenance`
    /// all go through it.
    public static func vrrpSection(in store: Store) throws -> (manifest: String, config: VRRPConfig)? {
        for name in try store.manifests() {
            guard let rev = try store.appliedRevision(manifest: name),
                let state = try? Manifest.decode(canonicalJSON: rev.content), let v = state.vrrp
            else { continue }
            return (name, v)
        }
        return nil
    }

    /// The applied manifest with a `bgp` section (validation lets one manifest own it), or nil.
    public static func bgpManifest(in store: Store) throws -> String? {
        try bgpSection(in: store)?.manifest
    }

    /// The one reading of the applied `bgp` section, with the addresses the applied manifests
    /// announce (services with `announce`, as the daemon's BGP side reads them): `status` and
    /// `maintenance` go through it.
    public static func bgpSection(in store: Store) throws -> (manifest: String, config: BGPConfig, announced: [IPAddress])? {
        var section: (String, BGPConfig)?
        var announced = Set<IPAddress>()
        for name in try store.manifests() {
            guard let rev = try store.appliedRevision(manifest: name),
                let state = try? Manifest.decode(canonicalJSON: rev.content)
            else { continue }
            if section == nil, let bgp = state.bgp { section = (name, bgp) }
            announced.formUnion(state.services.compactMap(\.announcedAddress))
        }
        guard let (manifest, config) = section else { return nil }
        return (manifest, config, announced.sorted())
    }

    /// What ``drift(health:manifests:)`` found, with what `drift --fix` applies.
    public struct DriftReport: Sendable {
        public var findings: DriftRules.Findings
        public var planned: Reconciler.Planned
        /// The declared states of the applied revisions.
        public var desired: [DesiredState]
        public var revisions: [String: Revision]
        /// Manifests left out, with why.
        public var rejected: [String: String]
    }

    private func lockedPass(health: [ServiceRealServerKey: HealthState], reconcileID: String) throws -> PassResult {
        var result = PassResult(reconcileID: reconcileID)
        var log = logger
        log[metadataKey: "reconcile.id"] = "\(reconcileID)"

        // 1. Applied revisions, decoded; exec checks refused unless allowed.
        let desired = try self.desired(&result, log: log)
        guard !desired.states.isEmpty else { return result }
        let states = desired.states
        let revisions = desired.revisions
        let scope = Set(states.map(\.manifest))

        // 2. Overlay health and maintenance, plan.
        let planned = try self.planned(desired, health: health)
        let overlay = planned.overlay
        previousQuorum = overlay.quorum
        result.quorum = overlay.quorum
        for (manifest, q) in overlay.quorumChanges {
            let name = states.first { $0.manifest == manifest }?.services.first { $0.service.id == q.service }?.name
            result.notifications.append(.quorum(
                gained: q.hasQuorum, service: q.service, serviceName: name, manifest: manifest,
                message: "healthy weight \(q.healthyWeight) \(q.hasQuorum ? "≥" : "<") \(q.threshold)"))
        }
        let before = previous ?? OverlayMemory(
            causes: overlay.causes.merging(seedCauses) { now, _ in now }, weightOverrides: [:], removals: [])
        result.planSize = planned.plan.changes.count

        // 3. Drift: what differs beyond what health and maintenance change.
        let drift = try findings(planned).items
        previous = OverlayMemory(overlay)
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

        // 4. Split by cause, apply.
        let (declared, health, maintenance) = Self.split(
            planned.plan, now: overlay.causes, previous: before.causes, removals: overlay.removals,
            removedBefore: before.removals)
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

    /// Splits a plan into declared changes (with all bookkeeping), health-driven and
    /// maintenance-driven weight changes.
    static func split(
        _ plan: Plan, now: [ServiceRealServerKey: ReconcileOverlay.Cause],
        previous: [ServiceRealServerKey: ReconcileOverlay.Cause], removals: Set<ServiceRealServerKey> = [],
        removedBefore: Set<ServiceRealServerKey> = []
    ) -> (Plan, Plan, Plan) {
        var declared = plan
        declared.changes = []
        var health = Plan(baseFingerprint: plan.baseFingerprint, computedAt: plan.computedAt)
        var maintenance = health
        for c in plan.changes {
            if let s = c.service, let r = c.realServer {
                // A real server health takes out of the table, or gives back on recovery.
                let key = ServiceRealServerKey(service: s, realServer: r)
                if (c.action == .deleteRealServer && removals.contains(key))
                    || (c.action == .addRealServer && removedBefore.contains(key) && !removals.contains(key))
                {
                    health.changes.append(c)
                    continue
                }
            }
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

/// A pass that cannot start (a manifest asked for was never applied).
public struct ReconcileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
