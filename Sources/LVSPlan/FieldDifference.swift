import LVSModel

/// One attribute that differs between a desired and a live object, as text.
struct FieldDifference: Hashable, Sendable {
    /// The manifest field name: `scheduler`, `tunnel.port`.
    var field: String
    /// The words for people: `scheduler`, `tunnel port`.
    var label: String
    var expected: String
    var live: String

    /// `weight 100 → 50`.
    var text: String { "\(label) \(live) → \(expected)" }

    /// Every editable attribute of a service that differs (all but the identity).
    static func service(desired d: VirtualService, live l: VirtualService) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func add(_ field: String, _ label: String, _ e: String, _ v: String) {
            if e != v { out.append(FieldDifference(field: field, label: label, expected: e, live: v)) }
        }
        add("scheduler", "scheduler", d.scheduler.rawValue, l.scheduler.rawValue)
        if d.flags != l.flags {
            // Compared by value (the names depend on the scheduler); hex if the names agree.
            var e = flagsText(d.flags, d.scheduler), v = flagsText(l.flags, l.scheduler)
            if e == v { e = "0x\(String(d.flags.rawValue, radix: 16))"; v = "0x\(String(l.flags.rawValue, radix: 16))" }
            out.append(FieldDifference(field: "flags", label: "flags", expected: e, live: v))
        }
        add("timeout", "persistence timeout", "\(d.timeout)", "\(l.timeout)")
        add("netmask", "netmask", netmaskText(d.netmask, d.id.family), netmaskText(l.netmask, l.id.family))
        add("persistenceEngine", "persistence engine", peText(d.persistenceEngine), peText(l.persistenceEngine))
        return out
    }

    /// Every editable attribute of a real server that differs (all but the identity).
    static func realServer(desired d: RealServer, live l: RealServer) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func add(_ field: String, _ label: String, _ e: String, _ v: String) {
            if e != v { out.append(FieldDifference(field: field, label: label, expected: e, live: v)) }
        }
        add("weight", "weight", "\(d.weight)", "\(l.weight)")
        add("forwarding", "forwarding", d.forwarding.description, l.forwarding.description)
        add("upperThreshold", "upper threshold", "\(d.upperThreshold)", "\(l.upperThreshold)")
        add("lowerThreshold", "lower threshold", "\(d.lowerThreshold)", "\(l.lowerThreshold)")
        add("tunnel.type", "tunnel type", d.tunnel.type.description, l.tunnel.type.description)
        add("tunnel.port", "tunnel port", "\(d.tunnel.port)", "\(l.tunnel.port)")
        add("tunnel.checksum", "tunnel checksum", d.tunnel.checksum.description, l.tunnel.checksum.description)
        return out
    }

    /// The fields of timeouts that are declared (non-zero) and differ.
    static func timeouts(desired d: Timeouts, live l: Timeouts) -> [FieldDifference] {
        var out: [FieldDifference] = []
        for (field, label, e, v) in [("tcp", "tcp", d.tcp, l.tcp), ("tcpFin", "tcpfin", d.tcpFin, l.tcpFin), ("udp", "udp", d.udp, l.udp)]
        where e != 0 && e != v {
            out.append(FieldDifference(field: "timeouts.\(field)", label: label, expected: "\(e)", live: "\(v)"))
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
                out.append(FieldDifference(field: f.rawValue, label: f.sysctlName, expected: e, live: v ?? "absent"))
            }
        }
        return out
    }

    /// The declared fields of a sync daemon that differ from a running one. Fields left at 0 or
    /// nil mean "the kernel's default" and match whatever the kernel filled in.
    static func syncDaemon(desired d: SyncDaemon, live l: SyncDaemon) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func add(_ field: String, _ e: String, _ v: String) {
            if e != v { out.append(FieldDifference(field: field, label: field, expected: e, live: v)) }
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
