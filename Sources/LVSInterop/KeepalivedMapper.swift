import LVSModel

/// Translates the keepalived block tree into services, following keepalived's checker-process
/// semantics (see `KeepalivedImporter` for the facts it relies on).
struct KeepalivedMapper {
    let manifestName: String
    var diagnostics: [Diagnostic] = []
    var ignored: [KeepalivedImport.IgnoredBlock] = []
    var state: DesiredState

    init(manifestName: String) {
        self.manifestName = manifestName
        self.state = DesiredState(manifest: manifestName)
    }

    // MARK: - Intermediate values (keepalived's own structures, before validation)

    struct URLSpec {
        var path: String?
        var digest: String?
        var statusCodes: [Int] = []
        var virtualhost: String?
    }

    struct Checker {
        var keyword: String
        var kind: HealthCheck.Kind
        var node: KeepalivedNode
        /// The real server address and port when the checker was declared (keepalived copies it).
        var destination: (IPAddress, UInt16)
        var connectIP: IPAddress?
        var connectPort: UInt16?
        var connectTimeout: Double?
        var retry: UInt32?
        var delayBeforeRetry: Double?
        var delayLoop: Double?
        var alpha: Bool?
        var urls: [URLSpec] = []
        var virtualhost: String?
        var command: [String]?
        var miscTimeout: Double?
        var defaultRetry: UInt32
        var defaultDelayBeforeRetry: Double
    }

    struct RS {
        var node: KeepalivedNode
        var address: IPAddress
        /// 0 = not given.
        var port: UInt16
        var forwarding: ForwardingMethod?
        var tunnel = TunnelSettings.default
        var weight: UInt32?
        var upper: UInt32 = 0
        var lower: UInt32 = 0
        var inhibit: Bool?
        var alpha: Bool?
        var retry: UInt32?
        var delayBeforeRetry: Double?
        var connectTimeout: Double?
        var delayLoop: Double?
        var virtualhost: String?
        var checkers: [Checker] = []
    }

    enum VSKind {
        case address(IPAddress, UInt16)
        case fwmark(UInt32)
        case group(String)
    }

    struct VS {
        var node: KeepalivedNode
        var kind: VSKind
        var family: IPFamily?
        var proto: IPProtocol?
        var scheduler: String?
        var flags: ServiceFlags = []
        var persistenceTimeout: UInt32 = 0
        var granularity: UInt32?
        var persistenceEngine: String?
        var forwarding: ForwardingMethod?
        var tunnel = TunnelSettings.default
        var delayLoop: Double = 60
        var connectTimeout: Double = 5
        var retry: UInt32?
        var delayBeforeRetry: Double?
        var weight: UInt32 = 1
        var inhibit = false
        var alpha = false
        var quorum: UInt32 = 1
        var quorumSet = false
        var hysteresis: UInt32 = 0
        var hysteresisSet = false
        var virtualhost: String?
        var sorry: RS?
        var realServers: [RS] = []
    }

    enum GroupEntry {
        case addresses([IPAddress], UInt16, KeepalivedNode)
        case fwmark(UInt32, IPFamily?, KeepalivedNode)
    }

    var groups: [String: [GroupEntry]] = [:]
    var virtualServers: [VS] = []

    // MARK: - Diagnostics helpers

