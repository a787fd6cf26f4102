import LVSModel

extension ManifestDecoder {
    /// Decodes one entry of `services`.
    func decodeService(_ node: JSONNode, path: String) -> DecodedService? {
        guard let r = ObjectReader(node, path: path, what: "a service", known: ManifestFields.service, diagnostics)
        else { return nil }

        let name = r.string("name", required: true, hint: "give the service a name such as \"web-http\"")
        if let name { checkIdentifier(name, path: r.at("name"), position: r.position("name"), what: "service name") }
        _ = r.string("description")

        // Identity: protocol + address + port, or fwmark + family.
        var id: VirtualService.ID? = nil
        var identityPosition = node.position
        if r.has("fwmark") {
            identityPosition = r.position("fwmark")
            for k in ["protocol", "address", "port"] where r.has(k) {
                diagnostics.error(r.at(k), r.keyPosition(k), "'\(excerpt: k)' cannot be combined with 'fwmark'",
                                  hint: "a service is either protocol + address + port, or fwmark + family")
            }
            let mark = r.integer("fwmark", ManifestFields.Limit.fwmark, hint: "use a firewall mark from 1 to 4294967295")
            let family = r.has("family") ? r.choice("family", ManifestFields.families, what: "address family") : "ipv4"
            if let mark, let family {
                id = .fwmark(UInt32(clamping: mark), family == "ipv6" ? .ipv6 : .ipv4)
            }
        } else {
            if r.has("family") {
                diagnostics.error(r.at("family"), r.keyPosition("family"), "'family' is only for fwmark services",
                                  hint: "the address decides the family of an address service; remove 'family'")
            }
            if !r.has("protocol") && !r.has("address") && !r.has("port") {
                diagnostics.error(path, node.position, "the service has no identity",
                                  hint: "give \"protocol\", \"address\" and \"port\", or \"fwmark\" (and \"family\")")
            } else {
                identityPosition = r.position("address")
                let proto = r.choice("protocol", ManifestFields.protocols, required: true, what: "protocol")
                let address = address(r, "address", required: true, role: .virtualService)
                let port = r.integer("port", ManifestFields.Limit.port, required: true, hint: "use a port from 0 to 65535")
                if let proto, let p = IPProtocol(rawValue: proto), let address, let port {
                    id = .address(p, address, port: UInt16(clamping: port))
                }
            }
        }
        let family = id?.family
        let isUDP = id?.ipProtocol == .udp

        // Scheduler and its flags.
        var scheduler = Scheduler.wlc
        var schedulerValid = true
        if let s = r.string("scheduler", hint: "use one of: \(knownSchedulerList)") {
            if Scheduler.known.contains(Scheduler(s)) {
                scheduler = Scheduler(s)
            } else {
                schedulerValid = false
                var hint = "known schedulers: \(knownSchedulerList)"
                if let near = closest(s, in: Scheduler.known.map(\.rawValue)) { hint = "did you mean '\(near)'? \(hint)" }
                diagnostics.error(r.at("scheduler"), r.position("scheduler"), "unknown scheduler '\(excerpt: s)'", hint: hint)
            }
        } else if r.has("scheduler") {
            schedulerValid = false
        }
        if schedulerValid, let available = capabilities?.availableSchedulers, !available.contains(scheduler) {
            diagnostics.error(r.at("scheduler"), r.position("scheduler"),
                              "scheduler '\(excerpt: scheduler.rawValue)' needs kernel module \(scheduler.moduleName), which is neither loaded nor installed",
                              hint: "install the module or pick an available scheduler: \(available.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        var flags = decodeSchedulerFlags(r, scheduler: scheduler, schedulerValid: schedulerValid)

        // Persistence.
        var timeout: UInt32 = 0
        var netmask: UInt32? = nil
        if let p = r.object("persistence", what: "persistence", known: ManifestFields.persistence) {
            flags.insert(.persistent)
            let t = p.integer("timeout", ManifestFields.Limit.persistenceTimeout,
                              hint: "use a persistence timeout from 1 to 2678400 seconds (31 days)")
            timeout = t.map { UInt32(clamping: $0) } ?? ManifestFields.Limit.defaultPersistenceTimeout
            netmask = decodePersistenceMask(p, family: family)
        }
        if case .address(_, _, let port)? = id, port == 0, !flags.contains(.persistent) {
            diagnostics.error(r.at("port"), r.position("port"), "port 0 (every port) needs persistence",
                              hint: "add \"persistence\": { \"timeout\": 300 }, or use a specific port")
        }
        if let one = r.bool("onePacket"), one {
            if case .address(let p, _, _)? = id, p != .udp {
                diagnostics.error(r.at("onePacket"), r.position("onePacket"), "onePacket is only for UDP and fwmark services",
                                  hint: "remove onePacket, or use \"protocol\": \"udp\"")
            }
            flags.insert(.onePacket)
        }
        var engine: String? = nil
        if let pe = r.string("persistenceEngine", hint: "the only persistence engine is \"sip\"") {
            if pe != "sip" {
                diagnostics.error(r.at("persistenceEngine"), r.position("persistenceEngine"), "unknown persistence engine '\(excerpt: pe)'",
                                  hint: "the only persistence engine is \"sip\"")
            } else {
                engine = pe
                if !flags.contains(.persistent) && !r.has("persistence") {
                    diagnostics.error(r.at("persistenceEngine"), r.position("persistenceEngine"), "persistenceEngine needs persistence",
                                      hint: "add \"persistence\": { \"timeout\": 300 }, or remove persistenceEngine")
                }
                if case .address(let p, _, _)? = id, p != .udp {
                    diagnostics.warning(r.at("persistenceEngine"), r.position("persistenceEngine"),
                                        "the sip persistence engine only reads UDP packets", hint: "use it with a UDP service")
                }
                if let engines = capabilities?.availablePersistenceEngines, !engines.contains(pe) {
                    diagnostics.error(r.at("persistenceEngine"), r.position("persistenceEngine"),
                                      "persistence engine 'sip' needs kernel module ip_vs_pe_sip, which is neither loaded nor installed",
                                      hint: "install the module, or remove persistenceEngine")
                }
            }
        }

        // Forwarding defaults for the real servers.
        let parsedForwarding = forwarding(r)
        let forwardingKnown = parsedForwarding != nil || !r.has("forwarding")
        let serviceForwarding = parsedForwarding ?? .directRoute
        var serviceTunnel: TunnelSettings? = nil
        if let t = r.object("tunnel", what: "a tunnel block", known: ManifestFields.tunnel) {
            if forwardingKnown && serviceForwarding != .tunnel {
                diagnostics.error(r.at("tunnel"), r.keyPosition("tunnel"), "a tunnel block needs \"forwarding\": \"tunnel\"",
                                  hint: "set the service's forwarding to tunnel, or move the tunnel block to the tunnelled real servers")
            }
            serviceTunnel = decodeTunnel(t)
        }

        var drainTimeout: UInt32? = nil
        if let d = r.object("drain", what: "drain", known: ManifestFields.drain) {
            if let t = d.integer("timeout", ManifestFields.Limit.drain, required: true,
                                 hint: "use a drain timeout from 0 to 604800 seconds") {
                drainTimeout = UInt32(clamping: t)
            }
            if isUDP {
                diagnostics.warning(r.at("drain"), r.keyPosition("drain"), "UDP services never drain; removed real servers are deleted at once",
                                    hint: "remove 'drain'")
            }
        }

        let check = r.value("healthCheck").flatMap { decodeHealthCheck($0, path: r.at("healthCheck")) }

        let context = ServiceContext(id: id, forwarding: serviceForwarding, forwardingKnown: forwardingKnown, tunnel: serviceTunnel)
        var realServers: [RealServerSpec] = []
        var mixed: [(String, SourcePosition)] = []
        var seen: [RealServer.ID: Int] = [:]
        var zeroPortWithoutOwnCheck = false
        if let items = r.array("realServers") {
            if items.isEmpty {
                diagnostics.warning(r.at("realServers"), r.position("realServers"), "the service has no real servers",
                                    hint: "connections to it will fail until real servers are added")
            }
            let base = r.at("realServers")
            realServers.reserveCapacity(items.count)
            seen.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard let rs = decodeRealServer(item, path: base, index: i, context: context) else { continue }
                if let first = seen[rs.spec.server.id] {
                    diagnostics.error("\(base)[\(i)]", rs.addressPosition, "duplicate real server \(rs.spec.server.id) (first at \(base)[\(first)])",
                                      hint: "a real server appears once per service; remove one of them")
                } else {
                    seen[rs.spec.server.id] = i
                }
                if rs.mixedFamily { mixed.append(("\(base)[\(i)].address", rs.addressPosition)) }
                if rs.spec.healthCheck == nil && rs.spec.server.id.port == 0 { zeroPortWithoutOwnCheck = true }
                realServers.append(rs.spec)
            }
        } else if !r.has("realServers") {
            diagnostics.warning(path, node.position, "the service has no real servers",
                                hint: "add \"realServers\": [ ... ]; connections to it fail until then")
        }
        if let check, check.type != .exec, check.port == nil, zeroPortWithoutOwnCheck {
            diagnostics.error(r.at("healthCheck"), r.position("healthCheck"),
                              "the health check has no port and some real servers have port 0",
                              hint: "set healthCheck.port; fwmark real servers usually have no port of their own")
        }

        let sorry = r.object("sorryServer", what: "a sorry server", known: ManifestFields.sorryServer)
            .flatMap { decodeSorryServer($0, context: context) }

        var quorum: UInt32? = nil, hysteresis: UInt32? = nil
        if let q = r.integer("quorum", ManifestFields.Limit.counter, hint: "use a quorum from 1 to 4294967295 (total weight)") {
            quorum = UInt32(clamping: q)
            let total = realServers.reduce(UInt64(0)) { $0 + UInt64($1.server.weight) }
            if UInt64(q) > total && !realServers.isEmpty {
                diagnostics.warning(r.at("quorum"), r.position("quorum"),
                                    "quorum \(q) is above the total weight \(total) of the real servers; the service can never count as up",
                                    hint: "lower the quorum or raise the weights")
            }
        }
        if let h = r.integer("hysteresis", 0...4_294_967_295, hint: "use a hysteresis below the quorum") {
            hysteresis = UInt32(clamping: h)
            if !r.has("quorum") {
                diagnostics.error(r.at("hysteresis"), r.keyPosition("hysteresis"), "hysteresis needs a quorum",
                                  hint: "add \"quorum\", or remove hysteresis")
            } else if let q = quorum, hysteresis ?? 0 >= q {
                diagnostics.error(r.at("hysteresis"), r.position("hysteresis"), "hysteresis \(h) must be below the quorum \(q)",
                                  hint: "use a hysteresis from 0 to \(q - 1)")
            }
        }
        let inhibit = r.bool("inhibitOnFailure") ?? false
        let announce = r.bool("announce") ?? true

        var spec: ServiceSpec? = nil
        if let id, let name {
            let service = VirtualService(
                id: id, scheduler: scheduler, flags: flags, timeout: timeout, netmask: netmask, persistenceEngine: engine)
            spec = ServiceSpec(
                name: name, service: service, realServers: realServers, drainTimeout: drainTimeout, healthCheck: check,
                sorryServer: sorry, quorum: quorum, hysteresis: hysteresis, inhibitOnFailure: inhibit,
                announce: announce)
        }
        return DecodedService(
            spec: spec, path: path, name: name, namePosition: r.position("name"),
            identityPosition: identityPosition, mixedFamily: mixed)
    }

    private var knownSchedulerList: String { Scheduler.known.map(\.rawValue).joined(separator: ", ") }

    /// `schedulerFlags`: named flags need their scheduler; raw `flag-N` works anywhere, with a
    /// warning where the scheduler ignores it.
    private func decodeSchedulerFlags(_ r: ObjectReader, scheduler: Scheduler, schedulerValid: Bool) -> ServiceFlags {
        var flags: ServiceFlags = []
        guard let items = r.array("schedulerFlags") else { return flags }
        let named: [String: (Scheduler, ServiceFlags)] = [
            "sh-fallback": (.sh, .sched1), "sh-port": (.sh, .sched2),
            "mh-fallback": (.mh, .sched1), "mh-port": (.mh, .sched2),
        ]
        let raw: [String: ServiceFlags] = ["flag-1": .sched1, "flag-2": .sched2, "flag-3": .sched3]
        let usesFlags = scheduler == .sh || scheduler == .mh
        for (i, item) in items.enumerated() {
            let path = "\(r.at("schedulerFlags"))[\(i)]"
            guard case .string(let s) = item.kind else {
                diagnostics.error(path, item.position, "must be a string, not \(item.typeDescription)",
                                  hint: "write flag names such as \"sh-fallback\"")
                continue
            }
            let bit: ServiceFlags
            if let (owner, b) = named[s] {
                bit = b
                if schedulerValid && owner != scheduler {
                    diagnostics.error(path, item.position, "'\(excerpt: s)' is a flag of the \(owner) scheduler, not of '\(excerpt: scheduler.rawValue)'",
                                      hint: "use \"scheduler\": \"\(owner)\", or remove the flag")
                }
            } else if let b = raw[s] {
                bit = b
                if schedulerValid && !usesFlags {
                    diagnostics.warning(path, item.position, "scheduler '\(excerpt: scheduler.rawValue)' ignores \(s)",
                                        hint: "only sh and mh read scheduler flags")
                } else if schedulerValid && s == "flag-3" {
                    diagnostics.warning(path, item.position, "no shipped scheduler reads flag-3", hint: "remove it unless a custom scheduler needs it")
                }
            } else {
                let choices = usesFlags ? scheduler.flagNames.prefix(2) + ["flag-1", "flag-2", "flag-3"] : ["flag-1", "flag-2", "flag-3"]
                var hint = "known flags: \(choices.joined(separator: ", "))"
                if let near = closest(s, in: Array(named.keys) + Array(raw.keys)) { hint = "did you mean '\(near)'? \(hint)" }
                diagnostics.error(path, item.position, "unknown scheduler flag '\(excerpt: s)'", hint: hint)
                continue
            }
            if flags.contains(bit) {
                diagnostics.error(path, item.position, "scheduler flag '\(excerpt: s)' is given twice",
                                  hint: "sh-fallback/mh-fallback are flag-1 and sh-port/mh-port are flag-2; list each once")
            }
            flags.insert(bit)
        }
        return flags
    }

    /// `netmask` (IPv4, dotted, contiguous) or `prefixLength` (IPv6, 1–128).
    private func decodePersistenceMask(_ p: ObjectReader, family: IPFamily?) -> UInt32? {
        guard let family else { return nil }
        if family == .ipv4 {
            if p.has("prefixLength") {
                diagnostics.error(p.at("prefixLength"), p.keyPosition("prefixLength"), "prefixLength is for IPv6 services",
                                  hint: "use \"netmask\": \"255.255.255.0\" (a dotted mask) for an IPv4 service")
            }
            guard let m = p.string("netmask", hint: "a dotted mask such as 255.255.255.0") else { return nil }
            guard case .v4(let v)? = IPAddress(m) else {
                diagnostics.error(p.at("netmask"), p.position("netmask"), "'\(excerpt: m)' is not a dotted IPv4 netmask",
                                  hint: "write a mask such as 255.255.255.0")
                return nil
            }
            let inverted = ~v
            if inverted & (inverted &+ 1) != 0 {
                diagnostics.error(p.at("netmask"), p.position("netmask"), "netmask \(m) is not contiguous",
                                  hint: "use a mask of leading one bits such as 255.255.255.0")
                return nil
            }
            return v
        }
        if p.has("netmask") {
            diagnostics.error(p.at("netmask"), p.keyPosition("netmask"), "netmask is for IPv4 services",
                              hint: "use \"prefixLength\": 64 (1 to 128) for an IPv6 service")
        }
        return p.integer("prefixLength", 1...128, hint: "use a prefix length from 1 to 128").map { UInt32(clamping: $0) }
    }

    /// What a real server inherits from its service.
    struct ServiceContext {
        var id: VirtualService.ID?
        var forwarding: ForwardingMethod
        /// False when the service's `forwarding` was invalid: checks that depend on it are skipped.
        var forwardingKnown: Bool
        var tunnel: TunnelSettings?
    }

    struct DecodedRealServer {
        var spec: RealServerSpec
        var addressPosition: SourcePosition
        var mixedFamily: Bool
    }

    /// The real server port, with the rule that only NAT can map ports.
    private func serverPort(_ r: ObjectReader, forwarding: ForwardingMethod, known: Bool, context: ServiceContext) -> UInt16 {
        let explicit = r.integer("port", ManifestFields.Limit.port, hint: "use a port from 0 to 65535").map { UInt16(clamping: $0) }
        switch context.id {
        case .address(_, _, let servicePort)?:
            let port = explicit ?? servicePort
            if known && forwarding != .masquerade && port != servicePort {
                diagnostics.error(r.at("port"), r.position("port"),
                                  "port \(port) differs from the service port \(servicePort); \(forwarding) forwarding cannot map ports",
                                  hint: "use port \(servicePort) (or omit it), or \"forwarding\": \"nat\" to map ports")
            }
            return port
        case .fwmark?:
            let port = explicit ?? 0
            if known && forwarding != .masquerade && port != 0 {
                diagnostics.error(r.at("port"), r.position("port"),
                                  "a real server of a fwmark service with \(forwarding) forwarding keeps the packet's port; its port must be 0 or absent",
                                  hint: "remove 'port', or use \"forwarding\": \"nat\" to send to a fixed port")
            }
            return port
        case nil:
            return explicit ?? 0
        }
    }

    /// Forwarding, tunnel settings and the mixed-family rule shared by real and sorry servers.
    private func forwardingAndTunnel(_ r: ObjectReader, context: ServiceContext) -> (ForwardingMethod, TunnelSettings, known: Bool) {
        let parsed = forwarding(r)
        let known = r.has("forwarding") ? parsed != nil : context.forwardingKnown
        let fwd = parsed ?? context.forwarding
        var tunnel = TunnelSettings.default
        if let t = r.object("tunnel", what: "a tunnel block", known: ManifestFields.tunnel) {
            if known && fwd != .tunnel {
                diagnostics.error(r.at("tunnel"), r.keyPosition("tunnel"), "a tunnel block needs \"forwarding\": \"tunnel\"",
                                  hint: "set forwarding to tunnel, or remove the tunnel block")
            }
            tunnel = decodeTunnel(t)
        } else if fwd == .tunnel {
            tunnel = context.tunnel ?? .default
        }
        return (fwd, fwd == .tunnel ? tunnel : .default, known)
    }

    private func checkFamily(_ r: ObjectReader, _ address: IPAddress, forwarding: ForwardingMethod, known: Bool,
                             context: ServiceContext) -> Bool {
        guard let family = context.id?.family, address.family != family else { return false }
        if known && forwarding != .tunnel {
            diagnostics.error(r.at("address"), r.position("address"),
                              "an \(address.family) server behind an \(family) service needs tunnel forwarding",
                              hint: "use \"forwarding\": \"tunnel\", or an \(family) address")
        }
        return true
    }

    /// Decodes `path[index]`, one entry of a service's `realServers`.
    private func decodeRealServer(_ node: JSONNode, path: String, index: Int, context: ServiceContext) -> DecodedRealServer? {
        guard let r = ObjectReader(node, path: path, index: index, what: "a real server", known: ManifestFields.realServer,
                                   diagnostics)
        else { return nil }
        _ = r.string("description")
        let address = address(r, "address", required: true, role: .realServer)
        let (fwd, tunnel, known) = forwardingAndTunnel(r, context: context)
        let port = serverPort(r, forwarding: fwd, known: known, context: context)
        let weight = r.integer("weight", ManifestFields.Limit.weight, hint: "use a weight from 0 to 65535") ?? 1
        let threshold = ManifestFields.Limit.threshold
        let upper = r.integer("upperThreshold", threshold, hint: "use a connection count from 0 (none) to 2147483647") ?? 0
        let lower = r.integer("lowerThreshold", threshold, hint: "use a connection count from 0 (none) to 2147483647") ?? 0
        if lower > upper {
            if upper > 0 {
                diagnostics.error(r.at("lowerThreshold"), r.position("lowerThreshold"),
                                  "lowerThreshold \(lower) is above upperThreshold \(upper)",
                                  hint: "use a lower threshold from 0 to \(upper)")
            } else {
                diagnostics.error(r.at("lowerThreshold"), r.position("lowerThreshold"),
                                  "lowerThreshold \(lower) needs an upperThreshold",
                                  hint: "set upperThreshold to at least \(lower), or remove lowerThreshold (the kernel refuses lower > upper)")
            }
        }
        let check = r.value("healthCheck").flatMap { decodeHealthCheck($0, path: r.at("healthCheck")) }
        if let check, check.type != .exec, check.port == nil, port == 0 {
            diagnostics.error(r.at("healthCheck"), r.position("healthCheck"), "the health check has no port and the real server's port is 0",
                              hint: "set healthCheck.port")
        }
        guard let address else { return nil }
        let mixed = checkFamily(r, address, forwarding: fwd, known: known, context: context)
        let server = RealServer(
            id: RealServer.ID(address: address, port: port), forwarding: fwd, weight: UInt32(clamping: weight),
            upperThreshold: UInt32(clamping: upper), lowerThreshold: UInt32(clamping: lower), tunnel: tunnel)
        return DecodedRealServer(
            spec: RealServerSpec(server: server, healthCheck: check), addressPosition: r.position("address"), mixedFamily: mixed)
    }

    private func decodeSorryServer(_ r: ObjectReader, context: ServiceContext) -> RealServer? {
        let address = address(r, "address", required: true, role: .realServer)
        let (fwd, tunnel, known) = forwardingAndTunnel(r, context: context)
        let port = serverPort(r, forwarding: fwd, known: known, context: context)
        guard let address else { return nil }
        _ = checkFamily(r, address, forwarding: fwd, known: known, context: context)
        return RealServer(id: RealServer.ID(address: address, port: port), forwarding: fwd, weight: 1, tunnel: tunnel)
    }
}
