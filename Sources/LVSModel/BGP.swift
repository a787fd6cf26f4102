/// The BGP half of an ECMP site, as a manifest declares it (its top-level `bgp` section).
///
/// Every director runs BIRD 2 as its BGP speaker; lvsctl renders BIRD's configuration for one
/// node at a time and decides, per virtual address, whether that director announces it. The
/// routers' ECMP spreads flows over the directors that announce.
///
/// What must stay true (validation enforces it): `routerID` names every node that may apply the
/// manifest, each router id is IPv4, peers are unique, `drainSeconds` is bounded.
public struct BGPConfig: Hashable, Sendable, Codable {
    /// This site's AS, the same on every director (`local as`).
    public var localAS: UInt32
    /// The BGP router id of each node (IPv4, unique per director).
    public var routerID: [String: IPAddress]
    public var peers: [BGPPeer]
    /// How a director lowers its routes' preference before it withdraws them.
    public var drain: BGPDrain
    /// The fraction (0–1) of a service's real servers that must pass their health checks for
    /// its address to be announced; at least one must, whatever the fraction (PyBal's
    /// depool-threshold, KgLb's announce ratio).
    public var announceThreshold: Double
    /// The interface lvsctl puts each announced address on (as a /32 or /128) when the director
    /// does not have it yet, e.g. `lo`; nil: the operator puts them there, and an announced
    /// address that is not local to the director is refused before any write.
    public var vipDevice: String?

    public init(
        localAS: UInt32, routerID: [String: IPAddress], peers: [BGPPeer], drain: BGPDrain = BGPDrain(),
        announceThreshold: Double = BGPConfig.defaultAnnounceThreshold, vipDevice: String? = nil
    ) {
        self.localAS = localAS
        self.routerID = routerID
        self.peers = peers
        self.drain = drain
        self.announceThreshold = announceThreshold
        self.vipDevice = vipDevice
    }

    public static let defaultAnnounceThreshold = 0.5

    private enum CodingKeys: String, CodingKey {
        case localAS, routerID = "routerId", peers, drain, announceThreshold, vipDevice
    }

    /// Every node named by `routerID`, sorted.
    public var nodes: [String] { routerID.keys.sorted() }
}

/// One BGP neighbour of every director (usually the top-of-rack routers).
public struct BGPPeer: Hashable, Sendable, Codable {
    public var address: IPAddress
    /// The peer's AS (`neighbor … as`).
    public var asn: UInt32
    /// TCP MD5 password (RFC 2385); nil = none.
    public var password: String?
    /// Seconds; nil = BIRD's default (240).
    public var holdTime: UInt16?
    /// Ask BIRD's BFD to watch the session.
    public var bfd: Bool

    public init(address: IPAddress, asn: UInt32, password: String? = nil, holdTime: UInt16? = nil, bfd: Bool = false) {
        self.address = address
        self.asn = asn
        self.password = password
        self.holdTime = holdTime
        self.bfd = bfd
    }

    private enum CodingKeys: String, CodingKey {
        case address, asn = "as", password, holdTime, bfd
    }
}

/// Drain before withdraw: the route stays announced but less preferred for `seconds`, so the
/// routers move new flows away before the route disappears.
public struct BGPDrain: Hashable, Sendable, Codable {
    /// The MED of a draining route (routers prefer the lowest; an announced route has none).
    public var med: UInt32
    /// Also tag the route with GRACEFUL_SHUTDOWN (RFC 8326, 65535:0).
    public var gracefulShutdown: Bool
    /// How long a route drains before it is withdrawn.
    public var seconds: UInt32

    public init(med: UInt32 = BGPDrain.defaultMED, gracefulShutdown: Bool = true, seconds: UInt32 = BGPDrain.defaultSeconds) {
        self.med = med
        self.gracefulShutdown = gracefulShutdown
        self.seconds = seconds
    }

    public static let defaultMED: UInt32 = 1000
    public static let defaultSeconds: UInt32 = 5

    private enum CodingKeys: String, CodingKey {
        case med, gracefulShutdown, seconds
    }
}

extension Scheduler {
    /// Whether every director with the same real servers in the same order picks the same real
    /// server for a flow: the hashing schedulers (`mh`, `sh`, `dh`) depend only on the packet
    /// and the server list; the others depend on this director's own counters and connections.
    /// Behind ECMP a route change moves flows to another director, which then picks the same
    /// server only with one of these.
    public var picksAlikeOnEveryDirector: Bool { self == .mh || self == .sh || self == .dh }
}
