/// The role of every instance and sync group as keepalived last reported it on the notify FIFO,
/// and the transitions worth an audit row, a metric update and one notification each.
///
/// What must stay true: a transition is a change of role (MASTER, BACKUP, FAULT, STOP) of one
/// instance or group; priority reports (MASTER_PRIORITY, …) and a repeated role are not. After
/// the FIFO reaches EOF (every keepalived reload closes it) the roles are unknown: `forgetAll()`,
/// then learn them again (keepalived does not re-report MASTER instances on reload), and
/// `record` reports the first role seen for each as a transition from nil.
public struct VRRPRoles: Hashable, Sendable {
    /// One change of role.
    public struct Transition: Hashable, Sendable, CustomStringConvertible {
        public var kind: VRRPNotification.Kind
        public var name: String
        /// nil: not known before (start, or after `forgetAll`).
        public var from: VRRPNotification.State?
        public var to: VRRPNotification.State
        public var priority: Int

        public init(kind: VRRPNotification.Kind, name: String, from: VRRPNotification.State?, to: VRRPNotification.State, priority: Int) {
            self.kind = kind
            self.name = name
            self.from = from
            self.to = to
            self.priority = priority
        }

        /// `GROUP G1 BACKUP → MASTER`, the seed's notify.sh words.
        public var description: String { "\(kind.rawValue) \(name) \(from.map { "\($0)" } ?? "?") → \(to)" }
    }

    public private(set) var instances: [String: VRRPNotification.State] = [:]
    public private(set) var groups: [String: VRRPNotification.State] = [:]
    /// The last priority each instance reported (role and priority lines both carry it).
    public private(set) var priorities: [String: Int] = [:]

    public init() {}

    /// Takes one line's notification; returns the transition it makes, if any.
    public mutating func record(_ n: VRRPNotification) -> Transition? {
        if n.kind == .instance { priorities[n.name] = n.priority }
        guard n.state.isTransition else { return nil }
        let previous: VRRPNotification.State?
        switch n.kind {
        case .instance:
            previous = instances.updateValue(n.state, forKey: n.name)
        case .group:
            previous = groups.updateValue(n.state, forKey: n.name)
        }
        guard previous != n.state else { return nil }
        return Transition(kind: n.kind, name: n.name, from: previous, to: n.state, priority: n.priority)
    }

    /// Every role becomes unknown (the FIFO reached EOF).
    public mutating func forgetAll() {
        instances.removeAll()
        groups.removeAll()
    }
}
