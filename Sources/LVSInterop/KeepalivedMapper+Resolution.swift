import LVSModel

// Resolution: keepalived's validate_check_config and ipvs_cmd, from its structures to services.
extension KeepalivedMapper {
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
            var seen = Set<RealServer.ID>()
            var warnedNoMethod = false
            for var rs in vs.realServers {
                if !seen.insert(RealServer.ID(address: rs.address, port: rs.port)).inserted {
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
        // lvsctl's `retry` is keepalived's: retries after the first failure.
        hc.retry = ch.retry ?? rs.retry ?? vs.retry ?? ch.defaultRetry
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
        var indexByID: [VirtualService.ID: Int] = [:]
        for (spec, origin, _) in specs {
            if let i = indexByID[spec.service.id] {
                var first = out[i]
                let firstOrigin = origins[i]
                var moved: [RealServerSpec] = []
                // Make health checks per server before merging.
                var a = first
                var b = spec
                for j in a.realServers.indices where a.realServers[j].healthCheck == nil { a.realServers[j].healthCheck = a.healthCheck }
                for j in b.realServers.indices where b.realServers[j].healthCheck == nil { b.realServers[j].healthCheck = b.healthCheck }
                a.healthCheck = nil
                var present = Set(a.realServers.map(\.server.id))
                for rs in b.realServers {
                    if !present.insert(rs.server.id).inserted {
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
            indexByID[s.service.id] = out.count
            out.append(s)
            origins.append(origin)
        }
        return out
    }
}
