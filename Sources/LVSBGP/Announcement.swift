public import LVSModel

/// What one announced service looks like to the announcement decision after a pass.
public struct ServiceReadiness: Hashable, Sendable {
    public var name: String
    public var address: IPAddress
    /// The pass found no drift for this service: it is in the kernel as declared.
    public var converged: Bool
    /// Real servers passing their health checks (every real server when the service has none).
    public var healthy: Int
    public var total: Int

    public init(name: String, address: IPAddress, converged: Bool, healthy: Int, total: Int) {
        self.name = name
        self.address = address
        self.converged = converged
        self.healthy = healthy
        self.total = total
    }
}

/// The director as a whole, for the announcement decision.
public enum DirectorCondition: Hashable, Sendable {
    /// Running, and at least one pass converged since start.
    case serving
    /// Started, but no pass has converged yet: never announce into an empty pool.
    case starting
    /// `lvsctl maintenance on`.
    case maintenance
    /// `lvsctl run` is stopping and withdraws on stop.
    case stopping
}

/// Why an address is, or is not, announced: the audit row's and the status line's reason.
public enum AnnounceVerdict: Hashable, Sendable, CustomStringConvertible {
    case ready
    case directorStarting
    case directorInMaintenance
    case directorStopping
    case notConverged(service: String)
    /// The address is not on the director (``VIPPlacement``): a route would draw traffic IPVS
    /// never receives.
    case addressNotLocal
    case belowThreshold(service: String, healthy: Int, total: Int, needed: Int)

    public var announces: Bool { self == .ready }

    public var description: String {
        switch self {
        case .ready: "ready"
        case .directorStarting: "no converged pass since start"
        case .directorInMaintenance: "director in maintenance"
        case .directorStopping: "lvsctl run stopping"
        case .notConverged(let s): "service \(s) is not converged"
        case .addressNotLocal: "the address is not on this director (add it, or declare bgp.vipDevice)"
        case .belowThreshold(let s, let h, let t, let n): "service \(s) has \(h) of \(t) real servers healthy, needs \(n)"
        }
    }
}

/// The one home of "when is a VIP announced" (issue #16): the daemon, `status` and the tests
/// all ask here.
public enum Announcement {
    /// Healthy real servers a service needs for its address to be announced: the threshold's
    /// share of its servers, rounded up, and never fewer than one.
    public static func needed(total: Int, threshold: Double) -> Int {
        max(1, Int((Double(total) * threshold).rounded(.up)))
    }

    /// Each announced address's verdict. An address is ready only when every service on it is
    /// (a VIP serves several ports; announcing it sends all of them here).
    /// - Parameter notLocal: announced addresses the director does not hold (never announced).
    public static func verdicts(
        services: [ServiceReadiness], director: DirectorCondition, threshold: Double, notLocal: Set<IPAddress> = []
    ) -> [IPAddress: AnnounceVerdict] {
        var out: [IPAddress: AnnounceVerdict] = [:]
        for s in services.sorted(by: { $0.name < $1.name }) {
            let verdict: AnnounceVerdict
            switch director {
            case .starting: verdict = .directorStarting
            case .maintenance: verdict = .directorInMaintenance
            case .stopping: verdict = .directorStopping
            case .serving:
                let need = needed(total: s.total, threshold: threshold)
                if notLocal.contains(s.address) {
                    verdict = .addressNotLocal
                } else if !s.converged {
                    verdict = .notConverged(service: s.name)
                } else if s.healthy < need {
                    verdict = .belowThreshold(service: s.name, healthy: s.healthy, total: s.total, needed: need)
                } else {
                    verdict = .ready
                }
            }
            // The first reason not to announce wins; `ready` never overrides one.
            if let existing = out[s.address], !existing.announces { continue }
            out[s.address] = verdict
        }
        return out
    }
}

/// One address's route over time: announced, draining until a deadline, or withdrawn.
public enum RouteState: Hashable, Sendable {
    case withdrawn
    case announced
    /// Announced with the drain MED until `until` (seconds on the caller's clock), then withdrawn.
    case draining(until: Double)

    public var isAnnounced: Bool { self != .withdrawn }

    public var name: String {
        switch self {
        case .withdrawn: "withdrawn"
        case .announced: "announced"
        case .draining: "draining"
        }
    }
}

/// A route state change, for the audit, the notifier and the metrics.
public struct RouteTransition: Hashable, Sendable {
    public var address: IPAddress
    public var from: RouteState
    public var to: RouteState
    public var verdict: AnnounceVerdict

    public init(address: IPAddress, from: RouteState, to: RouteState, verdict: AnnounceVerdict) {
        self.address = address
        self.from = from
        self.to = to
        self.verdict = verdict
    }
}

/// Drain before withdraw, as a pure step function of the verdicts and the clock.
public struct Announcer: Hashable, Sendable {
    public private(set) var states: [IPAddress: RouteState] = [:]

    public init(states: [IPAddress: RouteState] = [:]) { self.states = states }

    /// Moves every address one step: a ready address is announced at once (from any state); an
    /// address that is not ready drains for `drainSeconds`, then is withdrawn; an address no
    /// longer declared drains the same way. Returns the transitions made.
    public mutating func step(
        verdicts: [IPAddress: AnnounceVerdict], now: Double, drainSeconds: Double
    ) -> [RouteTransition] {
        var changes: [RouteTransition] = []
        let addresses = Set(states.keys).union(verdicts.keys).sorted()
        for a in addresses {
            let current = states[a] ?? .withdrawn
            let verdict = verdicts[a] ?? .directorStopping
            let next: RouteState
            if verdict.announces {
                next = .announced
            } else {
                switch current {
                case .withdrawn: next = .withdrawn
                case .announced: next = drainSeconds > 0 ? .draining(until: now + drainSeconds) : .withdrawn
                case .draining(let until): next = now >= until ? .withdrawn : current
                }
            }
            if next != current { changes.append(RouteTransition(address: a, from: current, to: next, verdict: verdict)) }
            states[a] = next == .withdrawn && verdicts[a] == nil ? nil : next
        }
        return changes
    }

    /// The routes BIRD should carry now.
    public var routes: [VIPRoute] {
        states.compactMap { a, s in
            switch s {
            case .withdrawn: nil
            case .announced: VIPRoute(address: a, preference: .normal)
            case .draining: VIPRoute(address: a, preference: .draining)
            }
        }.sorted()
    }

    /// The earliest drain deadline, when the caller must step again.
    public var nextDeadline: Double? {
        states.values.compactMap { if case .draining(let u) = $0 { u } else { nil } }.min()
    }
}
