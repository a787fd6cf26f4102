public import LVSModel

/// The role of every instance and sync group as keepalived last reported it on the notify FIFO,
/// and the transitions worth an audit row, a metric update and one notification each.
///
/// What must stay true: a transition is a change of role (MASTER, BACKUP, FAULT, STOP) of one
/// instance or group; priority reports (MASTER_PRIORITY, …) and a repeated role are not. After
/// the FIFO reaches EOF (every keepalived reload closes it) silence proves nothing: keepalived
/// does not re-report MASTER instances on reload. The daemon then asks keepalived for its state
/// (``KeepalivedStateDump``) and passes it to `learn(_:syncGroups:)`, which compares it with the
/// roles known before, so a reload that changed nothing is no transition and one that did is
/// reported once. `forgetAll()` makes every role unknown instead (then `record` reports the first
/// role seen for each as a transition from nil). A daemon that restarts seeds the roles it
/// stored (`init(instances:groups:priorities:)`), so a role it already reported is not reported
/// again.
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

    /// Roles known before (what the store kept from the previous run).
    public init(
        instances: [String: VRRPNotification.State], groups: [String: VRRPNotification.State],
        priorities: [String: Int] = [:]
    ) {
        self.instances = instances
        self.groups = groups
        self.priorities = priorities
    }

    /// The role of a sync group from the roles of its instances, as keepalived keeps a group
    /// together: FAULT if one is in FAULT, MASTER if all are MASTER, STOP if all stopped,
    /// BACKUP otherwise; nil while one of them is unknown.
    public static func groupState(_ members: [VRRPNotification.State?]) -> VRRPNotification.State? {
        guard !members.isEmpty else { return nil }
        var known: [VRRPNotification.State] = []
        for m in members {
            guard let m else { return nil }
            known.append(m)
        }
        if known.contains(.fault) { return .fault }
        if known.allSatisfy({ $0 == .master }) { return .master }
        if known.allSatisfy({ $0 == .stop }) { return .stop }
        return .backup
    }

    /// Takes keepalived's state dump (instances only) and derives the sync groups' roles from
    /// their instances; returns the transitions, instances first, then groups (keepalived's own
    /// order when a group becomes MASTER). States that are not roles (INIT, …) are skipped.
    public mutating func learn(
        _ dump: [KeepalivedStateDump.Instance], syncGroups: [VRRPSyncGroup]
    ) -> [Transition] {
        var out: [Transition] = []
        for i in dump {
            if let t = record(VRRPNotification(kind: .instance, name: i.name, state: i.state, priority: i.priority)) {
                out.append(t)
            }
        }
        for g in syncGroups {
            guard let state = Self.groupState(g.instances.map { instances[$0] }) else { continue }
            if let t = record(VRRPNotification(kind: .group, name: g.name, state: state, priority: 0)) { out.append(t) }
        }
        return out
    }

    /// Every known instance and group goes to STOP (keepalived is not running: killed, or
    /// never started); returns those transitions.
    public mutating func stopAll() -> [Transition] {
        var out: [Transition] = []
        for name in instances.keys.sorted() {
            if let t = record(VRRPNotification(kind: .instance, name: name, state: .stop, priority: priorities[name] ?? 0)) {
                out.append(t)
            }
        }
        for name in groups.keys.sorted() {
            if let t = record(VRRPNotification(kind: .group, name: name, state: .stop, priority: 0)) { out.append(t) }
        }
        return out
    }

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
