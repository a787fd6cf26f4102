import LVSModel

// virtual_server and real_server blocks, read into keepalived's own structures.
extension KeepalivedMapper {
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
                error(node, "invalid virtual server address '\(excerpt: first)'", hint: "use a numeric IPv4 or IPv6 address (no host names)")
                return nil
            }
            var port: UInt16 = 0
            if node.args.count >= 2 {
                let p = node.args[1]
                guard p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt16(p) else {
                    error(node, "invalid virtual server port '\(excerpt: p)'", hint: "use a port from 0 to 65535")
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
                error(n, "unknown address family '\(excerpt: n.args[0])'", hint: "use inet or inet6")
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
                // keepalived (check_parser.c, lbalgo_handler): "Invalid lvs_scheduler '…' - ignoring";
                // the scheduler stays as set so far, and without one it uses wlc (check_data.c).
                warn(n, "invalid scheduler '\(excerpt: name)'; keepalived ignores the line, so the service keeps \(vs.scheduler.map { "the scheduler set before it (\($0))" } ?? "the default scheduler, wlc, unless a later lb_algo sets one")",
                     hint: "write one of \(valid.joined(separator: ", ")) (imported as keepalived runs it)")
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
            } else if let v = KeepalivedMapper.decimal(n.args[0]), v >= 1, v <= 86400 * 31 {
                vs.persistenceTimeout = UInt32(v)
            } else {
                // keepalived (check_parser.c, pto_handler): read_unsigned_strvec(…, 1, LVS_MAX_TIMEOUT)
                // fails, it logs "persistence_timeout invalid" and ignores the line: the timeout
                // stays as set so far (none by default, so `persistence_timeout 0` means no persistence).
                let now = vs.persistenceTimeout == 0
                    ? "the service is not persistent unless another line makes it so"
                    : "the service keeps the timeout set before it (\(vs.persistenceTimeout) s)"
                warn(n, "persistence_timeout '\(excerpt: n.args[0])' is not from 1 to 2678400 seconds; keepalived ignores the line, so \(now)",
                     hint: n.args[0] == "0" ? "remove the line: 0 means no persistence" : "use 1 to 2678400 seconds, or remove the line")
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
                    error(n, "invalid IPv4 persistence_granularity '\(excerpt: s)'", hint: "use a netmask such as 255.255.255.0")
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
            default: error(n, "unknown protocol '\(excerpt: n.args[0])'; keepalived ignores it", hint: "use TCP, UDP or SCTP")
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
            error(n, "unknown forwarding method '\(excerpt: n.args[0])' for the \(what) server", hint: "use NAT, DR or TUN (upper case)")
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
                    error(n, "unknown tunnel type '\(excerpt: a[i + 1])' for the \(what) server", hint: "use ipip, gue or gre")
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
                    error(n, "invalid gue tunnel port '\(excerpt: a[i + 1])'", hint: "use a port from 1 to 65535")
                    return
                }
                port = p
                i += 1
            case "nocsum": csum = .none
            case "csum": csum = .checksum
            case "remcsum": csum = .remoteChecksum
            default:
                error(n, "invalid tunnel option '\(excerpt: a[i])' for the \(what) server", hint: "use type, port, nocsum, csum or remcsum")
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
            error(n, "invalid \(what) address '\(excerpt: n.args[0])'; keepalived skips it", hint: "use a numeric IPv4 or IPv6 address")
            return nil
        }
        var port: UInt16 = 0
        if n.args.count >= 2 {
            guard n.args[1].allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(n.args[1]) else {
                error(n, "invalid \(what) port '\(excerpt: n.args[1])'; keepalived skips it", hint: "use a port from 0 to 65535")
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
}
