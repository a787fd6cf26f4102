public import LVSModel
public import LVSPlan
public import LVSStore
import Foundation

/// What a pass's overlay put in force: the daemon keeps it from one pass to the next, to tell a
/// health or maintenance change of this pass (not drift) from an outside change.
public struct OverlayMemory: Sendable {
    public var causes: [ServiceRealServerKey: ReconcileOverlay.Cause]
    public var weightOverrides: [ServiceRealServerKey: UInt32]
    public var removals: Set<ServiceRealServerKey>

    public init(
        causes: [ServiceRealServerKey: ReconcileOverlay.Cause], weightOverrides: [ServiceRealServerKey: UInt32],
        removals: Set<ServiceRealServerKey>
    ) {
        self.causes = causes
        self.weightOverrides = weightOverrides
        self.removals = removals
    }

    public init(_ overlay: ReconcileOverlay.Result) {
        self.init(causes: overlay.causes, weightOverrides: overlay.weightOverrides, removals: overlay.removals)
    }
}

/// What is drift: the differences between the applied revisions (with health and maintenance
/// in force) and the kernel that nobody in lvsctl made. The one decision `lvsctl drift` and the
/// daemon's pass both call (``ReconcileEngine/drift(health:)``).
public enum DriftRules {
    public struct Findings: Hashable, Sendable {
        /// Differences someone outside lvsctl made (or lvsctl never converged).
        public var items: [DriftItem]
        /// Real servers in the kernel on purpose while they drain (removed from the manifest, or
        /// the sorry server after quorum came back): not drift.
        public var draining: [ServiceRealServerKey]
    }

    /// Not drift:
    /// - a difference health or maintenance makes in this pass (a weight, a real server removed
    ///   or added back, the sorry server in or out): its overlay differs from `previous`'s (with
    ///   no previous pass, every override and removal is new);
    /// - a real server being drained (weight 0 until its connections end);
    /// - with no previous pass (a fresh daemon, the CLI): a weight or a removal that a health or
    ///   maintenance write of lvsctl left and nobody changed since (the audit says so).
    ///
    /// - Parameters:
    ///   - planned: the plan's inputs (overlay, live table, owners).
    ///   - draining: the real servers with a drain record.
    ///   - previous: what the previous pass put in force; nil when there is none.
    ///   - released: real servers whose override was just lifted outside a pass (`undrain`
    ///     seeds them), compared as if the previous pass had them in maintenance.
    ///   - lastSet: the newest applied audit row of a real server (``Store/lastSet(service:realServer:)``).
    public static func findings(
        _ planned: Reconciler.Planned, draining: Set<ServiceRealServerKey>, previous: OverlayMemory?,
        released: [ServiceRealServerKey: ReconcileOverlay.Cause] = [:],
        lastSet: (ServiceRealServerKey) -> AuditEntry?
    ) -> Findings {
        let overlay = planned.overlay
        // With no previous pass, every override and removal counts as made now (the kernel may
        // not show it yet), while the causes compare equal: only `released` differs.
        let before = previous ?? OverlayMemory(
            causes: overlay.causes.merging(released) { now, _ in now }, weightOverrides: [:], removals: [])
        let changedRemovals = overlay.removals.subtracting(before.removals)
        let changedWeights = Set(overlay.weightOverrides.keys).union(before.weightOverrides.keys).filter {
            overlay.weightOverrides[$0] != before.weightOverrides[$0]
        }
        let changedCauses = Set(overlay.causes.keys).union(before.causes.keys).filter {
            overlay.causes[$0] != before.causes[$0]
        }
        var drained: [ServiceRealServerKey] = []
        let items = Drift.compute(
            desired: overlay.desired, live: planned.live, owners: planned.owners, weightOverrides: overlay.weightOverrides
        ).filter { item in
            guard let s = item.service, let r = item.realServer else { return true }
            let key = ServiceRealServerKey(service: s, realServer: r)
            if item.kind == .unexpected && draining.contains(key) {
                drained.append(key)
                return false
            }
            if changedCauses.contains(key) { return false }
            if item.field == "weight" && changedWeights.contains(key) { return false }
            if item.kind == .unexpected && changedRemovals.contains(key) { return false }
            return !(previous == nil && leftByOverride(item, lastSet(key)))
        }
        // A rendered file (the keepalived config) that is missing or was edited by hand: the
        // plan's own file changes, so drift and apply cannot disagree on it.
        return Findings(items: items + Drift.files(planned.plan.changes), draining: drained)
    }

    /// Whether the live value of `item` is what lvsctl's last health or maintenance write left:
    /// the weight it set, or the real server it removed.
    static func leftByOverride(_ item: DriftItem, _ last: AuditEntry?) -> Bool {
        guard let last, last.origin == .health || last.origin == .maintenance else { return false }
        if item.kind == .missing && item.field == "realServer" {
            return last.action == "delete-real-server"
        }
        guard item.field == "weight", let after = last.after,
            let value = try? JSONDecoder().decode(Change.Value.self, from: Data(after.utf8)),
            case .realServer(let rs) = value
        else { return false }
        return item.live == "\(rs.weight)"
    }
}
