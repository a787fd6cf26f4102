public import LVSHealth
public import LVSModel
public import LVSPlan
public import LVSStore

/// Health and maintenance turned into planner input: weight overrides instead of removals.
///
/// ``HealthOverlay`` says what the kernel should hold right now; this type translates its result
/// into what the planner must see so that a health or maintenance change takes effect at once:
///
/// - Every declared real server stays in the desired state. A server that the overlay gives
///   weight 0 **or leaves out** (a `down` server of a service without `inhibitOnFailure`, a
///   server taken out while the sorry server serves) gets a ``PlanPolicy/weightOverrides``
///   entry of 0. The planner turns that into one `update-real-server` (weight → 0), which is
///   neither a drain (no 30 s drain timeout, no drain record) nor a removal (the
///   `--max-removal` guard does not apply). lvsctl therefore always *inhibits* failed real
///   servers rather than deleting them, whatever `inhibitOnFailure` says; existing connections
///   are kept until they end, new ones go elsewhere, and recovery is one weight update back.
/// - A sorry server that the overlay adds (quorum lost) is added to the desired state; when
///   quorum returns it leaves the desired state and the planner drains it like any removed
///   real server.
///
/// Each override records its cause (``Cause/health`` or ``Cause/maintenance``), so the daemon
/// can audit the change with origin `health` or `maintenance`.
public enum DaemonOverlay {
    /// Why a weight differs from the manifest.
    public enum Cause: String, Hashable, Sendable {
        case health
        case maintenance
    }

    public struct Result: Sendable {
        /// The desired states to plan against (the declared servers plus any sorry server).
        public var desired: [DesiredState]
        /// The weights in force instead of the declared ones.
        public var weightOverrides: [ServiceRealServerKey: UInt32]
        /// Why each override exists.
        public var causes: [ServiceRealServerKey: Cause]
        /// Quorum per service; feed it back as `previousQuorum`.
        public var quorum: [VirtualService.ID: Bool]
        /// Quorum transitions, with the manifest they belong to.
        public var quorumChanges: [(manifest: String, change: HealthOverlay.QuorumChange)]
    }

    /// The real servers in maintenance: flags on one server, and every server of a flagged service.
    public static func maintenanceKeys(_ flags: [MaintenanceFlag], in states: [DesiredState]) -> Set<HealthKey> {
        var out: Set<HealthKey> = []
        for flag in flags {
            if let rs = flag.realServer {
                out.insert(HealthKey(service: flag.service, realServer: rs))
                continue
            }
            for state in states {
                for spec in state.services where spec.service.id == flag.service {
                    for rs in spec.realServers {
                        out.insert(HealthKey(service: flag.service, realServer: rs.server.id))
                    }
                }
            }
        }
        return out
    }

    /// Health states from the store's records (`healthy` → up, else down).
    public static func healthStates(_ records: [HealthRecord]) -> [HealthKey: HealthState] {
        var out: [HealthKey: HealthState] = [:]
        for r in records {
            out[HealthKey(service: r.service, realServer: r.realServer)] = r.healthy ? .up : .down
        }
        return out
    }

    public static func apply(
        desired: [DesiredState], health: [HealthKey: HealthState], maintenance: Set<HealthKey>,
        previousQuorum: [VirtualService.ID: Bool] = [:]
    ) -> Result {
        var result = Result(desired: [], weightOverrides: [:], causes: [:], quorum: [:], quorumChanges: [])
        for state in desired {
            let overlaid = HealthOverlay.apply(
                desired: state, health: health, maintenance: maintenance, previousQuorum: previousQuorum)
            var planned = state
            for (index, spec) in state.services.enumerated() {
                guard let after = overlaid.desired.services.first(where: { $0.service.id == spec.service.id }) else {
                    continue
                }
                var weights: [RealServer.ID: UInt32] = [:]
                for rs in after.realServers { weights[rs.server.id] = rs.server.weight }
                var declared: Set<RealServer.ID> = []
                for rs in spec.realServers {
                    declared.insert(rs.server.id)
                    let effective = weights[rs.server.id] ?? 0
                    guard effective != rs.server.weight else { continue }
                    let key = ServiceRealServerKey(service: spec.service.id, realServer: rs.server.id)
                    result.weightOverrides[key] = effective
                    let hk = HealthKey(service: spec.service.id, realServer: rs.server.id)
                    result.causes[key] = maintenance.contains(hk) ? .maintenance : .health
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
