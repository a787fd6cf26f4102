/// How packets reach a real server (`IPVS_DEST_ATTR_FWD_METHOD`, the `IP_VS_CONN_F_*` values).
///
/// A struct rather than an enum so that any value the kernel reports round-trips unchanged.
public struct ForwardingMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `IP_VS_CONN_F_MASQ`: NAT; the only method that can map ports.
    public static let masquerade = ForwardingMethod(rawValue: 0)
    /// `IP_VS_CONN_F_LOCALNODE`: legacy local delivery.
    public static let local = ForwardingMethod(rawValue: 1)
    /// `IP_VS_CONN_F_TUNNEL`: IPIP, GUE or GRE encapsulation.
    public static let tunnel = ForwardingMethod(rawValue: 2)
    /// `IP_VS_CONN_F_DROUTE`: direct routing.
    public static let directRoute = ForwardingMethod(rawValue: 3)

    /// The manifest spelling: `nat`, `local`, `tunnel`, `dr`.
    public var description: String {
        switch self {
        case .masquerade: "nat"
        case .local: "local"
        case .tunnel: "tunnel"
        case .directRoute: "dr"
        default: "fwd-\(rawValue)"
        }
    }

    /// ipvsadm's `-L` column: `Masq`, `Local`, `Tunnel`, `Route`.
    public var listName: String {
        switch self {
        case .masquerade: "Masq"
        case .local: "Local"
        case .tunnel: "Tunnel"
        case .directRoute: "Route"
        default: "Unknown"
        }
    }

    public init?(manifestName: String) {
        switch manifestName {
        case "nat", "masquerade": self = .masquerade
        case "dr", "direct", "route": self = .directRoute
        case "tunnel", "tun", "ipip": self = .tunnel
        case "local": self = .local
        default: return nil
        }
    }
}

/// Tunnel encapsulation (`IPVS_DEST_ATTR_TUN_TYPE`, `IP_VS_CONN_F_TUNNEL_TYPE_*`).
public struct TunnelType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let ipip = TunnelType(rawValue: 0)
    public static let gue = TunnelType(rawValue: 1)
    public static let gre = TunnelType(rawValue: 2)

    public var description: String {
        switch self {
        case .ipip: "ipip"
        case .gue: "gue"
        case .gre: "gre"
        default: "type-\(rawValue)"
        }
    }

    public init?(name: String) {
        switch name {
        case "ipip": self = .ipip
        case "gue": self = .gue
        case "gre": self = .gre
        default: return nil
        }
    }
}

/// Tunnel checksum mode (`IPVS_DEST_ATTR_TUN_FLAGS`, `IP_VS_TUNNEL_ENCAP_FLAG_*`).
public struct TunnelChecksum: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let none = TunnelChecksum(rawValue: 0)
    public static let checksum = TunnelChecksum(rawValue: 1)
    public static let remoteChecksum = TunnelChecksum(rawValue: 2)

    /// The manifest and ipvsadm spelling without the `--tun-` prefix: `nocsum`, `csum`, `remcsum`.
    public var description: String {
        switch self {
        case .none: "nocsum"
        case .checksum: "csum"
        case .remoteChecksum: "remcsum"
        default: "flags-\(rawValue)"
        }
    }

    public init?(name: String) {
        switch name {
        case "nocsum": self = .none
        case "csum": self = .checksum
        case "remcsum": self = .remoteChecksum
        default: return nil
        }
    }
}

/// Tunnel settings of a real server. The kernel reports them for every real server; for
/// non-tunnel servers they are normally the defaults (IPIP, port 0, no checksum).
public struct TunnelSettings: Hashable, Sendable {
    public var type: TunnelType
    /// The GUE UDP port; 0 for other types.
    public var port: UInt16
    public var checksum: TunnelChecksum

    public init(type: TunnelType = .ipip, port: UInt16 = 0, checksum: TunnelChecksum = .none) {
        self.type = type
        self.port = port
        self.checksum = checksum
    }

    public static let `default` = TunnelSettings()
}

/// A real server (an IPVS "destination") of one virtual service.
public struct RealServer: Hashable, Sendable {
    /// The identity of a real server within its service: address family, address and port.
    public struct ID: Hashable, Sendable, Comparable, CustomStringConvertible {
        public var address: IPAddress
        public var port: UInt16
        public init(address: IPAddress, port: UInt16) {
            self.address = address
            self.port = port
        }
        public var family: IPFamily { address.family }
        public static func < (a: ID, b: ID) -> Bool {
            a.address != b.address ? a.address < b.address : a.port < b.port
        }
        /// `10.0.0.1:80` or `[2001:db8::1]:80`.
        public var description: String {
            address.family == .ipv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
        }
        public init?(_ text: String) {
            guard let (a, p) = parseHostPort(text) else { return nil }
            self.init(address: a, port: p)
        }
    }

    public var id: ID
    public var forwarding: ForwardingMethod
    /// 0 = quiescent: no new connections. The kernel accepts 0...Int32.max.
    public var weight: UInt32
    /// Upper active-connection threshold; 0 = none.
    public var upperThreshold: UInt32
    /// Lower threshold; must be ≤ `upperThreshold`.
    public var lowerThreshold: UInt32
    public var tunnel: TunnelSettings

    public init(
        id: ID, forwarding: ForwardingMethod = .directRoute, weight: UInt32 = 1,
        upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0, tunnel: TunnelSettings = .default
    ) {
        self.id = id
        self.forwarding = forwarding
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.tunnel = tunnel
    }
}
