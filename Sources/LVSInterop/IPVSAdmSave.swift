public import LVSModel

/// The text `ipvsadm -Sn` (ipvsadm 1.31 as shipped by Debian 12) prints for a table.
///
/// Same lines, same order, same options: services sorted with ipvsadm's own comparator, each
/// followed by its real servers sorted with ipvsadm's destination comparator. Not printed, as in
/// ipvsadm: thresholds, timeouts and sync daemons.
///
/// ipvsadm sorts with `qsort` and comparators that subtract unsigned 32-bit values and return the
/// difference as an `int`, so two values more than 2^31 apart compare "the wrong way round"
/// (10.0.0.1 sorts after 200.0.0.1; firewall mark 3000000000 sorts before the address services).
/// Both comparators and glibc's merge sort are reproduced here. Where those comparisons are not
/// transitive (values spread over more than half of the 32-bit circle within one group) the
/// result of ipvsadm's sort depends on the order the kernel dumped the entries in (hash order),
/// which a `LiveTable` does not keep; the output is then one valid reading, not necessarily
/// ipvsadm's.
public enum IPVSAdmSave {
    /// The `ipvsadm -Sn` text of `table`.
    public static func format(_ table: LiveTable) -> String {
        var out = ""
        let services = mergeSort(table.services.map(ServiceEntry.init), by: compareServices)
        for s in services {
            let v = s.live.service
            let name = serviceName(v.id)
            out += "-A \(name) -s \(v.scheduler.rawValue)"
            if v.flags.contains(.persistent) {
                out += " -p \(v.timeout)"
                switch v.id.family {
                case .ipv4:
                    if v.netmask != 0xffff_ffff { out += " -M \(IPAddress.v4(v.netmask))" }
                case .ipv6:
                    if v.netmask != 128 { out += " -M \(Int32(bitPattern: v.netmask))" }
                }
            }
            if let pe = v.persistenceEngine, !pe.isEmpty { out += " --pe \(pe)" }
            if v.flags.contains(.onePacket) { out += " -o" }
            if !v.flags.intersection(ServiceFlags.schedulerFlags).isEmpty {
                out += " -b " + schedulerFlagNames(v).joined(separator: ",")
            }
            out += "\n"
            let dests = mergeSort(s.live.realServers.map(DestEntry.init), by: compareDests)
            for d in dests {
                out += destLine(service: name, d.live.server)
            }
        }
        return out
    }

    // MARK: - Lines

    /// `-t 192.0.2.10:80`, `-u [2001:db8::1]:53`, `--sctp-service …`, `-f 7`, `-f 7 -6`. Debian's
    /// ipvsadm 1.31 prints the mark with `%d`, so marks ≥ 2^31 come out negative.
    public static func serviceName(_ id: VirtualService.ID) -> String {
        switch id {
        case .fwmark(let mark, let family):
            return "-f \(Int32(bitPattern: mark))" + (family == .ipv6 ? " -6" : "")
        case .address(let proto, let addr, let port):
            let option: String
            switch proto {
            case .tcp: option = "-t"
            case .udp: option = "-u"
            case .sctp: option = "--sctp-service"
            }
            return "\(option) \(hostPort(addr, port))"
        }
    }

    public static func hostPort(_ a: IPAddress, _ port: UInt16) -> String {
        a.family == .ipv4 ? "\(a):\(port)" : "[\(a)]:\(port)"
    }

    /// The `-b` names: for `sh`/`mh` only flags 1 and 2 have names (flag 3 prints nothing, leaving
    /// `-b ` empty, as ipvsadm does); other schedulers print `flag-1…flag-3`.
    static func schedulerFlagNames(_ v: VirtualService) -> [String] {
        var names: [String] = []
        switch v.scheduler.rawValue {
        case "sh", "mh":
            let p = v.scheduler.rawValue
            if v.flags.contains(.sched1) { names.append("\(p)-fallback") }
            if v.flags.contains(.sched2) { names.append("\(p)-port") }
        default:
            if v.flags.contains(.sched1) { names.append("flag-1") }
            if v.flags.contains(.sched2) { names.append("flag-2") }
            if v.flags.contains(.sched3) { names.append("flag-3") }
        }
        return names
    }

    /// `-m` (MASQ), `-i` (TUNNEL), `-g` (DROUTE and LOCALNODE); other values print as glibc prints
    /// a NULL string.
    static func forwardingSwitch(_ f: ForwardingMethod) -> String {
        switch f.rawValue & 7 {
        case 0: "-m"
        case 2: "-i"
        case 1, 3: "-g"
        default: "(null)"
        }
    }

    static let tunnelChecksumOptions = ["--tun-nocsum", "--tun-csum", "--tun-remcsum"]

