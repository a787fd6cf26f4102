public import LVSHealth
import LVSNotify
public import LVSModel
public import LVSPlan
public import LVSStore

/// Health and maintenance turned into planner input. The one translation every write path uses
/// (``Reconciler/plan(_:live:owners:scope:policy:fingerprint:overlay:)``): `apply`, `plan`,
/// `rollback`, `drift`, `drain`/`undrain` and the daemon see the same weights and the same
/// real servers, so no writer undoes another's health or maintenance decision.
///
/// ``HealthOverlay`` says what the kernel should hold right now; this type translates its result
/// into what the planner must see so that a health or maintenance change takes effect at once:
///
/// - A server the overlay gives weight 0 (maintenance; a `down` server of a service with
///   `inhibitOnFailure`, keepalived's `inhibit_on_failure`; a server taken out while the sorry
///   server serves under `inhibitOnFailure`) stays in the desired state with a
///   ``PlanPolicy/weightOverrides`` entry of 0: one `update-real-server` (weight → 0), neither a
///   drain nor a removal. Connections in progress continue; recovery is one weight update back.
/// - A server the overlay **leaves out** (a `down` server without `inhibitOnFailure`, keepalived's
///   default; a server taken out while the sorry server serves) leaves the desired state and is
///   listed in ``PlanPolicy/healthRemovals``: the planner deletes it at once (no drain, not
///   counted by the `--max-removal` guard) and adds it back when it recovers.
/// - A sorry server that the overlay adds (quorum lost) is added to the desired state; when
///   quorum returns it leaves the desired state and the planner drains it like any removed
///   real server.
///
/// Each override and removal records its cause (``Cause/health`` or ``Cause/maintenance``), so
/// the change is audited with origin `health` or `maintenance` by the daemon.
public enum ReconcileOverlay {
    /// Why a real server differs from the manifest.
    public enum Cause: String, Hashable, Sendable {
        case health
        case maintenance
    }

    public struct Result: Sendable {
        /// The desired states to plan against: the declared servers, minus those health removes,
        /// plus any sorry server.
        public var desired: [DesiredState]
        /// The weights in force instead of the declared ones.
        public var weightOverrides: [ServiceRealServerKey: UInt32]
        /// Declared real servers that health takes out of the table (not inhibited).
        public var removals: Set<ServiceRealServerKey>
        /// Why each override, removal or sorry server exists.
        public var causes: [ServiceRealServerKey: Cause]
        /// Quorum per service; feed it back as `previousQuorum`.
        public var quorum: [VirtualService.ID: Bool]
        /// Quorum transitions, with the manifest they belong to.
        public var quorumChanges: [(manifest: String, change: HealthOverlay.QuorumChange)]

        /// `policy` with this overlay's weight overrides and removals.
        public func applied(to policy: PlanPolicy) -> PlanPolicy {
            var p = policy
            p.weightOverrides = weightOverrides
            p.healthRemovals = removals
            return p
        }
    }

    /// The real servers in maintenance: flags on one server, and every server of a flagged service.
    public static func maintenanceKeys(_ flags: [MaintenanceFlag], in states: [DesiredState]) -> Set<ServiceRealServerKey> {
        var out: Set<ServiceRealServerKey> = []
        for flag in flags {
            if let rs = flag.realServer {
                out.insert(ServiceRealServerKey(service: flag.service, realServer: rs))
                continue
            }
            for state in states {
                for spec in state.services where spec.service.id == flag.service {
                    for rs in spec.realServers {
                        out.insert(ServiceRealServerKey(service: flag.service, realServer: rs.server.id))
                    }
                }
            }
        }
        return out
    }

    /// Health states from the store's records (`healthy` → up, else down).
    public static func healthStates(_ records: [HealthRecord]) -> [ServiceRealServerKey: HealthState] {
        var out: [ServiceRealServerKey: HealthState] = [:]
        for r in records {
            out[ServiceRealServerKey(service: r.service, realServer: r.realServer)] = r.healthy ? .up : .down
        }
        return out
    }

