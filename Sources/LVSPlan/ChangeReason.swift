import LVSModel

extension Change {
    /// Why a change is planned: a typed value the planner chooses; ``Change/reasonText`` writes the
    /// sentence. Machine formats carry the ``Code`` (`weightChanged` is `attributesChanged` with
    /// a `weight` field) and the values, never the sentence alone.
    ///
    /// Display only, like the sentence before it: the applier decides nothing from it.
    public enum Reason: Hashable, Sendable {
        /// In the manifest, not in the kernel.
        case newService
        case newRealServer
        /// A real server whose port changed: deleted and added again (the kernel cannot edit an
        /// identity). The add and the delete carry the same reason.
        case portChanged(from: UInt16, to: UInt16)
        /// Editable attributes differ: one SET.
        case attributesChanged([FieldDifference])
        /// A draining real server is back in the manifest: its drain ends with this edit.
        case drainCancelled([FieldDifference])
        /// A service (with its real servers) or a sync daemon the manifest no longer declares.
        case removedFromManifest
        /// A real server no longer declared in a UDP service: deleted without draining.
        case removedWithoutDrainUDP
        /// A real server no longer declared, with a drain timeout of 0.
        case removedWithoutDrainTimeout
        /// A real server no longer declared, with no connections: nothing to drain.
        case removedIdle
        /// A declared real server whose health check is down, in a service without
        /// `inhibitOnFailure`: removed until it recovers (keepalived's behaviour).
        case healthCheckDown
        /// A real server no longer declared: weight 0 until its connections end or `timeout` passes.
        case drainStarted(timeout: UInt32)
        /// A draining real server has no connections left: deleted.
        case drainFinished
        /// A draining real server's drain timeout passed with connections left: deleted.
        indirect case drainTimedOut(afterSeconds: Double, connectionsLeft: UInt64)
        /// A draining real server's weight was raised outside lvsctl: back to 0.
        case drainResumed
        /// A declared sync daemon is not running.
        case syncDaemonNotRunning
        /// A running sync daemon differs from the declared one: stopped and started again.
        case syncDaemonChanged([FieldDifference])
        /// A rendered file (the keepalived config) does not exist.
        case configFileMissing
        /// A rendered file differs from the render: what differs, block by block
        /// (``ConfigFile/differences(live:desired:)``).
        case configFileChanged([FieldDifference])

        /// The stable name machine formats carry.
        public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
            case newService, newRealServer, portChanged, attributesChanged, drainCancelled, removedFromManifest
            case removedWithoutDrainUDP, removedWithoutDrainTimeout, removedIdle, healthCheckDown, drainStarted, drainFinished
            case drainTimedOut, drainResumed, syncDaemonNotRunning, syncDaemonChanged, configFileMissing, configFileChanged
        }

        public var code: Code {
            switch self {
            case .newService: .newService
            case .newRealServer: .newRealServer
            case .portChanged: .portChanged
            case .attributesChanged: .attributesChanged
            case .drainCancelled: .drainCancelled
            case .removedFromManifest: .removedFromManifest
            case .removedWithoutDrainUDP: .removedWithoutDrainUDP
            case .removedWithoutDrainTimeout: .removedWithoutDrainTimeout
            case .removedIdle: .removedIdle
            case .healthCheckDown: .healthCheckDown
            case .drainStarted: .drainStarted
            case .drainFinished: .drainFinished
            case .drainTimedOut: .drainTimedOut
            case .drainResumed: .drainResumed
            case .syncDaemonNotRunning: .syncDaemonNotRunning
            case .syncDaemonChanged: .syncDaemonChanged
            case .configFileMissing: .configFileMissing
            case .configFileChanged: .configFileChanged
            }
        }

