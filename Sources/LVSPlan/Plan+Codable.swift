import LVSModel

// The JSON of a plan and what it carries: the `plan` machine format (and the `plan` member of
// `apply` output and of saved plans). Every key is written here by name; times are RFC 3339
// strings; identities are the CLI's strings. A change of shape bumps
// `Plan.currentFormatVersion`.

extension Plan: Codable {
    private enum CodingKeys: String, CodingKey {
        case formatVersion, baseFingerprint, computedAt, changes, foreign, pendingDrains, violations
        case drainsToStart, drainsToFinish, claims, releases
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decode(Int.self, forKey: .formatVersion)
        guard version == Plan.currentFormatVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .formatVersion, in: c,
                debugDescription: "plan format version \(version); this lvsctl reads version \(Plan.currentFormatVersion): plan again with this lvsctl")
        }
        self.init(
            baseFingerprint: try c.decode(String.self, forKey: .baseFingerprint),
            computedAt: try decodeTime(c, .computedAt),
            changes: try c.decode([Change].self, forKey: .changes),
            foreign: try c.decode([VirtualService.ID].self, forKey: .foreign),
            pendingDrains: try c.decode([PendingDrain].self, forKey: .pendingDrains),
            violations: try c.decode([GuardViolation].self, forKey: .violations),
            drainsToStart: try c.decode([DrainState].self, forKey: .drainsToStart),
            drainsToFinish: try c.decode([ServiceRealServerKey].self, forKey: .drainsToFinish),
            claims: try c.decode([Claim].self, forKey: .claims),
            releases: try c.decode([VirtualService.ID].self, forKey: .releases))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(baseFingerprint, forKey: .baseFingerprint)
        try c.encode(RFC3339.string(computedAt), forKey: .computedAt)
        try c.encode(changes, forKey: .changes)
        try c.encode(foreign, forKey: .foreign)
        try c.encode(pendingDrains, forKey: .pendingDrains)
        try c.encode(violations, forKey: .violations)
        try c.encode(drainsToStart, forKey: .drainsToStart)
        try c.encode(drainsToFinish, forKey: .drainsToFinish)
        try c.encode(claims, forKey: .claims)
        try c.encode(releases, forKey: .releases)
    }
}

/// An RFC 3339 string as seconds since the epoch, with an error naming the key.
func decodeTime<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Double {
    let text = try c.decode(String.self, forKey: key)
    guard let t = RFC3339.parse(text) else {
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(text) is not an RFC 3339 time (2026-11-25T16:50:02Z)")
    }
    return t
}

extension Claim: Codable {
    private enum CodingKeys: String, CodingKey {
        case service, manifest
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(service: try c.decode(VirtualService.ID.self, forKey: .service), manifest: try c.decode(String.self, forKey: .manifest))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(manifest, forKey: .manifest)
    }
}

extension PendingDrain: Codable {
    private enum CodingKeys: String, CodingKey {
        case service, realServer, manifest, activeConnections, inactiveConnections, startedAt, deadline
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            service: try c.decode(VirtualService.ID.self, forKey: .service),
            realServer: try c.decode(RealServer.ID.self, forKey: .realServer), manifest: try c.decode(String.self, forKey: .manifest),
            activeConnections: try c.decode(UInt32.self, forKey: .activeConnections),
            inactiveConnections: try c.decode(UInt32.self, forKey: .inactiveConnections),
            startedAt: try decodeTime(c, .startedAt), deadline: try decodeTime(c, .deadline))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(realServer, forKey: .realServer)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(activeConnections, forKey: .activeConnections)
        try c.encode(inactiveConnections, forKey: .inactiveConnections)
        try c.encode(RFC3339.string(startedAt), forKey: .startedAt)
        try c.encode(RFC3339.string(deadline), forKey: .deadline)
    }
}

extension GuardViolation: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, service, manifest, message
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kind: try c.decode(Kind.self, forKey: .kind), service: try c.decodeIfPresent(VirtualService.ID.self, forKey: .service),
            manifest: try c.decode(String.self, forKey: .manifest), message: try c.decode(String.self, forKey: .message))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encodeIfPresent(service, forKey: .service)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(message, forKey: .message)
    }
}

extension DrainState: Codable {
    private enum CodingKeys: String, CodingKey {
        case service, realServer, manifest, startedAt, deadline
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            service: try c.decode(VirtualService.ID.self, forKey: .service),
            realServer: try c.decode(RealServer.ID.self, forKey: .realServer), manifest: try c.decode(String.self, forKey: .manifest),
            startedAt: try decodeTime(c, .startedAt), deadline: try decodeTime(c, .deadline))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(realServer, forKey: .realServer)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(RFC3339.string(startedAt), forKey: .startedAt)
        try c.encode(RFC3339.string(deadline), forKey: .deadline)
    }
}

extension DriftItem: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, manifest, service, realServer, field, expected, live
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kind: try c.decode(Kind.self, forKey: .kind), manifest: try c.decode(String.self, forKey: .manifest),
            service: try c.decodeIfPresent(VirtualService.ID.self, forKey: .service),
            realServer: try c.decodeIfPresent(RealServer.ID.self, forKey: .realServer), field: try c.decode(String.self, forKey: .field),
            expected: try c.decodeIfPresent(String.self, forKey: .expected), live: try c.decodeIfPresent(String.self, forKey: .live))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(manifest, forKey: .manifest)
        try c.encodeIfPresent(service, forKey: .service)
        try c.encodeIfPresent(realServer, forKey: .realServer)
        try c.encode(field, forKey: .field)
        try c.encodeIfPresent(expected, forKey: .expected)
        try c.encodeIfPresent(live, forKey: .live)
    }
}
