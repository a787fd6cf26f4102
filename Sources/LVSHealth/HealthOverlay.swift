import LVSModel

/// Applies health, drains and quorum to a desired state: what the kernel should hold right now.
///
/// Pure: no I/O, no clock. The rules follow keepalived's checker (`keepalived/check/ipwrapper.c`):
/// - A real server that is `down` gets weight 0 when its service has `inhibitOnFailure`
///   (keepalived `inhibit_on_failure`), otherwise it is left out of the table. Recovered
///   servers come back with their manifest weight. A server with no health entry is up.
/// - A server in `maintenance` (drained) gets weight 0 and does not count towards quorum.
/// - Quorum: the healthy weight is the sum of the manifest weights of up, undrained servers.
///   With `q = max(quorum ?? 1, 1)` and `h = hysteresis ?? 0`: a service starts with quorum
///   when the healthy weight ≥ q + h; it loses quorum when the weight is 0 or < q − h, and
///   regains it when the weight ≥ q + h (keepalived's `update_quorum_state`).
/// - While quorum is lost and the service has a `sorryServer`, the real servers are taken out
///   (weight 0 under `inhibitOnFailure`; drained servers stay at weight 0) and the sorry server is the only one serving; when
///   quorum returns the sorry server goes and the healthy servers come back. Without a sorry
///   server, losing quorum changes nothing in the table but is still reported.
public enum HealthOverlay {
    /// Quorum of one service changed (or started lost).
    public struct QuorumChange: Hashable, Sendable {
        public var service: VirtualService.ID
        public var serviceName: String
        /// true = quorum gained, false = lost.
        public var hasQuorum: Bool
        /// The healthy weight that decided it.
        public var healthyWeight: UInt64
        /// The threshold it was compared with (q + h to gain, q − h to lose).
        public var threshold: Int64
        /// True when there was no previous state: the service starts without quorum.
        public var initial: Bool
    }

    public struct Result: Hashable, Sendable {
        /// The desired state to plan against.
        public var desired: DesiredState
        /// Quorum per service after this evaluation; feed it back as `previousQuorum`.
        public var quorum: [VirtualService.ID: Bool]
        /// Quorum transitions, in service order.
        public var changes: [QuorumChange]
    }

    public static func apply(
        desired: DesiredState, health: [ServiceRealServerKey: HealthState], maintenance: Set<ServiceRealServerKey> = [],
        previousQuorum: [VirtualService.ID: Bool] = [:]
    ) -> Result {
        var out = desired
        var quorum: [VirtualService.ID: Bool] = [:]
        var changes: [QuorumChange] = []
        for (index, spec) in desired.services.enumerated() {
            let id = spec.service.id
            var healthy: UInt64 = 0
            var kept: [RealServerSpec] = []
            for rs in spec.realServers {
                let key = ServiceRealServerKey(service: id, realServer: rs.server.id)
                if maintenance.contains(key) {
                    var drained = rs
                    drained.server.weight = 0
                    kept.append(drained)
                } else if health[key] == .down {
                    if spec.inhibitOnFailure {
                        var inhibited = rs
                        inhibited.server.weight = 0
                        kept.append(inhibited)
                    }
                } else {
                    healthy += UInt64(rs.server.weight)
                    kept.append(rs)
                }
            }

            let q = Int64(max(spec.quorum ?? 1, 1))
            let h = Int64(spec.hysteresis ?? 0)
            let weight = Int64(clamping: healthy)
            let up: Bool
            if let previous = previousQuorum[id] {
                if !previous && weight >= q + h {
                    up = true
                    changes.append(QuorumChange(
                        service: id, serviceName: spec.name, hasQuorum: true, healthyWeight: healthy,
                        threshold: q + h, initial: false))
                } else if previous && (weight == 0 || weight < q - h) {
                    up = false
                    changes.append(QuorumChange(
                        service: id, serviceName: spec.name, hasQuorum: false, healthyWeight: healthy,
                        threshold: q - h, initial: false))
                } else {
                    up = previous
                }
            } else {
                up = weight >= q + h
                if !up {
                    changes.append(QuorumChange(
                        service: id, serviceName: spec.name, hasQuorum: false, healthyWeight: healthy,
                        threshold: q + h, initial: true))
                }
            }
            quorum[id] = up

            if !up, let sorry = spec.sorryServer {
                // Taken out, except at weight 0 under inhibitOnFailure or while drained.
                let servers0 = kept.filter { rs in
                    rs.server.id != sorry.id
                        && (spec.inhibitOnFailure
                            || maintenance.contains(ServiceRealServerKey(service: id, realServer: rs.server.id)))
                }
                var servers = servers0.map { rs in
                    var r = rs
                    r.server.weight = 0
                    return r
                }
                servers.append(RealServerSpec(server: sorry))
                kept = servers
            }
            out.services[index].realServers = kept
        }
        return Result(desired: out, quorum: quorum, changes: changes)
    }
}