        /// The attributes that differ, for the reasons that have them.
        public var fields: [FieldDifference] {
            switch self {
            case .attributesChanged(let f), .drainCancelled(let f), .syncDaemonChanged(let f), .configFileChanged(let f): f
            default: []
            }
        }
    }

    /// The sentence for people: `weight 3 → 5`, `not in manifest (with its 2 real servers)`.
    /// The one place a reason is phrased; it reads the change's own values where the sentence
    /// names them (the weight a drain starts from, the real servers a deletion takes along).
    public var reasonText: String {
        switch reason {
        case .newService: return "new service"
        case .newRealServer: return "new real server"
        case .portChanged(let from, let to):
            return action == .deleteRealServer ? "port changed to \(to): delete and re-add" : "port changed from \(from): delete and re-add"
        case .attributesChanged(let f): return Self.text(f)
        case .drainCancelled(let f): return "back in manifest, drain cancelled: " + Self.text(f)
        case .removedFromManifest:
            if action == .deleteService { return "not in manifest (with its \(before?.realServers?.count ?? 0) real servers)" }
            return "not in manifest"
        case .removedWithoutDrainUDP: return "not in manifest (UDP: deleted without draining)"
        case .removedWithoutDrainTimeout: return "not in manifest (drain timeout 0)"
        case .removedIdle: return "not in manifest (no connections: deleted without draining)"
        case .healthCheckDown: return "health check down (inhibitOnFailure off): removed until it recovers"
        case .drainStarted(let timeout):
            return "not in manifest: drain (weight \(before?.realServer?.weight ?? 0) → 0, up to \(timeout) s)"
        case .drainFinished: return "drained: no connections left"
        case .drainTimedOut(let seconds, let left):
            return "drain timeout \(Self.seconds(seconds)) s expired (\(left) connections left)"
        case .drainResumed:
            return "still draining: weight \(before?.realServer?.weight ?? 0) → 0 (weight was raised outside lvsctl)"
        case .syncDaemonNotRunning: return "not running"
        case .syncDaemonChanged(let f):
            return action == .stopSyncDaemon ? "\(Self.text(f)): stop and restart" : "\(Self.text(f)): restart"
        case .configFileMissing: return "no such file: rendered from the manifest; keepalived is reloaded"
        case .configFileChanged(let f):
            if f.isEmpty { return "differs from the render in whitespace or order; rewritten, keepalived is reloaded" }
            return f.map(Self.fileText).joined(separator: "; ") + "; keepalived is reloaded"
        }
    }

    /// `vrrp_instance VI_1 priority 150 → 120`, `vrrp_instance VI_2: added`,
    /// `global_defs: + max_auto_priority`.
    static func fileText(_ d: FieldDifference) -> String {
        if d.expected == "added" && d.live == "absent" { return "\(d.field): added" }
        if d.expected == "absent" && d.live == "present" { return "\(d.field): removed" }
        if d.live.isEmpty { return "\(d.field): + \(d.expected)" }
        if d.expected.isEmpty { return "\(d.field): - \(d.live)" }
        return "\(d.field) \(d.live) → \(d.expected)"
    }

    /// `weight 100 → 50, forwarding dr → nat`.
    static func text(_ fields: [FieldDifference]) -> String {
        fields.map(\.text).joined(separator: ", ")
    }

    /// `30`, or `2.5` for a fraction.
    static func seconds(_ s: Double) -> String {
        let r = s.rounded()
        if abs(s - r) < 0.001, abs(r) < 1e15 { return "\(Int(r))" }
        return "\((s * 10).rounded() / 10)"
    }
}

extension Change.Reason: Codable {
    private enum CodingKeys: String, CodingKey {
        case code, fields, fromPort, toPort, drainTimeout, afterSeconds, connectionsLeft
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let fields = { try c.decodeIfPresent([FieldDifference].self, forKey: .fields) ?? [] }
        switch try c.decode(Code.self, forKey: .code) {
        case .newService: self = .newService
        case .newRealServer: self = .newRealServer
        case .portChanged:
            self = .portChanged(from: try c.decode(UInt16.self, forKey: .fromPort), to: try c.decode(UInt16.self, forKey: .toPort))
        case .attributesChanged: self = .attributesChanged(try fields())
        case .drainCancelled: self = .drainCancelled(try fields())
        case .removedFromManifest: self = .removedFromManifest
        case .removedWithoutDrainUDP: self = .removedWithoutDrainUDP
        case .removedWithoutDrainTimeout: self = .removedWithoutDrainTimeout
        case .removedIdle: self = .removedIdle
        case .healthCheckDown: self = .healthCheckDown
        case .drainStarted: self = .drainStarted(timeout: try c.decode(UInt32.self, forKey: .drainTimeout))
        case .drainFinished: self = .drainFinished
        case .drainTimedOut:
            self = .drainTimedOut(
                afterSeconds: try c.decode(Double.self, forKey: .afterSeconds),
                connectionsLeft: try c.decode(UInt64.self, forKey: .connectionsLeft))
        case .drainResumed: self = .drainResumed
        case .syncDaemonNotRunning: self = .syncDaemonNotRunning
        case .syncDaemonChanged: self = .syncDaemonChanged(try fields())
        case .configFileMissing: self = .configFileMissing
        case .configFileChanged: self = .configFileChanged(try fields())
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        switch self {
        case .attributesChanged(let f), .drainCancelled(let f), .syncDaemonChanged(let f), .configFileChanged(let f):
            try c.encode(f, forKey: .fields)
        case .portChanged(let from, let to):
            try c.encode(from, forKey: .fromPort)
            try c.encode(to, forKey: .toPort)
        case .drainStarted(let timeout):
            try c.encode(timeout, forKey: .drainTimeout)
        case .drainTimedOut(let seconds, let left):
            try c.encode(seconds, forKey: .afterSeconds)
            try c.encode(left, forKey: .connectionsLeft)
        default:
            break
        }
    }
}

extension FieldDifference: Codable {
    private enum CodingKeys: String, CodingKey {
        case field, live, desired
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            field: try c.decode(String.self, forKey: .field), expected: try c.decode(String.self, forKey: .desired),
            live: try c.decode(String.self, forKey: .live))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(field, forKey: .field)
        try c.encode(live, forKey: .live)
        try c.encode(expected, forKey: .desired)
    }
}