    mutating func error(_ node: KeepalivedNode, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, file: node.file, path: node.keyword, line: node.line, message: message, hint: hint))
    }

    mutating func warn(_ node: KeepalivedNode, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.warning, file: node.file, path: node.keyword, line: node.line, message: message, hint: hint))
    }

    mutating func ignore(_ node: KeepalivedNode, reason: String, hint: String) {
        let name = node.args.first
        ignored.append(KeepalivedImport.IgnoredBlock(
            keyword: node.keyword, name: name, file: node.file, line: node.line, reason: reason))
        let title = name.map { "\(node.keyword) \($0)" } ?? node.keyword
        diagnostics.append(Diagnostic(
            .warning, file: node.file, path: node.keyword, line: node.line,
            message: "\(title) (line \(node.line)): \(reason)", hint: hint))
    }

    /// An unknown keyword: keepalived logs it and goes on; with a block it misparses the block.
    mutating func unknown(_ node: KeepalivedNode, in context: String) {
        if node.children != nil {
            error(node, "unknown keyword '\(node.keyword)' with a block in \(context); keepalived does not skip unknown blocks (their '}' closes the enclosing block)",
                  hint: "remove the block or fix the keyword's spelling")
        } else {
            warn(node, "unknown keyword '\(node.keyword)' in \(context); keepalived ignores it",
                 hint: "remove it or fix its spelling")
        }
    }

    mutating func needArg(_ node: KeepalivedNode, _ count: Int = 1) -> Bool {
        if node.args.count >= count { return true }
        error(node, "'\(node.keyword)' needs \(count == 1 ? "a value" : "\(count) values")",
              hint: "see keepalived.conf(5) for the syntax")
        return false
    }

    /// keepalived's `read_unsigned`: decimal, no sign.
    mutating func unsigned(_ node: KeepalivedNode, _ index: Int = 0, min: UInt32 = 0, max: UInt32 = .max) -> UInt32? {
        guard needArg(node, index + 1) else { return nil }
        let s = node.args[index]
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt64(s), v <= UInt64(UInt32.max) else {
            error(node, "'\(s)' is not a valid number for \(node.keyword)", hint: "use a whole number from \(min) to \(max)")
            return nil
        }
        guard v >= UInt64(min) && v <= UInt64(max) else {
            error(node, "\(node.keyword) \(s) is outside the range \(min)-\(max)", hint: "use a value from \(min) to \(max)")
            return nil
        }
        return UInt32(v)
    }

    /// keepalived's `read_timer`: seconds with up to 6 decimal places.
    mutating func seconds(_ node: KeepalivedNode, allowZero: Bool) -> Double? {
        guard needArg(node) else { return nil }
        let s = node.args[0]
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        let valid = !s.isEmpty && parts.count <= 2 && parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
            && !(parts.first?.isEmpty ?? true)
        guard valid, let v = Double(s) else {
            error(node, "'\(s)' is not a valid time for \(node.keyword)", hint: "give seconds, e.g. 3 or 1.5")
            return nil
        }
        if !allowZero && v == 0 {
            error(node, "\(node.keyword) must be greater than 0", hint: "give a positive number of seconds")
            return nil
        }
        return v
    }

    /// keepalived's `check_true_false` for optional boolean arguments (no argument = true).
    mutating func flag(_ node: KeepalivedNode) -> Bool? {
        guard let s = node.args.first else { return true }
        switch s {
        case "true", "on", "yes": return true
        case "false", "off", "no": return false
        default:
            error(node, "invalid \(node.keyword) parameter '\(s)'", hint: "use yes/no, on/off or true/false")
            return nil
        }
    }

    // MARK: - Top level

    static let vrrpHint = "keep keepalived for VRRP or use another VIP manager"

    mutating func run(_ nodes: [KeepalivedNode]) {
        for node in nodes {
            switch node.keyword {
            case "virtual_server":
                if let vs = parseVirtualServer(node) { virtualServers.append(vs) }
            case "virtual_server_group":
                parseGroup(node)
            case "vrrp_instance", "vrrp_sync_group", "vrrp_script", "vrrp_track_process", "vrrp_track_file",
                "static_ipaddress", "static_routes", "static_rules", "garp_group", "linkbeat_interfaces":
                ignore(node, reason: "VRRP is not managed by lvsctl", hint: KeepalivedMapper.vrrpHint)
            case "global_defs":
                ignore(node, reason: "global settings (notification e-mail, SMTP, router id, scripts…) are not managed by lvsctl",
                       hint: "keep them in keepalived if it still runs VRRP; otherwise they are not needed")
            case "SSL":
                ignore(node, reason: "the SSL client context for SSL_GET (ca/certificate/key/password) is not imported",
                       hint: "SSL_GET checks are imported without certificate verification")
            case "bfd_instance", "track_file", "track_process", "net_namespace", "net_namespace_ipvs",
                "instance", "use_pid_dir", "namespace_with_ipsets", "child_wait_time":
                ignore(node, reason: "\(node.keyword) is not managed by lvsctl", hint: "configure it outside lvsctl if needed")
            default:
                if node.keyword.hasPrefix("notification_email") || node.keyword.hasPrefix("smtp_")
                    || node.keyword.hasPrefix("notify") || node.keyword.hasPrefix("track_")
                {
                    ignore(node, reason: "notifications and tracking are not managed by lvsctl",
                           hint: "keep keepalived for them or use your monitoring")
                } else {
                    unknown(node, in: "the top level")
                }
            }
        }
        resolve()
    }

    // MARK: - virtual_server_group

    mutating func parseGroup(_ node: KeepalivedNode) {
        guard let name = node.args.first else {
            error(node, "virtual_server_group needs a name", hint: "write virtual_server_group NAME { … }")
            return
        }
        guard let children = node.children else {
            error(node, "virtual_server_group \(name) has no { } block", hint: "list the group's addresses in a block")
            return
        }
        if groups[name] != nil {
            warn(node, "virtual_server_group \(name) is defined twice; the first definition is used",
                 hint: "rename or remove one of them")
            return
        }
        var entries: [GroupEntry] = []
        for entry in children {
            if entry.keyword == "fwmark" {
                guard let mark = unsigned(entry, 0) else { continue }
                var family: IPFamily? = nil
                if entry.args.count > 1 {
                    switch entry.args[1] {
                    case "inet": family = .ipv4
                    case "inet6": family = .ipv6
                    default:
                        error(entry, "fwmark \(mark) family '\(entry.args[1])' is unknown", hint: "use inet or inet6")
                        continue
                    }
                }
                entries.append(.fwmark(mark, family, entry))
                continue
            }
            var port: UInt16 = 0
            if let p = entry.args.first {
                guard let v = UInt16(p), p.allSatisfy({ $0.isNumber }) else {
                    error(entry, "invalid port '\(p)' in virtual_server_group \(name)", hint: "use a port from 0 to 65535")
                    continue
                }
                port = v
            }
            guard let addresses = expandRange(entry) else { continue }
            entries.append(.addresses(addresses, port, entry))
        }
        if entries.isEmpty {
            warn(node, "virtual server group \(name) has no entries; keepalived removes it", hint: "add addresses or remove the group")
            return
        }
        groups[name] = entries
    }

    static let maxGroupExpansion = 4096

    /// `IP`, `IP-LAST` (last IPv4 octet, or last IPv6 group in hex), `IP-IP`, `IP/PREFIX`.
    mutating func expandRange(_ node: KeepalivedNode) -> [IPAddress]? {
        let text = node.keyword
        func bad(_ why: String) -> [IPAddress]? {
            error(node, "invalid virtual server group address '\(text)': \(why)",
                  hint: "write IP, IP-LAST, IP-IP or IP/PREFIX followed by a port")
            return nil
        }
        if let slash = text.firstIndex(of: "/") {
            guard let base = IPAddress(text[..<slash]) else { return bad("not an IP address") }
            let bits = base.family == .ipv4 ? 32 : 128
            guard let prefix = Int(text[text.index(after: slash)...]), prefix >= 1, prefix <= bits else {
                return bad("the prefix length must be 1-\(bits)")
            }
            let hostBits = bits - prefix
            guard hostBits <= 12 else { return bad("the range has more than \(KeepalivedMapper.maxGroupExpansion) addresses") }
            let count = 1 << hostBits
            let bytes = base.bytes
            // Host bits must be zero (keepalived: "Address mask bits not empty").
            if addOffset(bytes, 0, clearingLow: hostBits) != bytes { return bad("host bits are set") }
            return (0..<count).compactMap { IPAddress(family: base.family, bytes: addOffset(bytes, $0, clearingLow: 0)) }
        }
        if let dash = text.firstIndex(of: "-") {
            guard let start = IPAddress(text[..<dash]) else { return bad("not an IP address") }
            let endText = String(text[text.index(after: dash)...])
            let startBytes = start.bytes
            var endBytes: [UInt8]
            if (start.family == .ipv4 && endText.contains(".")) || (start.family == .ipv6 && endText.contains(":")) {
                guard let end = IPAddress(endText), end.family == start.family else { return bad("invalid range end") }
                endBytes = end.bytes
            } else if start.family == .ipv4 {
                guard let last = UInt8(endText), endText.allSatisfy({ $0.isNumber }) else { return bad("the range end must be 0-255") }
                endBytes = startBytes
                endBytes[3] = last
                if startBytes[3] >= last { return bad("the range end is not greater than the start") }
            } else {
                guard let last = UInt16(endText, radix: 16) else { return bad("the range end must be a hex group 0-ffff") }
                endBytes = startBytes
                endBytes[14] = UInt8(last >> 8)
                endBytes[15] = UInt8(last & 0xff)
                if startBytes.lexicographicallyPrecedes(endBytes) == false { return bad("the range end is not greater than the start") }
            }
            if endBytes.lexicographicallyPrecedes(startBytes) { return bad("the range end is less than the start") }
            // Count the addresses (only the last 4 bytes may differ for a sane range).
            guard startBytes.dropLast(4) == endBytes.dropLast(4) else { return bad("the range is too large") }
            let s = startBytes.suffix(4).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let e = endBytes.suffix(4).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard e - s < UInt64(KeepalivedMapper.maxGroupExpansion) else {
                return bad("the range has more than \(KeepalivedMapper.maxGroupExpansion) addresses")
            }
            return (0...Int(e - s)).compactMap { IPAddress(family: start.family, bytes: addOffset(startBytes, $0, clearingLow: 0)) }
        }
        guard let a = IPAddress(text) else { return bad("not an IP address") }
        return [a]
    }

    /// `bytes` with the low `clearingLow` bits cleared, plus `offset`.
    func addOffset(_ bytes: [UInt8], _ offset: Int, clearingLow: Int) -> [UInt8] {
        var b = bytes
        var bits = clearingLow
        var i = b.count - 1
        while bits > 0 && i >= 0 {
            let n = min(bits, 8)
            b[i] &= n == 8 ? 0 : ~UInt8((1 << n) - 1)
            bits -= n
            i -= 1
        }
        var carry = offset
        i = b.count - 1
        while carry > 0 && i >= 0 {
            let sum = Int(b[i]) + (carry & 0xff)
            b[i] = UInt8(sum & 0xff)
            carry = (carry >> 8) + (sum >> 8)
            i -= 1
        }
        return b
    }

    // MARK: - virtual_server

    mutating func parseVirtualServer(_ node: KeepalivedNode) -> VS? {
        guard let first = node.args.first else {
            error(node, "virtual_server needs an address and port, fwmark N, or group NAME",
                  hint: "write virtual_server IP PORT { … }")
            return nil
        }
        let kind: VSKind
        switch first {
        case "group":
            guard node.args.count >= 2 else {
                error(node, "virtual_server group needs a group name", hint: "write virtual_server group NAME { … }")
                return nil
            }
            kind = .group(node.args[1])
        case "fwmark":
            guard node.args.count >= 2 else {
                error(node, "virtual_server fwmark needs a mark", hint: "write virtual_server fwmark N { … }")
                return nil
            }
            guard let mark = unsigned(node, 1) else { return nil }
            if mark == 0 {
                error(node, "fwmark 0 cannot be used for a service", hint: "use a mark from 1 to 4294967295")
                return nil
            }
            kind = .fwmark(mark)
        default:
            guard let address = IPAddress(first) else {
                error(node, "invalid virtual server address '\(first)'", hint: "use a numeric IPv4 or IPv6 address (no host names)")
                return nil
            }
            var port: UInt16 = 0
            if node.args.count >= 2 {
                let p = node.args[1]
                guard p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt16(p) else {
                    error(node, "invalid virtual server port '\(p)'", hint: "use a port from 0 to 65535")
                    return nil
                }
                port = v
            }
            if node.args.count > 2 {
                warn(node, "extra words after the virtual server address and port are ignored: \(node.args.dropFirst(2).joined(separator: " "))")
            }
            kind = .address(address, port)
        }
        guard let children = node.children else {
            error(node, "virtual_server has no { } block", hint: "put the service's settings and real servers in a block")
            return nil
        }
        var vs = VS(node: node, kind: kind)
        if case .address(let a, _) = kind { vs.family = a.family }
        for child in children {
            parseVSKeyword(child, into: &vs)
        }
        if vs.realServers.isEmpty {
            warn(node, "virtual server \(describe(vs)) has no real servers; keepalived ignores it",
                 hint: "add real_server blocks or remove the virtual server")
            return nil
        }
        // Address family of a fwmark service without ip_family: from its non-tunnel servers, else IPv4.
        if vs.family == nil, case .fwmark = kind {
            let candidates = ([vs.sorry].compactMap { $0 } + vs.realServers)
            vs.family = candidates.first?.address.family ?? .ipv4
            if Set(candidates.map(\.address.family)).count > 1 { vs.family = .ipv4 }
        }
        return vs
    }

    func describe(_ vs: VS) -> String {
        switch vs.kind {
        case .address(let a, let p): a.family == .ipv4 ? "\(a):\(p)" : "[\(a)]:\(p)"
        case .fwmark(let m): "fwmark \(m)"
        case .group(let g): "group \(g)"
        }
    }

    static let notManagedVS: Set<String> = [
        "ha_suspend", "smtp_alert", "snmp_name", "omega", "quorum_up", "quorum_down", "warmup",
        "sorry_server_inhibit",
    ]

    mutating func parseVSKeyword(_ n: KeepalivedNode, into vs: inout VS) {
        switch n.keyword {
        case "ip_family":
            guard needArg(n) else { return }
            let family: IPFamily
            switch n.args[0] {
            case "inet": family = .ipv4
            case "inet6": family = .ipv6
            default:
                error(n, "unknown address family '\(n.args[0])'", hint: "use inet or inet6")
                return
            }
            if let f = vs.family, f != family {
                error(n, "ip_family \(n.args[0]) conflicts with the virtual server's address family",
                      hint: "remove ip_family or fix the address")
                return
            }
            vs.family = family
        case "retry":
            if let v = unsigned(n, min: 1) { vs.retry = v }
        case "delay_before_retry":
            if let v = seconds(n, allowZero: true) { vs.delayBeforeRetry = v }
        case "connect_timeout":
            if let v = seconds(n, allowZero: false) { vs.connectTimeout = v }
        case "delay_loop":
            if let v = seconds(n, allowZero: false) { vs.delayLoop = v }
        case "inhibit_on_failure":
            vs.inhibit = true
        case "lb_algo", "lvs_sched":
            guard needArg(n) else { return }
            let name = n.args[0]
            let valid = ["rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"]
            guard valid.contains(name) else {
                error(n, "invalid scheduler '\(name)'; keepalived ignores it", hint: "use one of \(valid.joined(separator: ", "))")
                return
            }
            vs.scheduler = name
        case "hashed":
            warn(n, "'hashed' has no effect (the kernel sets the hashed flag itself); keepalived reports it as an error")
        case "ops":
            vs.flags.insert(.onePacket)
        case "flag-1": vs.flags.insert(.sched1)
        case "flag-2": vs.flags.insert(.sched2)
        case "flag-3": vs.flags.insert(.sched3)
        case "sh-port", "sh-fallback", "mh-port", "mh-fallback":
            let sched = String(n.keyword.prefix(2))
            // keepalived checks the scheduler set so far, so lb_algo must come first.
            guard vs.scheduler == sched else {
                warn(n, "\(n.keyword) only applies to the \(sched) scheduler (set with lb_algo before it); keepalived ignores it",
                     hint: "put 'lb_algo \(sched)' before \(n.keyword), or remove it")
                return
            }
            vs.flags.insert(n.keyword.hasSuffix("port") ? .sched2 : .sched1)
        case "lb_kind", "lvs_method":
            var fwd = vs.forwarding
            var tun = vs.tunnel
            parseForwarding(n, method: &fwd, tunnel: &tun, what: "virtual")
            vs.forwarding = fwd
            vs.tunnel = tun
        case "persistence_engine":
            guard needArg(n) else { return }
            vs.persistenceEngine = n.args[0]
        case "persistence_timeout":
            if n.args.isEmpty {
                vs.persistenceTimeout = 360
            } else if let v = unsigned(n, min: 1, max: 86400 * 31) {
                vs.persistenceTimeout = v
            }
        case "persistence_granularity":
            guard needArg(n) else { return }
            let s = n.args[0]
            let family = vs.family ?? (s.contains(".") ? .ipv4 : .ipv6)
            if family == .ipv6 {
                guard let v = unsigned(n, min: 1, max: 128) else { return }
                vs.granularity = v
            } else {
                guard let a = IPAddress(s), case .v4(let mask) = a else {
                    error(n, "invalid IPv4 persistence_granularity '\(s)'", hint: "use a netmask such as 255.255.255.0")
                    return
                }
                vs.granularity = mask
            }
            if vs.family == nil { vs.family = family }
            if vs.persistenceTimeout == 0 { vs.persistenceTimeout = 360 }
        case "protocol":
            guard needArg(n) else { return }
            switch n.args[0].uppercased() {
            case "TCP": vs.proto = .tcp
            case "UDP": vs.proto = .udp
            case "SCTP": vs.proto = .sctp
            default: error(n, "unknown protocol '\(n.args[0])'; keepalived ignores it", hint: "use TCP, UDP or SCTP")
            }
        case "virtualhost":
            guard needArg(n) else { return }
            vs.virtualhost = n.args[0]
        case "alpha":
            vs.alpha = true
        case "quorum":
            if let v = unsigned(n, min: 1) {
                vs.quorum = v
            } else {
                vs.quorum = 1
            }
            vs.quorumSet = true
        case "hysteresis":
            if let v = unsigned(n) {
                vs.hysteresis = v
                vs.hysteresisSet = true
            }
        case "weight":
            if let v = unsigned(n, min: 1, max: UInt32(Int32.max)) { vs.weight = v }
        case "sorry_server":
            guard needArg(n) else { return }
            guard let rs = parseServerAddress(n, vs: vs, what: "sorry server") else { return }
            vs.sorry = rs
        case "sorry_server_lvs_method":
            guard var s = vs.sorry else {
                error(n, "sorry_server_lvs_method before or without sorry_server; keepalived ignores it",
                      hint: "put it after sorry_server")
                return
            }
            var fwd = s.forwarding
            parseForwarding(n, method: &fwd, tunnel: &s.tunnel, what: "sorry")
            s.forwarding = fwd
            vs.sorry = s
        case "real_server":
            parseRealServer(n, into: &vs)
        default:
            if KeepalivedMapper.notManagedVS.contains(n.keyword) {
                warn(n, "\(n.keyword) is not managed by lvsctl and is not imported",
                     hint: "lvsctl has no equivalent; drop it or keep keepalived for it")
            } else {
                unknown(n, in: "virtual_server")
            }
        }
    }

    /// `NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`.
    mutating func parseForwarding(_ n: KeepalivedNode, method: inout ForwardingMethod?, tunnel: inout TunnelSettings, what: String) {
        guard needArg(n) else { return }
        switch n.args[0] {
        case "NAT": method = .masquerade
        case "DR": method = .directRoute
        case "TUN": method = .tunnel
        default:
            error(n, "unknown forwarding method '\(n.args[0])' for the \(what) server", hint: "use NAT, DR or TUN (upper case)")
            return
        }
        var type = TunnelType.ipip
        var port: UInt32 = 0
        var csum = TunnelChecksum.none
        var i = 1
        let a = n.args
        while i < a.count {
            switch a[i] {
            case "type":
                guard i + 1 < a.count else {
                    error(n, "missing tunnel type for the \(what) server", hint: "write type ipip, type gue or type gre")
                    return
                }
                guard let t = TunnelType(name: a[i + 1]) else {
                    error(n, "unknown tunnel type '\(a[i + 1])' for the \(what) server", hint: "use ipip, gue or gre")
                    return
                }
                type = t
                i += 1
            case "port":
                guard i + 1 < a.count else {
                    error(n, "missing port for the \(what) server's gue tunnel", hint: "write port N")
                    return
                }
                guard let p = UInt32(a[i + 1]), p >= 1, p <= 65535 else {
                    error(n, "invalid gue tunnel port '\(a[i + 1])'", hint: "use a port from 1 to 65535")
                    return
                }
                port = p
                i += 1
            case "nocsum": csum = .none
            case "csum": csum = .checksum
            case "remcsum": csum = .remoteChecksum
            default:
                error(n, "invalid tunnel option '\(a[i])' for the \(what) server", hint: "use type, port, nocsum, csum or remcsum")
                return
            }
            i += 1
        }
        if (type == .gue) != (port != 0) {
            error(n, "gue tunnels require a port, other tunnel types cannot have one", hint: "write type gue port N")
            return
        }
        if type == .ipip && csum != .none {
            error(n, "ipip tunnels do not support a checksum option", hint: "remove the checksum option or use gue/gre")
            return
        }
        if type == .gre && csum == .remoteChecksum {
            error(n, "gre tunnels do not support remcsum", hint: "use nocsum or csum")
            return
        }
        tunnel = TunnelSettings(type: type, port: UInt16(port), checksum: csum)
    }

    /// `IP [PORT]` of a real or sorry server; inherits the forwarding method set so far.
    mutating func parseServerAddress(_ n: KeepalivedNode, vs: VS, what: String) -> RS? {
        guard let address = IPAddress(n.args[0]) else {
            error(n, "invalid \(what) address '\(n.args[0])'; keepalived skips it", hint: "use a numeric IPv4 or IPv6 address")
            return nil
        }
        var port: UInt16 = 0
        if n.args.count >= 2 {
            guard n.args[1].allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(n.args[1]) else {
                error(n, "invalid \(what) port '\(n.args[1])'; keepalived skips it", hint: "use a port from 0 to 65535")
                return nil
            }
            port = p
        }
        var rs = RS(node: n, address: address, port: port)
        rs.forwarding = vs.forwarding
        rs.tunnel = vs.tunnel
        return rs
    }

    static let notManagedRS: Set<String> = ["notify_up", "notify_down", "smtp_alert", "snmp_name", "warmup", "track_file", "track_bfd"]

    mutating func parseRealServer(_ n: KeepalivedNode, into vs: inout VS) {
        guard needArg(n) else { return }
        guard var rs = parseServerAddress(n, vs: vs, what: "real server") else { return }
        for c in n.children ?? [] {
            switch c.keyword {
            case "weight":
                if let v = unsigned(c, max: UInt32(Int32.max)) { rs.weight = v }
            case "lvs_method":
                var fwd = rs.forwarding
                parseForwarding(c, method: &fwd, tunnel: &rs.tunnel, what: "real")
                rs.forwarding = fwd
            case "lb_kind":
                warn(c, "lb_kind is not a real_server keyword in keepalived (it ignores it); use lvs_method",
                     hint: "write lvs_method \(c.args.first ?? "DR") inside real_server")
            case "uthreshold":
                if let v = unsigned(c) { rs.upper = v }
            case "lthreshold":
                if let v = unsigned(c) { rs.lower = v }
            case "inhibit_on_failure":
                if let v = flag(c) { rs.inhibit = v }
            case "alpha":
                if let v = flag(c) { rs.alpha = v }
            case "retry":
                if let v = unsigned(c, min: 1) { rs.retry = v }
            case "delay_before_retry":
                if let v = seconds(c, allowZero: true) { rs.delayBeforeRetry = v }
            case "connect_timeout":
                if let v = seconds(c, allowZero: false) { rs.connectTimeout = v }
            case "delay_loop":
                if let v = seconds(c, allowZero: false) { rs.delayLoop = v }
            case "virtualhost":
                if needArg(c) { rs.virtualhost = c.args[0] }
            case "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK":
                if let ch = parseChecker(c, rs: rs) { rs.checkers.append(ch) }
            case "SMTP_CHECK", "DNS_CHECK", "BFD_CHECK", "FILE_CHECK", "PING_CHECK", "UDP_CHECK":
                warn(c, "\(c.keyword) is not supported by lvsctl; the real server is imported without this check",
                     hint: "use TCP_CHECK, HTTP_GET, SSL_GET or MISC_CHECK")
            default:
                if KeepalivedMapper.notManagedRS.contains(c.keyword) {
                    warn(c, "\(c.keyword) is not managed by lvsctl and is not imported",
                         hint: "lvsctl has no equivalent; drop it or keep keepalived for it")
                } else {
                    unknown(c, in: "real_server")
                }
            }
        }
        if rs.upper != 0 && rs.lower > rs.upper {
            warn(n, "lthreshold \(rs.lower) is above uthreshold \(rs.upper)", hint: "lthreshold should be below uthreshold")
        }
        // Address families must match unless the server is tunnelled.
        if rs.forwarding != .tunnel, let f = vs.family, f != rs.address.family {
            error(n, "the address families of the virtual server and real server \(rs.address) differ; keepalived skips the real server",
                  hint: "only TUN real servers may be of the other family")
            return
        }
        vs.realServers.append(rs)
    }

    // MARK: - Checkers

    static let commonCheckerKeywords: Set<String> = ["retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures"]
    static let connectionKeywords: Set<String> = ["connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark"]

    mutating func parseChecker(_ n: KeepalivedNode, rs: RS) -> Checker? {
        let kind: HealthCheck.Kind
        var defaultDelay = 1.0
        var defaultRetry: UInt32 = 1
        switch n.keyword {
        case "TCP_CHECK": kind = .tcp
        case "HTTP_GET": kind = .http; defaultDelay = 3
        case "SSL_GET": kind = .https; defaultDelay = 3
        default: kind = .exec; defaultRetry = 0
        }
        var ch = Checker(
            keyword: n.keyword, kind: kind, node: n, destination: (rs.address, rs.port),
            defaultRetry: defaultRetry, defaultDelayBeforeRetry: defaultDelay)
        let isHTTP = kind == .http || kind == .https
        for c in n.children ?? [] {
            if kind != .exec && KeepalivedMapper.connectionKeywords.contains(c.keyword) {
                switch c.keyword {
                case "connect_ip":
                    guard needArg(c) else { continue }
                    guard let a = IPAddress(c.args[0]) else {
                        error(c, "invalid connect_ip '\(c.args[0])'", hint: "use a numeric address")
                        continue
                    }
                    ch.connectIP = a
                case "connect_port":
                    if let v = unsigned(c, min: 1, max: 65535) { ch.connectPort = UInt16(v) }
                case "connect_timeout":
                    if let v = seconds(c, allowZero: false) { ch.connectTimeout = v }
                default:
                    warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported",
                         hint: "checks connect from the director's default source address")
                }
                continue
            }
            switch c.keyword {
            case "retry":
                if let v = unsigned(c) { ch.retry = v }
            case "nb_get_retry" where isHTTP:
                warn(c, "nb_get_retry is deprecated (keepalived 2.2 and later removed it); imported as retry",
                     hint: "write retry instead")
                if let v = unsigned(c) { ch.retry = v }
            case "delay_before_retry":
                if let v = seconds(c, allowZero: true) { ch.delayBeforeRetry = v }
            case "delay_loop":
                if let v = seconds(c, allowZero: false) { ch.delayLoop = v }
            case "alpha":
                if let v = flag(c) { ch.alpha = v }
            case "warmup", "log_all_failures":
                warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported")
            case "virtualhost" where isHTTP:
                if needArg(c) { ch.virtualhost = c.args[0] }
            case "url" where isHTTP:
                var url = URLSpec()
                for u in c.children ?? [] {
                    switch u.keyword {
                    case "path":
                        if needArg(u) { url.path = u.args[0] }
                    case "digest":
                        guard needArg(u) else { continue }
                        let d = u.args[0].lowercased()
                        guard d.count == 32, d.allSatisfy({ $0.isHexDigit }) else {
                            error(u, "digest '\(u.args[0])' is not 32 hex digits (an MD5 sum)", hint: "use genhash to compute it")
                            continue
                        }
                        url.digest = d
                    case "status_code":
                        guard needArg(u) else { continue }
                        for s in u.args {
                            let parts = s.split(separator: "-", omittingEmptySubsequences: false)
                            guard parts.count <= 2, let lo = Int(parts[0]), let hi = parts.count == 2 ? Int(parts[1]) : lo,
                                lo >= 100, hi <= 599, lo <= hi
                            else {
                                error(u, "invalid HTTP status code '\(s)'", hint: "use codes or ranges from 100 to 599")
                                continue
                            }
                            url.statusCodes.append(contentsOf: lo...hi)
                        }
                    case "virtualhost":
                        if needArg(u) { url.virtualhost = u.args[0] }
                    case "regex", "regex_no_match", "regex_options", "regex_min_offset", "regex_max_offset", "regex_stack", "tls_compliant":
                        warn(u, "\(u.keyword) is not supported by lvsctl health checks and is not imported")
                    default:
                        unknown(u, in: "url")
                    }
                }
                if url.path == nil {
                    warn(c, "url without path; keepalived ignores it", hint: "add path /…")
                    continue
                }
                ch.urls.append(url)
            case let k where isHTTP && ["http_protocol", "enable_sni", "sni_name", "fast_recovery", "tls_compliant"].contains(k):
                warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported")
            case "misc_path" where kind == .exec:
                guard needArg(c) else { continue }
                // A single quoted word holds the command line; keepalived splits it into words.
                ch.command = c.args.count == 1 ? c.args[0].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) : c.args
            case "misc_timeout" where kind == .exec:
                if let v = unsigned(c) { ch.miscTimeout = Double(v) }
            case let k where kind == .exec && (k == "misc_dynamic" || k == "user"):
                warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported",
                     hint: c.keyword == "misc_dynamic" ? "exit codes do not change weights under lvsctl" : nil)
            default:
                unknown(c, in: n.keyword)
            }
        }
        if isHTTP && ch.urls.isEmpty {
            warn(n, "\(n.keyword) has no url with a path; keepalived ignores the checker", hint: "add url { path / }")
            return nil
        }
        if kind == .exec && (ch.command?.isEmpty ?? true) {
            warn(n, "MISC_CHECK without misc_path; keepalived ignores the checker", hint: "add misc_path")
            return nil
        }
        return ch
    }

    // MARK: - Resolution (keepalived's validate_check_config and ipvs_cmd)

    mutating func resolve() {
        var specs: [(spec: ServiceSpec, origin: KeepalivedNode, extraAttributes: VS)] = []
        for var vs in virtualServers {
            let members: [(VirtualService.ID, UInt16?)]  // identity, port for DR/TUN servers (nil = fwmark)
            switch vs.kind {
            case .address(let a, let p):
                members = [(.address(vs.proto ?? .udp, a, port: p), p)]
            case .fwmark(let m):
                members = [(.fwmark(m, vs.family ?? .ipv4), nil)]
            case .group(let name):
                guard let entries = groups[name] else {
                    error(vs.node, "virtual_server_group \(name) is not defined", hint: "define virtual_server_group \(name) { … }")
                    continue
                }
                var list: [(VirtualService.ID, UInt16?)] = []
                for e in entries {
                    switch e {
                    case .addresses(let addrs, let port, _):
                        for a in addrs { list.append((.address(vs.proto ?? .udp, a, port: port), port)) }
                    case .fwmark(let m, let f, _):
                        list.append((.fwmark(m, f ?? vs.family ?? .ipv4), nil))
                    }
                }
                members = list
            }
            // Protocol: keepalived defaults to UDP for address services; ignores it for fwmarks.
            let hasAddress = members.contains { $0.0.ipProtocol != nil }
            if hasAddress && vs.proto == nil {
                warn(vs.node, "virtual server \(describe(vs)): no protocol set; keepalived defaults to UDP",
                     hint: "add 'protocol TCP' if the service is TCP")
                vs.proto = .udp
            }
            if !hasAddress && vs.proto != nil {
                warn(vs.node, "virtual server \(describe(vs)): protocol is ignored for fwmark services")
            }
            if hasAddress && vs.flags.contains(.onePacket) && vs.proto != .udp {
                warn(vs.node, "virtual server \(describe(vs)): one-packet scheduling (ops) requires UDP; keepalived clears it")
                vs.flags.remove(.onePacket)
            }
            if vs.persistenceTimeout == 0, members.contains(where: { $0.1 == 0 }) {
                warn(vs.node, "virtual server \(describe(vs)): port 0 is only valid for persistent services; keepalived makes it persistent for 360 s",
                     hint: "add persistence_timeout, or give a port")
                vs.persistenceTimeout = 360
            }
            if vs.scheduler == nil {
                warn(vs.node, "virtual server \(describe(vs)): no scheduler set; keepalived uses wlc", hint: "add lb_algo")
            }
            let scheduler = Scheduler(vs.scheduler ?? "wlc")
            // Real servers: duplicates, forwarding method, defaults from the virtual server.
            var servers: [RS] = []
            var warnedNoMethod = false
            for var rs in vs.realServers {
                if servers.contains(where: { $0.address == rs.address && $0.port == rs.port }) {
                    warn(rs.node, "real server \(rs.address) \(rs.port) is listed twice in virtual server \(describe(vs)); keepalived removes the second")
                    continue
                }
                if rs.forwarding == nil {
                    if vs.forwarding == nil {
                        if !warnedNoMethod {
                            warn(vs.node, "virtual server \(describe(vs)): no forwarding method set; keepalived uses NAT", hint: "add lb_kind DR, NAT or TUN")
                            warnedNoMethod = true
                        }
                        vs.forwarding = .masquerade
                    }
                    rs.forwarding = vs.forwarding
                    rs.tunnel = vs.tunnel
                }
                if rs.weight == nil { rs.weight = vs.weight }
                servers.append(rs)
            }
            if var sorry = vs.sorry, sorry.forwarding == nil {
                sorry.forwarding = vs.forwarding ?? .masquerade
                sorry.tunnel = vs.tunnel
                vs.sorry = sorry
            }
            if let s = vs.sorry, s.forwarding != .tunnel, let f = vs.family ?? members.first?.0.family, f != s.address.family {
                error(s.node, "the address families of the virtual server and sorry server differ; keepalived skips the sorry server")
                vs.sorry = nil
            }
            // Quorum and hysteresis sanity (keepalived reduces them).
            let weightSum = servers.reduce(UInt64(0)) { $0 + UInt64($1.weight ?? 1) }
            if UInt64(vs.quorum) > weightSum {
                warn(vs.node, "virtual server \(describe(vs)): quorum \(vs.quorum) exceeds the total weight \(weightSum) of its real servers; keepalived reduces it to \(weightSum)")
                vs.quorum = UInt32(min(weightSum, UInt64(UInt32.max)))
                vs.quorumSet = true
            }
            if vs.hysteresis >= vs.quorum && (vs.hysteresisSet || vs.quorumSet) && vs.hysteresis > 0 {
                warn(vs.node, "virtual server \(describe(vs)): hysteresis \(vs.hysteresis) >= quorum \(vs.quorum); keepalived sets it to \(vs.quorum &- 1)")
                vs.hysteresis = vs.quorum &- 1
                vs.hysteresisSet = true
            }
            // Inhibit: per server in keepalived, per service in lvsctl.
            let inhibits = Set(servers.map { $0.inhibit ?? vs.inhibit })
            var inhibit = vs.inhibit
            if inhibits.count > 1 {
                inhibit = inhibits.contains(true)
                warn(vs.node, "virtual server \(describe(vs)): inhibit_on_failure differs between real servers; lvsctl sets it per service and uses \(inhibit ? "on" : "off")",
                     hint: "use the same inhibit_on_failure for every real server")
            } else if let only = inhibits.first {
                inhibit = only
            }
            // Port fix-ups, once per configuration line (not once per group member).
            var portWarned = Set<Int>()
            for (index, (id, memberPort)) in members.enumerated() {
                var service = VirtualService(id: id, scheduler: scheduler, flags: vs.flags)
                if vs.persistenceTimeout > 0 {
                    service.flags.insert(.persistent)
                    service.timeout = vs.persistenceTimeout
                    if let g = vs.granularity { service.netmask = g }
                    service.persistenceEngine = vs.persistenceEngine
                } else if vs.persistenceEngine != nil {
                    warn(vs.node, "persistence_engine has no effect on a non-persistent service; keepalived does not send it")
                }
                var rss: [RealServerSpec] = []
                for rs in servers {
                    let port = realPort(rs, memberPort: memberPort, vs: vs, warned: &portWarned, what: "real server")
                    let server = RealServer(
                        id: RealServer.ID(address: rs.address, port: port), forwarding: rs.forwarding ?? .masquerade,
                        weight: rs.weight ?? vs.weight, upperThreshold: rs.upper, lowerThreshold: rs.lower,
                        tunnel: rs.forwarding == .tunnel ? rs.tunnel : .default)
                    if rs.checkers.count > 1 {
                        if index == 0 {
                            warn(rs.checkers[1].node, "real server \(rs.address) has several checkers; lvsctl keeps one health check per server and uses the first (\(rs.checkers[0].keyword), line \(rs.checkers[0].node.line))",
                                 hint: "keep a single checker per real server")
                        }
                    }
                    let check = rs.checkers.first.map { healthCheck($0, rs: rs, vs: vs, realPort: port, warn: index == 0) }
                    rss.append(RealServerSpec(server: server, healthCheck: check))
                }
                var sorryServer: RealServer? = nil
                if let s = vs.sorry {
                    let port = realPort(s, memberPort: memberPort, vs: vs, warned: &portWarned, what: "sorry server")
                    sorryServer = RealServer(
                        id: RealServer.ID(address: s.address, port: port), forwarding: s.forwarding ?? .masquerade,
                        weight: 1, tunnel: s.forwarding == .tunnel ? s.tunnel : .default)
                }
                let name: String
                if case .group(let g) = vs.kind { name = "\(g)-\(index + 1)" } else { name = KeepalivedMapper.serviceName(id) }
                var spec = ServiceSpec(
                    name: name, service: service, realServers: rss, sorryServer: sorryServer,
                    quorum: vs.quorumSet ? vs.quorum : nil, hysteresis: vs.hysteresisSet ? vs.hysteresis : nil,
                    inhibitOnFailure: inhibit)
                hoistHealthCheck(&spec)
                specs.append((spec, vs.node, vs))
            }
        }
        state.services = merge(specs)
    }

    /// The real server port keepalived sends to the kernel.
    mutating func realPort(_ rs: RS, memberPort: UInt16?, vs: VS, warned: inout Set<Int>, what: String) -> UInt16 {
        let isNAT = rs.forwarding == .masquerade
        guard let servicePort = memberPort else {
            // fwmark: non-NAT ports are cleared.
            if !isNAT && rs.port != 0 {
                if warned.insert(rs.node.line).inserted {
                    warn(rs.node, "\(what) \(rs.address) port \(rs.port) under fwmark virtual server \(describe(vs)): keepalived clears the port of DR/TUN servers of fwmark services (imported with port 0)",
                         hint: "remove the port")
                }
                return 0
            }
            return rs.port
        }
        if isNAT {
            return rs.port == 0 ? servicePort : rs.port
        }
        if rs.port != 0 && rs.port != servicePort {
            if warned.insert(rs.node.line).inserted {
                let method = rs.forwarding == .tunnel ? "TUN" : "DR"
                warn(rs.node, "\(what) \(rs.address) port \(rs.port) differs from the virtual server port \(servicePort); \(method) cannot change ports, so keepalived and IPVS use port \(servicePort) (imported as \(servicePort))",
                     hint: "write port \(servicePort), or use NAT if the server really listens on \(rs.port)")
            }
        }
        return servicePort
    }

    static func serviceName(_ id: VirtualService.ID) -> String {
        switch id {
        case .address(_, let a, let p):
            let ip = String(a.description.map { $0 == ":" || $0 == "." ? "-" : $0 })
            return "vs-\(ip)-\(p)"
        case .fwmark(let m, let f):
            return f == .ipv4 ? "fwmark-\(m)" : "fwmark-\(m)-ipv6"
        }
    }

    /// Moves a health check shared by every real server to the service.
    func hoistHealthCheck(_ spec: inout ServiceSpec) {
        var all = spec.realServers.map { $0.healthCheck ?? spec.healthCheck }
        if let shared = spec.healthCheck {
            for i in spec.realServers.indices where spec.realServers[i].healthCheck == nil { all[i] = shared }
        }
        guard let first = all.first, let check = first, all.allSatisfy({ $0 == check }) else {
            // Not shared: every server carries its own.
            if let shared = spec.healthCheck {
                for i in spec.realServers.indices where spec.realServers[i].healthCheck == nil {
                    spec.realServers[i].healthCheck = shared
                }
                spec.healthCheck = nil
            }
            return
        }
        spec.healthCheck = check
        for i in spec.realServers.indices { spec.realServers[i].healthCheck = nil }
    }

    mutating func healthCheck(_ ch: Checker, rs: RS, vs: VS, realPort: UInt16, warn shouldWarn: Bool) -> HealthCheck {
        var hc = HealthCheck(type: ch.kind)
        hc.interval = ch.delayLoop ?? rs.delayLoop ?? vs.delayLoop
        // keepalived's `retry N` retries N times after the first failure, so a server goes down after
        // N + 1 consecutive failures; lvsctl's `retry` counts the consecutive failures themselves.
        hc.retry = (ch.retry ?? rs.retry ?? vs.retry ?? ch.defaultRetry) + 1
        hc.delayBeforeRetry = ch.delayBeforeRetry ?? rs.delayBeforeRetry ?? vs.delayBeforeRetry ?? ch.defaultDelayBeforeRetry
        hc.alpha = ch.alpha ?? rs.alpha ?? vs.alpha
        hc.rise = 1
        if ch.kind == .exec {
            hc.command = ch.command
            // keepalived: misc_timeout, else the virtual server's delay_loop.
            hc.connectTimeout = ch.miscTimeout.flatMap { $0 > 0 ? $0 : nil } ?? vs.delayLoop
            return hc
        }
        hc.connectTimeout = ch.connectTimeout ?? rs.connectTimeout ?? vs.connectTimeout
        // keepalived copies the configured address:port when the checker is declared, before any
        // port fix-up; connect_port overrides the port.
        if let p = ch.connectPort {
            if p != realPort { hc.port = p }
        } else if ch.destination.1 != 0 && ch.destination.1 != realPort {
            hc.port = ch.destination.1
        }
        if let ip = ch.connectIP, ip != rs.address, shouldWarn {
            warn(ch.node, "connect_ip \(ip) differs from the real server address \(rs.address); lvsctl checks the real server itself",
                 hint: "remove connect_ip, or check \(ip) with a MISC_CHECK")
        }
        if ch.kind == .http || ch.kind == .https {
            if ch.urls.count > 1 && shouldWarn {
                warn(ch.node, "\(ch.keyword) has \(ch.urls.count) urls; keepalived checks them all, lvsctl only the first (\(ch.urls[0].path ?? "/"))",
                     hint: "keep one url per checker")
            }
            let url = ch.urls[0]
            hc.path = url.path
            hc.digest = url.digest
            hc.statusCodes = url.statusCodes.isEmpty ? Array(200...299) : Array(Set(url.statusCodes)).sorted()
            hc.host = url.virtualhost ?? ch.virtualhost ?? rs.virtualhost ?? vs.virtualhost
            if ch.kind == .https {
                hc.insecureSkipVerify = true
                if shouldWarn {
                    warn(ch.node, "SSL_GET does not verify the server certificate in keepalived; imported with insecureSkipVerify = true",
                         hint: "turn verification on in the manifest once the servers have valid certificates")
                }
            }
        }
        return hc
    }

    /// Two blocks for the same service: the kernel keeps the first block's service settings and
    /// receives the real servers of both (a server already added keeps the first settings).
    mutating func merge(_ specs: [(spec: ServiceSpec, origin: KeepalivedNode, extraAttributes: VS)]) -> [ServiceSpec] {
        var out: [ServiceSpec] = []
        var origins: [KeepalivedNode] = []
        var names = Set<String>()
        for (spec, origin, _) in specs {
            if let i = out.firstIndex(where: { $0.service.id == spec.service.id }) {
                var first = out[i]
                let firstOrigin = origins[i]
                var moved: [RealServerSpec] = []
                // Make health checks per server before merging.
                var a = first
                var b = spec
                for j in a.realServers.indices where a.realServers[j].healthCheck == nil { a.realServers[j].healthCheck = a.healthCheck }
                for j in b.realServers.indices where b.realServers[j].healthCheck == nil { b.realServers[j].healthCheck = b.healthCheck }
                a.healthCheck = nil
                for rs in b.realServers {
                    if a.realServers.contains(where: { $0.server.id == rs.server.id }) {
                        warn(origin, "real server \(rs.server.id) is already in \(spec.service.id) from the block at line \(firstOrigin.line); the kernel keeps the first one")
                    } else {
                        moved.append(rs)
                    }
                }
                a.realServers += moved
                var differences: [String] = []
                if first.service != spec.service { differences.append("scheduler/persistence/flags") }
                if first.sorryServer != spec.sorryServer && spec.sorryServer != nil { differences.append("sorry_server") }
                if first.quorum != spec.quorum || first.hysteresis != spec.hysteresis { differences.append("quorum/hysteresis") }
                if first.inhibitOnFailure != spec.inhibitOnFailure { differences.append("inhibit_on_failure") }
                warn(origin, "virtual_server \(spec.service.id) is declared again (first at \(firstOrigin.location)); keepalived adds the service once (the second add fails with 'exists' and is ignored), so its real servers join the first block's service"
                    + (differences.isEmpty ? "" : "; this block's \(differences.joined(separator: ", ")) settings are ignored"),
                    hint: "merge the two blocks into one virtual_server")
                hoistHealthCheck(&a)
                first = a
                out[i] = first
                continue
            }
            var s = spec
            if names.contains(s.name) {
                var n = 2
                while names.contains("\(spec.name)-\(n)") { n += 1 }
                if let p = s.service.id.ipProtocol, !names.contains("\(spec.name)-\(p.rawValue)") {
                    s.name = "\(spec.name)-\(p.rawValue)"
                } else {
                    s.name = "\(spec.name)-\(n)"
                }
            }
            names.insert(s.name)
            out.append(s)
            origins.append(origin)
        }
        return out
    }
}
