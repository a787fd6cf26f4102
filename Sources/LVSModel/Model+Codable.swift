/// The JSON form of the model's kernel objects: the one shape every machine format
/// (`plan`, `apply`, `status`, `history`, saved plans) and the audit's stored before/after
/// values use. Written by hand, key by key, so that a refactor of a Swift type cannot change
/// what is stored or printed (`Manifests/lvsctl-objects-v1.schema.json` describes it).
///
/// What must stay true:
/// - identities are the strings the CLI takes: `tcp/10.0.0.1:80`, `fwmark/7`, `fwmark/7/ipv6`,
///   `10.0.0.11:80`, `[2001:db8::1]:80`;
/// - enumerations are strings (`dr`, `gue`, `csum`, `master`), never numbers; a value the kernel
///   reports that has no name keeps its number in the text (`fwd-7`), so it round-trips;
/// - a change of shape needs a migration of the audit rows (see `Migrations/0006_*.sql`) and a
///   new format version of every format that embeds these objects.

extension VirtualService.ID: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let id = VirtualService.ID(text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "\(text) is not a service identity (tcp/10.0.0.1:80, fwmark/7, fwmark/7/ipv6)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension RealServer.ID: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let id = RealServer.ID(text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "\(text) is not a real server (10.0.0.11:80, [2001:db8::1]:80)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A raw kernel value named by a string; unknown values are `prefix` + the number.
private func decodeNamed<Raw: FixedWidthInteger>(
    _ decoder: any Decoder, prefix: String, names: [(String, Raw)], what: String
) throws -> Raw {
    let c = try decoder.singleValueContainer()
    let text = try c.decode(String.self)
    if let known = names.first(where: { $0.0 == text }) { return known.1 }
    if text.hasPrefix(prefix), let n = Raw(text.dropFirst(prefix.count)) { return n }
    throw DecodingError.dataCorruptedError(
        in: c, debugDescription: "\(text) is not a \(what) (\(names.map(\.0).joined(separator: ", ")))")
}

extension ForwardingMethod: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decodeNamed(
            decoder, prefix: "fwd-", names: [("nat", 0), ("local", 1), ("tunnel", 2), ("dr", 3)],
            what: "forwarding method"))
    }

    /// `nat`, `local`, `tunnel`, `dr` (the manifest spelling), or `fwd-N`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension TunnelType: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decodeNamed(
            decoder, prefix: "type-", names: [("ipip", 0), ("gue", 1), ("gre", 2)], what: "tunnel type"))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension TunnelChecksum: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decodeNamed(
            decoder, prefix: "flags-", names: [("nocsum", 0), ("csum", 1), ("remcsum", 2)], what: "tunnel checksum"))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension ServiceFlags: Codable {
    /// The names of the flags, in bit order; bits without a name are written as `0x…`.
    public static let codingNames: [(String, ServiceFlags)] = [
        ("persistent", .persistent), ("onePacket", .onePacket), ("sched1", .sched1), ("sched2", .sched2),
        ("sched3", .sched3),
    ]

    /// `["persistent", "sched2"]`; `[]` for none.
    public var codingNames: [String] {
        var names: [String] = []
        var rest = rawValue
        for (name, bit) in Self.codingNames where contains(bit) {
            names.append(name)
            rest &= ~bit.rawValue
        }
        if rest != 0 { names.append("0x" + String(rest, radix: 16)) }
        return names
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        var flags = ServiceFlags()
        for name in try c.decode([String].self) {
            if let known = Self.codingNames.first(where: { $0.0 == name }) {
                flags.insert(known.1)
            } else if name.hasPrefix("0x"), let bits = UInt32(name.dropFirst(2), radix: 16) {
                flags.formUnion(ServiceFlags(rawValue: bits))
            } else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "\(name) is not a service flag (persistent, onePacket, sched1, sched2, sched3, 0x…)")
            }
        }
        self = flags
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(codingNames)
    }
}

