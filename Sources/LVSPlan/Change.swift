public import LVSModel

/// One planned change: exactly one kernel write, or (``Action/isFileWrite``) one write of a file
/// lvsctl renders (the keepalived config), which the reconciler makes after the kernel writes.
///
/// `before` and `after` carry full objects so that the applier can send a full replace on every
/// SET and undo a change without reading the kernel again. `reason` is for display only: nothing
/// may decide anything from it.
///
/// Its JSON (``encode(to:)``) is part of the plan format and of saved plans: explicit keys, the
/// reason as a code with its values.
public struct Change: Hashable, Sendable, Codable {
    /// What the change does.
    public enum Action: String, Hashable, Sendable, Codable, CaseIterable {
        case setTimeouts
        /// Writes `/proc/sys/net/ipv4/vs` values (`settings.sloppyTcp`, …).
        case setSysctls
        case startSyncDaemon
        case createService
        case updateService
        case addRealServer
        case updateRealServer
        case drainRealServer
        case deleteRealServer
        case deleteService
        case stopSyncDaemon
        /// Writes the rendered keepalived config where there is none (`--keepalived-config`).
        case createKeepalivedConfig
        /// Rewrites a keepalived config that differs from the render (a manifest change or a
        /// hand edit), then reloads keepalived.
        case updateKeepalivedConfig

        /// Whether the change writes a file, not the kernel.
        public var isFileWrite: Bool { self == .createKeepalivedConfig || self == .updateKeepalivedConfig }

        /// `+` for additions, `~` for in-place edits (a drain is an edit: weight 0), `-` for removals.
        public var symbol: Character {
            switch self {
            case .createService, .addRealServer, .startSyncDaemon, .createKeepalivedConfig: "+"
            case .updateService, .updateRealServer, .drainRealServer, .setTimeouts, .setSysctls, .updateKeepalivedConfig: "~"
            case .deleteService, .deleteRealServer, .stopSyncDaemon: "-"
            }
        }
    }

    /// A full kernel object before or after the change.
    ///
    /// Every case but the real server is stored out of line: a service (or a sync daemon) is
    /// larger than a real server, and inline it made every change (a plan of a large table has
    /// one per real server) carry room for two of them.
    public enum Value: Hashable, Sendable {
        indirect case service(VirtualService)
        /// A service with its real servers: the `before` of a `deleteService`, so that an undo can
        /// re-create both.
        indirect case entry(IPVSTable.Entry)
        case realServer(RealServer)
        case timeouts(Timeouts)
        indirect case syncDaemon(SyncDaemon)
        /// The declared sysctls (`after`) or their live values before (`before`), same fields.
        indirect case sysctls(IPVSSysctls)
        /// A rendered file: its text in `after`, the digest of the text it replaces in `before`.
        indirect case file(ConfigFile)
    }

    // The stored properties are declared in the order that packs them tightly (a plan of a
    // large table holds one change per real server).

    /// The manifest the change comes from (the owner, for deletions).
    public var manifest: String
    /// Why: a typed value; ``reasonText`` is the sentence (`weight 100 → 50`). Display only.
    public var reason: Reason
    /// The service changed; nil for timeouts and sync daemons.
    public var service: VirtualService.ID?
    public var action: Action
    /// The real server changed, for real-server actions.
    public var realServer: RealServer.ID?
    public var before: Value? {
        get { values.before }
        set { values = Values(before: newValue, after: values.after) }
    }
    public var after: Value? {
        get { values.after }
        set { values = Values(before: values.before, after: newValue) }
    }

    /// `before` and `after` in one field: most changes have only one of them (an addition, a
    /// deletion), so room for two was mostly empty; an edit keeps its pair out of line.
    private enum Values: Hashable, Sendable {
        case none
        case before(Value)
        case after(Value)
        indirect case both(Value, Value)

        init(before: Value?, after: Value?) {
            switch (before, after) {
            case (nil, nil): self = .none
            case (let b?, nil): self = .before(b)
            case (nil, let a?): self = .after(a)
            case (let b?, let a?): self = .both(b, a)
            }
        }