    static func destLine(service: String, _ r: RealServer) -> String {
        let head = "-a \(service) -r \(hostPort(r.id.address, r.id.port)) \(forwardingSwitch(r.forwarding)) -w \(Int32(bitPattern: r.weight))"
        guard r.forwarding.rawValue & 7 == ForwardingMethod.tunnel.rawValue else { return head + "\n" }
        let csum = Int(r.tunnel.checksum.rawValue) < tunnelChecksumOptions.count
            ? tunnelChecksumOptions[Int(r.tunnel.checksum.rawValue)] : "--tun-flags-\(r.tunnel.checksum.rawValue)"
        switch r.tunnel.type {
        case .gre: return head + " --tun-type gre \(csum)\n"
        case .gue: return head + " --tun-type gue --tun-port \(r.tunnel.port) \(csum)\n"
        case .ipip: return head + " --tun-type ipip\n"
        default: return head + "\n"
        }
    }

    // MARK: - ipvsadm's comparators (libipvs ipvs_cmp_services / ipvs_cmp_dests)

    /// A service as libipvs holds it: fwmark services have protocol, address and port 0.
    struct ServiceEntry {
        var live: LiveService
        var fwmark: UInt32 = 0
        var af: Int32
        var proto: Int32 = 0
        /// The 16-byte address as four host-order words (IPv4 in the first).
        var words: [UInt32] = [0, 0, 0, 0]
        var port: Int32 = 0

        init(_ s: LiveService) {
            live = s
            af = Int32(s.service.id.family.kernelValue)
            switch s.service.id {
            case .fwmark(let m, _): fwmark = m
            case .address(let p, let a, let port):
                proto = Int32(p.kernelValue)
                words = addressWords(a)
                self.port = Int32(port)
            }
        }
    }

    struct DestEntry {
        var live: LiveRealServer
        var af: Int32
        var words: [UInt32]
        var port: Int32

        init(_ d: LiveRealServer) {
            live = d
            af = Int32(d.server.id.family.kernelValue)
            words = addressWords(d.server.id.address)
            port = Int32(d.server.id.port)
        }
    }

    static func addressWords(_ a: IPAddress) -> [UInt32] {
        let b = a.bytes + [UInt8](repeating: 0, count: 16 - a.bytes.count)
        var words: [UInt32] = []
        for i in 0..<4 {
            var w: UInt32 = 0
            for j in 0..<4 { w = w << 8 | UInt32(b[4 * i + j]) }
            words.append(w)
        }
        return words
    }

    /// `a - b` of two unsigned 32-bit values, returned as a C `int` (wraps).
    @inline(__always) static func diff(_ a: UInt32, _ b: UInt32) -> Int32 { Int32(bitPattern: a &- b) }

    /// libipvs `ipvs_cmp_services`: fwmark, af, protocol, address (word by word for IPv6), port.
    static func compareServices(_ s1: ServiceEntry, _ s2: ServiceEntry) -> Int32 {
        var r = diff(s1.fwmark, s2.fwmark)
        if r != 0 { return r }
        r = s1.af - s2.af
        if r != 0 { return r }
        r = s1.proto - s2.proto
        if r != 0 { return r }
        if s1.af == 10 {
            for i in 0..<4 where r == 0 { r = diff(s1.words[i], s2.words[i]) }
        } else {
            r = diff(s1.words[0], s2.words[0])
        }
        if r != 0 { return r }
        return s1.port - s2.port
    }

    /// libipvs `ipvs_cmp_dests`: address (as the first entry's family says), then port.
    static func compareDests(_ d1: DestEntry, _ d2: DestEntry) -> Int32 {
        var r: Int32 = 0
        if d1.af == 10 {
            for i in 0..<4 where r == 0 { r = diff(d1.words[i], d2.words[i]) }
        } else {
            r = diff(d1.words[0], d2.words[0])
        }
        if r != 0 { return r }
        return d1.port - d2.port
    }

    /// glibc 2.36 `qsort`: a top-down merge sort (`msort_with_tmp`) splitting at n/2 and taking
    /// from the left run while `cmp(left, right) <= 0`.
    static func mergeSort<T>(_ a: [T], by cmp: (T, T) -> Int32) -> [T] {
        if a.count <= 1 { return a }
        let n1 = a.count / 2
        let left = mergeSort(Array(a[..<n1]), by: cmp)
        let right = mergeSort(Array(a[n1...]), by: cmp)
        var out: [T] = []
        out.reserveCapacity(a.count)
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if cmp(left[i], right[j]) <= 0 {
                out.append(left[i]); i += 1
            } else {
                out.append(right[j]); j += 1
            }
        }
        out += left[i...]
        out += right[j...]
        return out
    }
}