extension VirtualService: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, scheduler, flags, timeout, netmask, persistenceEngine
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(ID.self, forKey: .id), scheduler: try c.decode(Scheduler.self, forKey: .scheduler),
            flags: try c.decode(ServiceFlags.self, forKey: .flags), timeout: try c.decode(UInt32.self, forKey: .timeout),
            netmask: try c.decode(UInt32.self, forKey: .netmask),
            persistenceEngine: try c.decodeIfPresent(String.self, forKey: .persistenceEngine))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(scheduler, forKey: .scheduler)
        try c.encode(flags, forKey: .flags)
        try c.encode(timeout, forKey: .timeout)
        try c.encode(netmask, forKey: .netmask)
        try c.encodeIfPresent(persistenceEngine, forKey: .persistenceEngine)
    }
}

extension TunnelSettings: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, port, checksum
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            type: try c.decode(TunnelType.self, forKey: .type), port: try c.decode(UInt16.self, forKey: .port),
            checksum: try c.decode(TunnelChecksum.self, forKey: .checksum))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(port, forKey: .port)
        try c.encode(checksum, forKey: .checksum)
    }
}

extension RealServer: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, forwarding, weight, upperThreshold, lowerThreshold, tunnel
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(ID.self, forKey: .id), forwarding: try c.decode(ForwardingMethod.self, forKey: .forwarding),
            weight: try c.decode(UInt32.self, forKey: .weight),
            upperThreshold: try c.decode(UInt32.self, forKey: .upperThreshold),
            lowerThreshold: try c.decode(UInt32.self, forKey: .lowerThreshold),
            tunnel: try c.decode(TunnelSettings.self, forKey: .tunnel))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(forwarding, forKey: .forwarding)
        try c.encode(weight, forKey: .weight)
        try c.encode(upperThreshold, forKey: .upperThreshold)
        try c.encode(lowerThreshold, forKey: .lowerThreshold)
        try c.encode(tunnel, forKey: .tunnel)
    }
}

extension IPVSTable.Entry: Codable {
    private enum CodingKeys: String, CodingKey {
        case service, realServers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            service: try c.decode(VirtualService.self, forKey: .service),
            realServers: try c.decode([RealServer].self, forKey: .realServers))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(realServers, forKey: .realServers)
    }
}

extension Timeouts: Codable {
    private enum CodingKeys: String, CodingKey {
        case tcp, tcpFin, udp
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            tcp: try c.decode(UInt32.self, forKey: .tcp), tcpFin: try c.decode(UInt32.self, forKey: .tcpFin),
            udp: try c.decode(UInt32.self, forKey: .udp))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tcp, forKey: .tcp)
        try c.encode(tcpFin, forKey: .tcpFin)
        try c.encode(udp, forKey: .udp)
    }
}

extension SyncDaemon.State: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        switch try c.decode(String.self) {
        case "master": self = .master
        case "backup": self = .backup
        case let other:
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(other) is not a sync daemon state (master, backup)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension SyncDaemon: Codable {
    private enum CodingKeys: String, CodingKey {
        case state, interface, syncID, maxLength, group, port, ttl
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            state: try c.decode(State.self, forKey: .state), interface: try c.decode(String.self, forKey: .interface),
            syncID: try c.decode(UInt32.self, forKey: .syncID), maxLength: try c.decode(UInt16.self, forKey: .maxLength),
            group: try c.decodeIfPresent(IPAddress.self, forKey: .group), port: try c.decode(UInt16.self, forKey: .port),
            ttl: try c.decode(UInt8.self, forKey: .ttl))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(interface, forKey: .interface)
        try c.encode(syncID, forKey: .syncID)
        try c.encode(maxLength, forKey: .maxLength)
        try c.encodeIfPresent(group, forKey: .group)
        try c.encode(port, forKey: .port)
        try c.encode(ttl, forKey: .ttl)
    }
}

