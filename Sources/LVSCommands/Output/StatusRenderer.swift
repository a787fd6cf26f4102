import LVSModel

/// Renders the live table in the layout operators know from `ipvsadm -Ln --stats`, with the
/// configuration and lvsctl's own state (owner, drains, health) appended to each line.
struct StatusRenderer {
    /// Per-object annotations lvsctl adds: who owns a service, which real servers drain, health.
    struct Annotations {
        var owners: [VirtualService.ID: String] = [:]
        /// Text per (service, real server), e.g. "draining, 25 s left" or "health: down (connect refused)".
        var realServerNotes: [VirtualService.ID: [RealServer.ID: [String]]] = [:]
        /// Text per service, e.g. a whole-service maintenance flag.
        var serviceNotes: [VirtualService.ID: [String]] = [:]
    }

    var info: KernelInfo
    var table: LiveTable
    var annotations = Annotations()

    func render() -> String {
        var out = "IP Virtual Server version \(info.versionString) (size=\(info.connectionTableSize))\n"
        out += "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
        out += "  -> RemoteAddress:Port\n"
        for live in table.services {
            let s = live.service
            out += Self.statsLine(Self.serviceName(s.id), live.stats)
            out += "  " + Self.serviceSummary(s)
            if let owner = annotations.owners[s.id] { out += ", owner \(owner)" } else { out += ", foreign" }
            for note in annotations.serviceNotes[s.id] ?? [] { out += ", " + note }
            out += "\n"
            for r in live.realServers {
                out += Self.statsLine("  -> " + Self.realServerName(r.server.id), r.stats)
                var notes = [
                    "\(r.server.forwarding.listName) w=\(r.server.weight) active=\(r.activeConnections) inactive=\(r.inactiveConnections)"
                ]
                if r.persistentConnections > 0 { notes.append("persistent=\(r.persistentConnections)") }
                notes += annotations.realServerNotes[s.id]?[r.server.id] ?? []
                out += "  " + notes.joined(separator: ", ") + "\n"
            }
        }
        return out
    }

    /// `%-33s %8s %8s %8s %8s %8s`, as ipvsadm prints its stats view (exact numbers, no K/M).
    static func statsLine(_ name: String, _ st: IPVSStats) -> String {
        let cols = [st.connections, st.inPackets, st.outPackets, st.inBytes, st.outBytes].map {
            let s = String($0)
            return String(repeating: " ", count: max(0, 8 - s.count)) + s
        }
        return pad(name, 33) + " " + cols.joined(separator: " ")
    }

    /// `TCP  10.0.0.1:80`, `UDP  [2001:db8::1]:53`, `FWM  7` (ipvsadm's first column).
    static func serviceName(_ id: VirtualService.ID) -> String {
        switch id {
        case .address(let proto, let addr, let port):
            let p = proto == .sctp ? "SCTP" : proto.rawValue.uppercased()
            let a = addr.family == .ipv4 ? "\(addr):\(port)" : "[\(addr)]:\(port)"
            return pad(p, 4) + " " + a
        case .fwmark(let mark, let family):
            return "FWM  \(mark)" + (family == .ipv6 ? " IPv6" : "")
        }
    }

    static func realServerName(_ id: RealServer.ID) -> String { id.description }

    /// `rr`, `wlc persistent 300 mask 255.255.255.0`, `sh (sh-port) ops pe sip`.
    static func serviceSummary(_ s: VirtualService) -> String {
        var parts = [s.scheduler.rawValue]
        let names = s.scheduler.flagNames
        let flags = zip([ServiceFlags.sched1, .sched2, .sched3], names).filter { s.flags.contains($0.0) }.map(\.1)
        if !flags.isEmpty { parts.append("(\(flags.joined(separator: ",")))") }
        if s.isPersistent {
            parts.append("persistent \(s.timeout)")
            if s.netmask != VirtualService.defaultNetmask(s.id.family) {
                parts.append("mask \(s.id.family == .ipv4 ? IPAddress.v4(s.netmask).description : String(s.netmask))")
            }
        }
        if s.flags.contains(.onePacket) { parts.append("ops") }
        if let pe = s.persistenceEngine { parts.append("pe \(pe)") }
        return parts.joined(separator: " ")
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