        var before: Value? {
            switch self {
            case .before(let b), .both(let b, _): b
            case .none, .after: nil
            }
        }

        var after: Value? {
            switch self {
            case .after(let a), .both(_, let a): a
            case .none, .before: nil
            }
        }
    }

    private var values: Values
    /// The manifest JSON path the change comes from: `services[1].realServers[0]`; for something
    /// no longer in the manifest, the nearest enclosing path (`services[1]`, or "" for a service).
    public var path: String {
        get { place.text }
        set { place = .text(newValue) }
    }
    /// Where `path` comes from. The planner's paths are kept as their indices and written out
    /// when asked for: a plan of a large table has one change per real server, and each path
    /// was a string on the heap.
    enum Place: Hashable, Sendable {
        case text(String)
        /// `services[service]`.
        case service(Int)
        /// `services[service].realServers[realServer]`.
        case realServer(Int, Int)

        var text: String {
            switch self {
            case .text(let t): t
            case .service(let s): "services[\(s)]"
            case .realServer(let s, let r): "services[\(s)].realServers[\(r)]"
            }
        }

        /// `services[service]`, or `services[service].realServers[realServer]`.
        init(service: Int, realServer: Int? = nil) {
            self = realServer.map { .realServer(service, $0) } ?? .service(service)
        }
    }

    private var place: Place

    public init(
        action: Action, manifest: String, service: VirtualService.ID? = nil, realServer: RealServer.ID? = nil,
        before: Value? = nil, after: Value? = nil, path: String, reason: Reason
    ) {
        self.init(
            action: action, manifest: manifest, service: service, realServer: realServer, before: before, after: after,
            place: .text(path), reason: reason)
    }

    init(
        action: Action, manifest: String, service: VirtualService.ID? = nil, realServer: RealServer.ID? = nil,
        before: Value? = nil, after: Value? = nil, place: Place, reason: Reason
    ) {
        self.action = action
        self.manifest = manifest
        self.service = service
        self.realServer = realServer
        self.values = Values(before: before, after: after)
        self.place = place
        self.reason = reason
    }

    // Equality, hashing and coding treat `path` as the text it stands for, as when it was a
    // stored string.

    public static func == (a: Change, b: Change) -> Bool {
        a.action == b.action && a.manifest == b.manifest && a.service == b.service && a.realServer == b.realServer
            && a.before == b.before && a.after == b.after && (a.place == b.place || a.path == b.path)
            && a.reason == b.reason
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(action)
        hasher.combine(manifest)
        hasher.combine(service)
        hasher.combine(realServer)
        hasher.combine(before)
        hasher.combine(after)
        hasher.combine(path)
        hasher.combine(reason)
    }

