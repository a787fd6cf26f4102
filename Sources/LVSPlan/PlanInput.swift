public import LVSModel

/// Everything the planner looks at: desired states, the live table, ownership, drains, time and policy.
///
/// The planner does no I/O: the caller reads the kernel and the store and passes the results in,
/// including the current time, so a plan is a pure function of this value.
public struct PlanInput: Hashable, Sendable {
    /// The desired states being applied, one per manifest.
    public var desired: [DesiredState]
    /// The live kernel table the plan is computed against.
    public var live: LiveTable
    /// Which manifest owns which live service (from the store). Services owned by nobody are
    /// foreign (ipvsadm, keepalived) and never touched.
    public var owners: [VirtualService.ID: String]
    /// Real servers being drained (from the store).
    public var drains: [DrainState]
    /// The current time, in seconds since the epoch.
    public var now: Double
    /// The manifests in scope: services they own that are absent from their desired state are
    /// deleted. Services owned by other manifests are untouched.
    public var scope: Set<String>
    public var policy: PlanPolicy
    /// Record `live.fingerprint` in the plan (`Plan.baseFingerprint`). Only a plan that is saved
    /// and applied later needs it; for a large table it costs about as much as the diff itself.
    public var fingerprint: Bool
    /// Files lvsctl renders beside the kernel table (the keepalived config), with their text now:
    /// each that differs becomes one change (``ConfigFile/change(for:)``).
    public var files: [ManagedFile] = []

    /// - Parameter scope: the manifests in scope; nil = the manifests of `desired`.
    public init(
        desired: [DesiredState], live: LiveTable, owners: [VirtualService.ID: String] = [:],
        drains: [DrainState] = [], now: Double, scope: Set<String>? = nil, policy: PlanPolicy = PlanPolicy(),
        fingerprint: Bool = true
    ) {
        self.fingerprint = fingerprint
        self.desired = desired
        self.live = live
        self.owners = owners
        self.drains = drains
        self.now = now
        self.scope = scope ?? Set(desired.map(\.manifest))
        self.policy = policy
    }
}

/// The knobs that make a plan more or less willing to remove things.
public struct PlanPolicy: Hashable, Sendable {
    /// The largest share of a service's live real servers one plan may remove or drain without
    /// `allowRemoval` (0.5 = half; removing exactly half is allowed).
    public var maxRemovalFraction: Double
    /// Lifts the removal-fraction guard (`--allow-removal`).
    public var allowRemoval: Bool
    /// Allows deleting whole services (`--allow-delete`).
    public var allowDelete: Bool
    /// Take over live services that a manifest declares but nobody owns (`plan`/`apply
    /// --take-over`): they are claimed and planned like owned ones. Without it such a service is
    /// a guard violation.
    public var adoptForeign: Bool
    /// Seconds a removed real server may drain when its service declares no `drainTimeout`.
    public var defaultDrainTimeout: UInt32
    /// Weights that replace the declared ones before diffing (health checks, maintenance).
    public var weightOverrides: [ServiceRealServerKey: UInt32]
    /// Declared real servers that health takes out of the table (a failed check without
    /// `inhibitOnFailure`): the caller leaves them out of the desired state, and the planner
    /// deletes them at once, without a drain and outside the removal guard (keepalived removes a
    /// failed real server the same way). They come back as new real servers on recovery.
    public var healthRemovals: Set<ServiceRealServerKey> = []

    public init(
        maxRemovalFraction: Double = 0.5, allowRemoval: Bool = false, allowDelete: Bool = false,
        adoptForeign: Bool = false, defaultDrainTimeout: UInt32 = 30,
        weightOverrides: [ServiceRealServerKey: UInt32] = [:]
    ) {
        self.maxRemovalFraction = maxRemovalFraction
        self.allowRemoval = allowRemoval
        self.allowDelete = allowDelete
        self.adoptForeign = adoptForeign
        self.defaultDrainTimeout = defaultDrainTimeout
        self.weightOverrides = weightOverrides
    }
}

/// A real server being drained: weight 0 since `startedAt`, deleted once it has no connections
/// or `deadline` has passed. Persisted by the caller between plans.
public struct DrainState: Hashable, Sendable {
    public var service: VirtualService.ID
    public var realServer: RealServer.ID
    /// The manifest that removed it.
    public var manifest: String
    /// Seconds since the epoch.
    public var startedAt: Double
    /// Seconds since the epoch.
    public var deadline: Double

    public init(service: VirtualService.ID, realServer: RealServer.ID, manifest: String, startedAt: Double, deadline: Double) {
        self.service = service
        self.realServer = realServer
        self.manifest = manifest
        self.startedAt = startedAt
        self.deadline = deadline
    }

    public var key: ServiceRealServerKey { ServiceRealServerKey(service: service, realServer: realServer) }
}
