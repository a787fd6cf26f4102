public import Foundation
public import LVSModel
public import LVSPlan
public import LVSStore

/// What the planner needs from a director besides the manifests: the live table and the store's
/// records that change a plan (ownership, drains in progress, health, maintenance, the last
/// reported quorum).
///
/// What must stay true: every plan, online (read from the kernel and the store) or offline
/// (`lvsctl plan --against`, from a state file `lvsctl export -o state` wrote), is computed by
/// ``Reconciler/plan(_:against:now:scope:policy:fingerprint:overlay:)`` from one of these. A
/// store record that starts to change plans belongs here, in the state file, and in its schema
/// (`Manifests/lvsctl-directorState-v1.schema.json`), or offline plans silently differ.
public struct DirectorState: Sendable {
    public var live: LiveTable
    public var records: PlanningRecords

    public init(live: LiveTable, records: PlanningRecords) {
        self.live = live
        self.records = records
    }
}

/// The store's part of a ``DirectorState``.
public struct PlanningRecords: Sendable, Equatable {
    /// Which manifest owns each service.
    public var owners: [VirtualService.ID: String]
    public var drains: [DrainRecord]
    public var health: [HealthRecord]
    public var maintenance: [MaintenanceFlag]
    /// Quorum per service as the daemon last reported it (hysteresis starts from it).
    public var reportedQuorum: [VirtualService.ID: Bool]

    public init(
        owners: [VirtualService.ID: String] = [:], drains: [DrainRecord] = [], health: [HealthRecord] = [],
        maintenance: [MaintenanceFlag] = [], reportedQuorum: [VirtualService.ID: Bool] = [:]
    ) {
        self.owners = owners
        self.drains = drains
        self.health = health
        self.maintenance = maintenance
        self.reportedQuorum = reportedQuorum
    }

    /// Reads the records from `store`. `owners`: already read by the caller (not read again).
    /// `overlay: false` reads only ownership and drains (a caller that brings its own overlay,
    /// like the daemon, does not need health and maintenance read again on every pass).
    /// `quorumFor`: the desired states to be planned; the reported quorum (one row per
    /// notification subject, many on a large table) is read only when it can matter (health
    /// or maintenance recorded, or a sorry server declared). Nil reads it always (the state file).
    public static func read(
        from store: Store, owners known: [VirtualService.ID: String]? = nil, overlay: Bool = true,
        quorumFor desired: [DesiredState]? = nil
    ) throws -> PlanningRecords {
        var r = PlanningRecords()
        r.owners = try known ?? store.owners()
        r.drains = try store.drains()
        guard overlay else { return r }
        r.health = try store.healthRecords()
        r.maintenance = try store.maintenanceFlags()
        let needsQuorum = desired.map { d in
            !r.health.isEmpty || !r.maintenance.isEmpty || d.contains { $0.services.contains { $0.sorryServer != nil } }
        } ?? true
        if needsQuorum { r.reportedQuorum = ReconcileOverlay.reportedQuorum(try store.notifyStates()) }
        return r
    }

    /// The drains as the planner takes them.
    var drainStates: [DrainState] {
        drains.map {
            DrainState(
                service: $0.service, realServer: $0.realServer, manifest: $0.manifest,
                startedAt: $0.startedAt.timeIntervalSince1970,
                deadline: $0.deadline?.timeIntervalSince1970 ?? .infinity)
        }
    }
}
