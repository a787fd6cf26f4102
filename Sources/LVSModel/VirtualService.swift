/// The transport protocol of an address-based virtual service.
///
/// The corresponding kernel values are `IPPROTO_TCP` (6), `IPPROTO_UDP` (17), `IPPROTO_SCTP` (132).
public enum IPProtocol: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    case tcp
    case udp
    case sctp

    public var kernelValue: UInt16 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        }
    }

    public init?(kernelValue: UInt16) {
        switch kernelValue {
        case 6: self = .tcp
        case 17: self = .udp
        case 132: self = .sctp
        default: return nil
        }
    }

    public static func < (a: IPProtocol, b: IPProtocol) -> Bool { a.kernelValue < b.kernelValue }
}

/// An IPVS scheduler, named as the kernel names it (module `ip_vs_<name>`).
public struct Scheduler: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { self.rawValue = name }
    public var description: String { rawValue }

    public static let rr = Scheduler("rr")
    public static let wrr = Scheduler("wrr")
    public static let lc = Scheduler("lc")
    public static let wlc = Scheduler("wlc")
    public static let lblc = Scheduler("lblc")
    public static let lblcr = Scheduler("lblcr")
    public static let dh = Scheduler("dh")
    public static let sh = Scheduler("sh")
    public static let sed = Scheduler("sed")
    public static let nq = Scheduler("nq")
    public static let fo = Scheduler("fo")
    public static let ovf = Scheduler("ovf")
    public static let mh = Scheduler("mh")
    public static let twos = Scheduler("twos")
    /// A service with no scheduler bound (kernels that accept `"none"`).
    public static let none = Scheduler("none")

    /// Every scheduler a current kernel can offer (`twos` only on newer kernels).
    public static let known: [Scheduler] = [
        .rr, .wrr, .lc, .wlc, .lblc, .lblcr, .dh, .sh, .sed, .nq, .fo, .ovf, .mh, .twos,
    ]

    /// The kernel module that provides this scheduler.
    public var moduleName: String { "ip_vs_\(rawValue)" }

    /// The names of the scheduler flags as ipvsadm prints them (`-b`), for flags 1, 2 and 3.
    public var flagNames: [String] {
        switch self {
        case .sh: ["sh-fallback", "sh-port", "flag-3"]
        case .mh: ["mh-fallback", "mh-port", "flag-3"]
        default: ["flag-1", "flag-2", "flag-3"]
        }
    }
}

/// Service flags, without the kernel-internal `HASHED` bit.
///
/// The corresponding kernel constants are `IP_VS_SVC_F_*`.
public struct ServiceFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue & ~ServiceFlags.hashed.rawValue }

    /// `IP_VS_SVC_F_PERSISTENT`.
    public static let persistent = ServiceFlags(rawValue: 0x0001)
    /// `IP_VS_SVC_F_HASHED`: set by the kernel on every listed service; never part of a model value.
    public static let hashed = ServiceFlags(uncheckedRawValue: 0x0002)
    /// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling.
    public static let onePacket = ServiceFlags(rawValue: 0x0004)
    /// `IP_VS_SVC_F_SCHED1`: `sh-fallback` / `mh-fallback`.
    public static let sched1 = ServiceFlags(rawValue: 0x0008)
    /// `IP_VS_SVC_F_SCHED2`: `sh-port` / `mh-port`.
    public static let sched2 = ServiceFlags(rawValue: 0x0010)
    /// `IP_VS_SVC_F_SCHED3`: unused by the shipped schedulers.
    public static let sched3 = ServiceFlags(rawValue: 0x0020)

    public static let schedulerFlags: ServiceFlags = [.sched1, .sched2, .sched3]

    private init(uncheckedRawValue: UInt32) { self.rawValue = uncheckedRawValue }
}

/// A virtual service: what clients connect to, and how connections are scheduled.
///
/// This mirrors the kernel object exactly (every attribute of `IPVS_CMD_ATTR_SERVICE` that can be
/// set), so a read-modify-write loses nothing. Real servers are kept apart (`IPVSTable.Entry`).
public struct VirtualService: Hashable, Sendable {
    /// The identity of a virtual service. Nothing in it can be changed in place.
    public enum ID: Hashable, Sendable {
        /// A TCP, UDP or SCTP service on an address and port.
        case address(IPProtocol, IPAddress, port: UInt16)
        /// A firewall-mark service of one address family.
        case fwmark(UInt32, IPFamily)