    private enum CodingKeys: String, CodingKey {
        case action, manifest, service, realServer, before, after, path, reason, message
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            action: try c.decode(Action.self, forKey: .action),
            manifest: try c.decode(String.self, forKey: .manifest),
            service: try c.decodeIfPresent(VirtualService.ID.self, forKey: .service),
            realServer: try c.decodeIfPresent(RealServer.ID.self, forKey: .realServer),
            before: try c.decodeIfPresent(Value.self, forKey: .before),
            after: try c.decodeIfPresent(Value.self, forKey: .after),
            path: try c.decode(String.self, forKey: .path),
            reason: try c.decode(Reason.self, forKey: .reason))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(action, forKey: .action)
        try c.encode(manifest, forKey: .manifest)
        try c.encodeIfPresent(service, forKey: .service)
        try c.encodeIfPresent(realServer, forKey: .realServer)
        try c.encodeIfPresent(before, forKey: .before)
        try c.encodeIfPresent(after, forKey: .after)
        try c.encode(path, forKey: .path)
        try c.encode(reason, forKey: .reason)
        // The sentence, for readers that show it; written from the values, never read back.
        try c.encode(reasonText, forKey: .message)
    }

    /// `+ add real server 10.0.0.1:80 to tcp/10.0.0.100:80 (web: services[0].realServers[0]): new`.
    public var summary: String {
        var s = "\(action.symbol) \(subject)"
        s += " (\(manifest)\(path.isEmpty ? "" : ": \(path)"))"
        s += ": \(reasonText)"
        return s
    }

    /// `add real server 10.0.0.1:80 to tcp/10.0.0.100:80`.
    public var subject: String {
        let svc = service.map { "\($0)" } ?? "?"
        let rs = realServer.map { "\($0)" } ?? "?"
        switch action {
        case .setTimeouts: return "set timeouts"
        case .setSysctls: return "set sysctls \(after?.sysctls.map { $0.fields.map(\.sysctlName).joined(separator: ", ") } ?? "")"
        case .startSyncDaemon: return "start sync daemon \(after?.syncDaemon.map { "\($0.state) on \($0.interface)" } ?? "")"
        case .stopSyncDaemon: return "stop sync daemon \(before?.syncDaemon.map { "\($0.state)" } ?? "")"
        case .createService: return "create service \(svc)"
        case .updateService: return "update service \(svc)"
        case .deleteService: return "delete service \(svc)"
        case .addRealServer: return "add real server \(rs) to \(svc)"
        case .updateRealServer: return "update real server \(rs) of \(svc)"
        case .drainRealServer: return "drain real server \(rs) of \(svc)"
        case .deleteRealServer: return "delete real server \(rs) from \(svc)"
        case .createKeepalivedConfig: return "write keepalived config \(after?.file?.path ?? "")"
        case .updateKeepalivedConfig: return "rewrite keepalived config \(after?.file?.path ?? "")"
        }
    }
}

extension Change.Value {
    public var service: VirtualService? {
        switch self {
        case .service(let s): s
        case .entry(let e): e.service
        default: nil
        }
    }

    public var realServer: RealServer? {
        if case .realServer(let r) = self { return r }
        return nil
    }

    public var timeouts: Timeouts? {
        if case .timeouts(let t) = self { return t }
        return nil
    }

    public var syncDaemon: SyncDaemon? {
        if case .syncDaemon(let d) = self { return d }
        return nil
    }

    public var sysctls: IPVSSysctls? {
        if case .sysctls(let s) = self { return s }
        return nil
    }

    public var file: ConfigFile? {
        if case .file(let f) = self { return f }
        return nil
    }

    /// The real servers of an `entry`.
    public var realServers: [RealServer]? {
        if case .entry(let e) = self { return e.realServers }
        return nil
    }
}

extension Change.Value: Codable {
    private enum Key: String, CodingKey {
        case service, entry, realServer, timeouts, syncDaemon, sysctls, file
    }

    /// Encoded as an object with one key naming the kind: `{"realServer": {...}}`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .service(let v): try c.encode(v, forKey: .service)
        case .entry(let v): try c.encode(v, forKey: .entry)
        case .realServer(let v): try c.encode(v, forKey: .realServer)
        case .timeouts(let v): try c.encode(v, forKey: .timeouts)
        case .syncDaemon(let v): try c.encode(v, forKey: .syncDaemon)
        case .sysctls(let v): try c.encode(v, forKey: .sysctls)
        case .file(let v): try c.encode(v, forKey: .file)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: c.codingPath,
                debugDescription: "a change value needs exactly one of service, entry, realServer, timeouts, syncDaemon, sysctls, file"))
        }
        switch key {
        case .service: self = .service(try c.decode(VirtualService.self, forKey: key))
        case .entry: self = .entry(try c.decode(IPVSTable.Entry.self, forKey: key))
        case .realServer: self = .realServer(try c.decode(RealServer.self, forKey: key))
        case .timeouts: self = .timeouts(try c.decode(Timeouts.self, forKey: key))
        case .syncDaemon: self = .syncDaemon(try c.decode(SyncDaemon.self, forKey: key))
        case .sysctls: self = .sysctls(try c.decode(IPVSSysctls.self, forKey: key))
        case .file: self = .file(try c.decode(ConfigFile.self, forKey: key))
        }
    }
}