extension IPVSStats: Codable {
    private enum CodingKeys: String, CodingKey {
        case connections, inPackets, outPackets, inBytes, outBytes
        case connectionRate, inPacketRate, outPacketRate, inByteRate, outByteRate
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        connections = try c.decode(UInt64.self, forKey: .connections)
        inPackets = try c.decode(UInt64.self, forKey: .inPackets)
        outPackets = try c.decode(UInt64.self, forKey: .outPackets)
        inBytes = try c.decode(UInt64.self, forKey: .inBytes)
        outBytes = try c.decode(UInt64.self, forKey: .outBytes)
        connectionRate = try c.decode(UInt64.self, forKey: .connectionRate)
        inPacketRate = try c.decode(UInt64.self, forKey: .inPacketRate)
        outPacketRate = try c.decode(UInt64.self, forKey: .outPacketRate)
        inByteRate = try c.decode(UInt64.self, forKey: .inByteRate)
        outByteRate = try c.decode(UInt64.self, forKey: .outByteRate)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(connections, forKey: .connections)
        try c.encode(inPackets, forKey: .inPackets)
        try c.encode(outPackets, forKey: .outPackets)
        try c.encode(inBytes, forKey: .inBytes)
        try c.encode(outBytes, forKey: .outBytes)
        try c.encode(connectionRate, forKey: .connectionRate)
        try c.encode(inPacketRate, forKey: .inPacketRate)
        try c.encode(outPacketRate, forKey: .outPacketRate)
        try c.encode(inByteRate, forKey: .inByteRate)
        try c.encode(outByteRate, forKey: .outByteRate)
    }
}

extension LiveRealServer: Codable {
    private enum CodingKeys: String, CodingKey {
        case server, activeConnections, inactiveConnections, persistentConnections, stats
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            server: try c.decode(RealServer.self, forKey: .server),
            activeConnections: try c.decode(UInt32.self, forKey: .activeConnections),
            inactiveConnections: try c.decode(UInt32.self, forKey: .inactiveConnections),
            persistentConnections: try c.decode(UInt32.self, forKey: .persistentConnections),
            stats: try c.decode(IPVSStats.self, forKey: .stats))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(server, forKey: .server)
        try c.encode(activeConnections, forKey: .activeConnections)
        try c.encode(inactiveConnections, forKey: .inactiveConnections)
        try c.encode(persistentConnections, forKey: .persistentConnections)
        try c.encode(stats, forKey: .stats)
    }
}

extension LiveService: Codable {
    private enum CodingKeys: String, CodingKey {
        case service, stats, realServers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            service: try c.decode(VirtualService.self, forKey: .service), stats: try c.decode(IPVSStats.self, forKey: .stats),
            realServers: try c.decode([LiveRealServer].self, forKey: .realServers))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(stats, forKey: .stats)
        try c.encode(realServers, forKey: .realServers)
    }
}

extension LiveTable: Codable {
    private enum CodingKeys: String, CodingKey {
        case services, timeouts, syncDaemons, sysctls
    }

    /// `sysctls` may be absent: tables saved before it existed still decode (kernel defaults).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            services: try c.decode([LiveService].self, forKey: .services),
            timeouts: try c.decode(Timeouts.self, forKey: .timeouts),
            syncDaemons: try c.decode([SyncDaemon].self, forKey: .syncDaemons),
            sysctls: try c.decodeIfPresent(IPVSSysctls.self, forKey: .sysctls) ?? .kernelDefault)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(services, forKey: .services)
        try c.encode(timeouts, forKey: .timeouts)
        try c.encode(syncDaemons, forKey: .syncDaemons)
        try c.encode(sysctls, forKey: .sysctls)
    }
}

extension ServiceRealServerKey: Codable {
    private enum CodingKeys: String, CodingKey {
        case service, realServer
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(service: try c.decode(VirtualService.ID.self, forKey: .service), realServer: try c.decode(RealServer.ID.self, forKey: .realServer))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(realServer, forKey: .realServer)
    }
}
