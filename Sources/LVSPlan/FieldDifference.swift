public import LVSModel

/// One attribute that differs between a desired and a live object, as text.
public struct FieldDifference: Hashable, Sendable {
    /// The manifest field name: `scheduler`, `tunnel.port`, `timeouts.tcp`, `syncID`.
    public var field: String
    /// The declared value, as text.
    public var expected: String
    /// The live value, as text.
    public var live: String

    public init(field: String, expected: String, live: String) {
        self.field = field
        self.expected = expected
        self.live = live
    }

    /// The words for people: `scheduler`, `tunnel port`.
    public var label: String { Self.label(field) }

    /// `weight 100 → 50`.
    public var text: String { "\(label) \(live) → \(expected)" }

    /// The words for a field's name.
    static func label(_ field: String) -> String {
        switch field {
        case "timeout": "persistence timeout"
        case "persistenceEngine": "persistence engine"
        case "upperThreshold": "upper threshold"
        case "lowerThreshold": "lower threshold"
        case "tunnel.type": "tunnel type"
        case "tunnel.port": "tunnel port"
        case "tunnel.checksum": "tunnel checksum"
        case "timeouts.tcp": "tcp"
        case "timeouts.tcpFin": "tcpfin"
        case "timeouts.udp": "udp"
        // A kernel sysctl is named as in /proc/sys/net/ipv4/vs (`sloppy_tcp`).
        default: IPVSSysctls.Field(rawValue: field)?.sysctlName ?? field
        }
    }

    /// Every editable attribute of a service that differs (all but the identity).
    public static func service(desired d: VirtualService, live l: VirtualService) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func add(_ field: String, _ e: String, _ v: String) {
            if e != v { out.append(FieldDifference(field: field, expected: e, live: v)) }
        }
        add("scheduler", d.scheduler.rawValue, l.scheduler.rawValue)
        if d.flags != l.flags {
            // Compared by value (the names depend on the scheduler); hex if the names agree.
            var e = flagsText(d.flags, d.scheduler), v = flagsText(l.flags, l.scheduler)
            if e == v { e = "0x\(String(d.flags.rawValue, radix: 16))"; v = "0x\(String(l.flags.rawValue, radix: 16))" }
            out.append(FieldDifference(field: "flags", expected: e, live: v))
        }
        add("timeout", "\(d.timeout)", "\(l.timeout)")
        add("netmask", netmaskText(d.netmask, d.id.family), netmaskText(l.netmask, l.id.family))
        add("persistenceEngine", peText(d.persistenceEngine), peText(l.persistenceEngine))
        return out
    }

    /// Every editable attribute of a real server that differs (all but the identity).
    public static func realServer(desired d: RealServer, live l: RealServer) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func add(_ field: String, _ e: String, _ v: String) {
            if e != v { out.append(FieldDifference(field: field, expected: e, live: v)) }
        }
        add("weight", "\(d.weight)", "\(l.weight)")
        add("forwarding", d.forwarding.description, l.forwarding.description)
        add("upperThreshold", "\(d.upperThreshold)", "\(l.upperThreshold)")
        add("lowerThreshold", "\(d.lowerThreshold)", "\(l.lowerThreshold)")
        add("tunnel.type", d.tunnel.type.description, l.tunnel.type.description)
        add("tunnel.port", "\(d.tunnel.port)", "\(l.tunnel.port)")
        add("tunnel.checksum", d.tunnel.checksum.description, l.tunnel.checksum.description)
        return out
    }

    /// The fields of timeouts that are declared (non-zero) and differ.
    public static func timeouts(desired d: Timeouts, live l: Timeouts) -> [FieldDifference] {
        var out: [FieldDifference] = []
        for (field, e, v) in [("tcp", d.tcp, l.tcp), ("tcpFin", d.tcpFin, l.tcpFin), ("udp", d.udp, l.udp)]
        where e != 0 && e != v {
            out.append(FieldDifference(field: "timeouts.\(field)", expected: "\(e)", live: "\(v)"))
        }
        return out
    }

    /// The declared sysctls that differ from the live ones (compared as the kernel shows them,
    /// booleans normalised); a sysctl the kernel lacks differs from any declared value.
    static func sysctls(desired d: IPVSSysctls, live l: IPVSSysctls) -> [FieldDifference] {
        var out: [FieldDifference] = []
        for f in d.fields {
            guard let e = d.text(f) else { continue }
            let v = l.text(f)
            if e != v {
                out.append(FieldDifference(field: f.rawValue, expected: e, live: v ?? "absent"))
            }
        }
        return out
    }

    /// The declared fields of a sync daemon that differ from a running one. Fields left at 0 or
    /// nil mean "the kernel's default" and match whatever the kernel filled in.
    public static func syncDaemon(desired d: SyncDaemon, live l: SyncDaemon) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func add(_ field: String, _ e: String, _ v: String) {
            if e != v { out.append(FieldDifference(field: field, expected: e, live: v)) }
        }
        add("interface", d.interface, l.interface)
        add("syncID", "\(d.syncID)", "\(l.syncID)")
        if d.maxLength != 0 { add("maxLength", "\(d.maxLength)", "\(l.maxLength)") }
        if let g = d.group { add("group", "\(g)", l.group.map { "\($0)" } ?? "default") }
        if d.port != 0 { add("port", "\(d.port)", "\(l.port)") }
        if d.ttl != 0 { add("ttl", "\(d.ttl)", "\(l.ttl)") }
        return out
    }

    /// `persistent|sh-fallback`, or `none`.
    static func flagsText(_ f: ServiceFlags, _ s: Scheduler) -> String {
        var names: [String] = []
        if f.contains(.persistent) { names.append("persistent") }
        if f.contains(.onePacket) { names.append("one-packet") }
        for (i, bit) in [ServiceFlags.sched1, .sched2, .sched3].enumerated() where f.contains(bit) {
            names.append(s.flagNames[i])
        }
        let known: ServiceFlags = [.persistent, .onePacket, .sched1, .sched2, .sched3]
        let rest = f.rawValue & ~known.rawValue
        if rest != 0 { names.append("0x\(String(rest, radix: 16))") }
        return names.isEmpty ? "none" : names.joined(separator: "|")
    }

    /// `255.255.255.0` for IPv4, `/64` for IPv6.
    static func netmaskText(_ m: UInt32, _ family: IPFamily) -> String {
        family == .ipv4 ? "\(IPAddress.v4(m))" : "/\(m)"
    }

    static func peText(_ pe: String?) -> String {
        guard let pe, !pe.isEmpty else { return "none" }
        return pe
    }
}

extension VirtualService {
    /// The service as the kernel reports it: an empty persistence engine is none.
    var normalized: VirtualService {
        var s = self
        if s.persistenceEngine?.isEmpty == true { s.persistenceEngine = nil }
        return s
    }
}