        public var family: IPFamily {
            switch self {
            case .address(_, let a, _): a.family
            case .fwmark(_, let f): f
            }
        }

        public var port: UInt16? {
            if case .address(_, _, let p) = self { return p }
            return nil
        }

        public var ipProtocol: IPProtocol? {
            if case .address(let p, _, _) = self { return p }
            return nil
        }
    }

    public var id: ID
    public var scheduler: Scheduler
    /// Flags without `HASHED`; `persistent` is set when `timeout` is meant as persistence.
    public var flags: ServiceFlags
    /// Persistence timeout in seconds (`IPVS_SVC_ATTR_TIMEOUT`).
    public var timeout: UInt32
    /// `IPVS_SVC_ATTR_NETMASK`. IPv4: the mask as a host-order number (255.255.255.0 is
    /// `0xffffff00`). IPv6: the prefix length (1...128).
    public var netmask: UInt32
    /// Persistence engine (`IPVS_SVC_ATTR_PE_NAME`); only `"sip"` exists.
    public var persistenceEngine: String?

    public init(
        id: ID, scheduler: Scheduler = .wlc, flags: ServiceFlags = [], timeout: UInt32 = 0,
        netmask: UInt32? = nil, persistenceEngine: String? = nil
    ) {
        self.id = id
        self.scheduler = scheduler
        self.flags = flags
        self.timeout = timeout
        self.netmask = netmask ?? VirtualService.defaultNetmask(id.family)
        self.persistenceEngine = persistenceEngine
    }

    /// The netmask a service gets when none is given: one client address (/32 or /128).
    public static func defaultNetmask(_ family: IPFamily) -> UInt32 {
        family == .ipv4 ? 0xffff_ffff : 128
    }

    public var isPersistent: Bool { flags.contains(.persistent) }
}

extension VirtualService.ID: Comparable {
    /// A sane total order: address services (by family, protocol, address, port), then fwmarks.
    public static func < (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.address(let p1, let a1, let o1), .address(let p2, let a2, let o2)):
            if a1.family != a2.family { return a1.family < a2.family }
            if p1 != p2 { return p1 < p2 }
            if a1 != a2 { return a1 < a2 }
            return o1 < o2
        case (.address, .fwmark): return true
        case (.fwmark, .address): return false
        case (.fwmark(let m1, let f1), .fwmark(let m2, let f2)):
            return m1 != m2 ? m1 < m2 : f1 < f2
        }
    }
}

extension VirtualService.ID: CustomStringConvertible {
    /// `tcp/10.0.0.1:80`, `udp/[2001:db8::1]:53`, `fwmark/7` or `fwmark/7/ipv6`.
    public var description: String {
        switch self {
        case .address(let p, let a, let port):
            return a.family == .ipv4 ? "\(p.rawValue)/\(a):\(port)" : "\(p.rawValue)/[\(a)]:\(port)"
        case .fwmark(let m, let f):
            return f == .ipv4 ? "fwmark/\(m)" : "fwmark/\(m)/ipv6"
        }
    }

    /// Parses the `description` form back (used by CLI arguments and the store).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        if parts[0] == "fwmark" {
            let rest = parts[1].split(separator: "/").map(String.init)
            guard let m = UInt32(rest[0]), m > 0 else { return nil }
            if rest.count == 1 { self = .fwmark(m, .ipv4); return }
            guard rest.count == 2, rest[1] == "ipv6" || rest[1] == "ipv4" else { return nil }
            self = .fwmark(m, rest[1] == "ipv6" ? .ipv6 : .ipv4)
            return
        }
        guard let proto = IPProtocol(rawValue: parts[0]),
            let (addr, port) = parseHostPort(parts[1])
        else { return nil }
        self = .address(proto, addr, port: port)
    }
}

/// Parses `1.2.3.4:80` or `[2001:db8::1]:80`.
public func parseHostPort(_ s: String) -> (IPAddress, UInt16)? {
    if s.hasPrefix("[") {
        guard let close = s.firstIndex(of: "]") else { return nil }
        let host = s[s.index(after: s.startIndex)..<close]
        let rest = s[s.index(after: close)...]
        guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()),
            let a = IPAddress(host), a.family == .ipv6
        else { return nil }
        return (a, port)
    }
    guard let colon = s.lastIndex(of: ":"), let a = IPAddress(s[..<colon]), a.family == .ipv4,
        let port = UInt16(s[s.index(after: colon)...])
    else { return nil }
    return (a, port)
}