    /// The quorum of each service as the daemon last reported it (notification state
    /// `SERVICE tcp/10.0.0.1:80` → `QUORUM_LOST` / `QUORUM_GAINED`): the previous quorum of a
    /// pass that has none of its own (a restarted daemon, a CLI command), so that hysteresis
    /// gives the same answer in every writer.
    public static func reportedQuorum(_ states: [String: String]) -> [VirtualService.ID: Bool] {
        var out: [VirtualService.ID: Bool] = [:]
        for (subject, state) in states where subject.hasPrefix("SERVICE ") {
            guard let id = VirtualService.ID(String(subject.dropFirst("SERVICE ".count))) else { continue }
            if state == Notification.Kind.quorumLost.state { out[id] = false }
            if state == Notification.Kind.quorumGained.state { out[id] = true }
        }
        return out
    }

    /// The overlay from what the store holds: health records (written by the daemon), maintenance
    /// flags and the last reported quorum. What the CLI's write paths use.
    public static func stored(_ store: Store, desired: [DesiredState]) throws -> Result {
        from(try PlanningRecords.read(from: store, owners: [:], quorumFor: desired), desired: desired)
    }

    /// The overlay from the store's records, read from the store or from a state file
    /// (``DirectorState``): the one translation both use.
    public static func from(_ records: PlanningRecords, desired: [DesiredState]) -> Result {
        // Nothing to overlay (the common case of a CLI-only director): no health state, no
        // maintenance and no sorry server, so quorum alone changes nothing in the table. Skips a
        // walk over every real server of a large table.
        if records.health.isEmpty && records.maintenance.isEmpty
            && !desired.contains(where: { $0.services.contains { $0.sorryServer != nil } })
        {
            return Result(desired: desired, weightOverrides: [:], removals: [], causes: [:], quorum: [:], quorumChanges: [])
        }
        return apply(
            desired: desired, health: healthStates(records.health), maintenance: maintenanceKeys(records.maintenance, in: desired),
            previousQuorum: records.reportedQuorum)
    }

    public static func apply(
        desired: [DesiredState], health: [ServiceRealServerKey: HealthState], maintenance: Set<ServiceRealServerKey>,
        previousQuorum: [VirtualService.ID: Bool] = [:]
    ) -> Result {
        var result = Result(desired: [], weightOverrides: [:], removals: [], causes: [:], quorum: [:], quorumChanges: [])
        for state in desired {
            let overlaid = HealthOverlay.apply(
                desired: state, health: health, maintenance: maintenance, previousQuorum: previousQuorum)
            var planned = state
            // HealthOverlay keeps the services in order: index i of one is index i of the other.
            for (index, spec) in state.services.enumerated() {
                let after = overlaid.desired.services[index]
                var weights: [RealServer.ID: UInt32] = [:]
                for rs in after.realServers { weights[rs.server.id] = rs.server.weight }
                var declared: Set<RealServer.ID> = []
                var removed: Set<RealServer.ID> = []
                for rs in spec.realServers {
                    declared.insert(rs.server.id)
                    let key = ServiceRealServerKey(service: spec.service.id, realServer: rs.server.id)
                    guard let effective = weights[rs.server.id] else {
                        removed.insert(rs.server.id)
                        result.removals.insert(key)
                        result.causes[key] = .health
                        continue
                    }
                    guard effective != rs.server.weight else { continue }
                    result.weightOverrides[key] = effective
                    result.causes[key] = maintenance.contains(key) ? .maintenance : .health
                }
                if !removed.isEmpty {
                    planned.services[index].realServers.removeAll { removed.contains($0.server.id) }
                }
                // Servers the overlay adds (the sorry server while quorum is lost).
                for rs in after.realServers where !declared.contains(rs.server.id) {
                    planned.services[index].realServers.append(rs)
                    let key = ServiceRealServerKey(service: spec.service.id, realServer: rs.server.id)
                    result.causes[key] = .health
                }
            }
            result.desired.append(planned)
            for (id, q) in overlaid.quorum { result.quorum[id] = q }
            for c in overlaid.changes { result.quorumChanges.append((state.manifest, c)) }
        }
        return result
    }
}
