import LVSModel

/// Renders a `DesiredState` as a manifest v1 JSON value with every value explicit: each real
/// server carries its own port, weight, forwarding, thresholds and tunnel block; services carry
/// no forwarding defaults. Descriptions are not part of the model and are not written.
enum ManifestEncoder {
    static func value(_ state: DesiredState) -> JSONValue {
        var root = members(state)
        root["services"] = .array(state.services.map(service))
        return .object(root)
    }

    /// `value(state).canonicalText` as UTF-8, without building the services' tree all at once.
    /// `sizeHint`: the size of the source text, if known (the buffer is reserved from it).
    static func canonicalBytes(_ state: DesiredState, sizeHint: Int = 0) -> [UInt8] {
        JSONValue.canonicalBytes(
            object: members(state), streamedKey: "services", count: state.services.count, reserve: sizeHint * 6
        ) {
            service(state.services[$0])
        }
    }

    /// The members of the manifest object, all but `services`.
    private static func members(_ state: DesiredState) -> [String: JSONValue] {
        var root: [String: JSONValue] = [
            "apiVersion": .string(ManifestFields.apiVersion),
            "name": .string(state.manifest),
        ]
        var settings: [String: JSONValue] = [:]
        if let t = state.settings.timeouts {
            var d: [String: JSONValue] = [:]
            if t.tcp != 0 { d["tcp"] = .integer(Int64(t.tcp)) }
            if t.tcpFin != 0 { d["tcpFin"] = .integer(Int64(t.tcpFin)) }
            if t.udp != 0 { d["udp"] = .integer(Int64(t.udp)) }
            if !d.isEmpty { settings["timeouts"] = .object(d) }
        }
        if let daemons = state.settings.syncDaemons {
            settings["syncDaemons"] = .array(daemons.map { d in
                var o: [String: JSONValue] = [
                    "state": .string(d.state.description), "interface": .string(d.interface),
                    "syncId": .integer(Int64(d.syncID)), "maxLength": .integer(Int64(d.maxLength)),
                    "port": .integer(Int64(d.port)), "ttl": .integer(Int64(d.ttl)),
                ]
                if let g = d.group { o["group"] = .string(g.description) }
                return .object(o)
            })
        }
        if !settings.isEmpty { root["settings"] = .object(settings) }
        return root
    }

    static func service(_ spec: ServiceSpec) -> JSONValue {
        let v = spec.service
        var o: [String: JSONValue] = [
            "name": .string(spec.name),
            "scheduler": .string(v.scheduler.rawValue),
            "onePacket": .bool(v.flags.contains(.onePacket)),
            "inhibitOnFailure": .bool(spec.inhibitOnFailure),
            "realServers": .array(spec.realServers.map(realServer)),
        ]
        switch v.id {
        case .address(let p, let a, let port):
            o["protocol"] = .string(p.rawValue)
            o["address"] = .string(a.description)
            o["port"] = .integer(Int64(port))
        case .fwmark(let mark, let family):
            o["fwmark"] = .integer(Int64(mark))
            o["family"] = .string(family.rawValue)
        }
        let names = v.scheduler.flagNames
        var flags: [JSONValue] = []
        for (i, bit) in [ServiceFlags.sched1, .sched2, .sched3].enumerated() where v.flags.contains(bit) {
            flags.append(.string(names[i]))
        }
        if !flags.isEmpty { o["schedulerFlags"] = .array(flags) }
        if v.isPersistent {
            var p: [String: JSONValue] = ["timeout": .integer(Int64(v.timeout))]
            if v.id.family == .ipv4 {
                p["netmask"] = .string(IPAddress.v4(v.netmask).description)
            } else {
                p["prefixLength"] = .integer(Int64(v.netmask))
            }
            o["persistence"] = .object(p)
        }
        if let pe = v.persistenceEngine { o["persistenceEngine"] = .string(pe) }
        if let d = spec.drainTimeout { o["drain"] = .object(["timeout": .integer(Int64(d))]) }
        if let c = spec.healthCheck { o["healthCheck"] = healthCheck(c) }
        if let s = spec.sorryServer {
            var so: [String: JSONValue] = [
                "address": .string(s.id.address.description), "port": .integer(Int64(s.id.port)),
                "forwarding": .string(s.forwarding.description),
            ]
            if s.forwarding == .tunnel { so["tunnel"] = tunnel(s.tunnel) }
            o["sorryServer"] = .object(so)
        }
        if let q = spec.quorum { o["quorum"] = .integer(Int64(q)) }
        if let h = spec.hysteresis { o["hysteresis"] = .integer(Int64(h)) }
        return .object(o)
    }

    static func realServer(_ spec: RealServerSpec) -> JSONValue {
        let s = spec.server
        var o: [String: JSONValue] = [
            "address": .string(s.id.address.description), "port": .integer(Int64(s.id.port)),
            "weight": .integer(Int64(s.weight)), "forwarding": .string(s.forwarding.description),
            "upperThreshold": .integer(Int64(s.upperThreshold)), "lowerThreshold": .integer(Int64(s.lowerThreshold)),
        ]
        if s.forwarding == .tunnel { o["tunnel"] = tunnel(s.tunnel) }
        if let c = spec.healthCheck { o["healthCheck"] = healthCheck(c) }
        return .object(o)
    }

    static func tunnel(_ t: TunnelSettings) -> JSONValue {
        var o: [String: JSONValue] = ["type": .string(t.type.description)]
        if t.type == .gue { o["port"] = .integer(Int64(t.port)) }
        if t.type != .ipip { o["checksum"] = .string(t.checksum.description) }
        return .object(o)
    }

    static func healthCheck(_ c: HealthCheck) -> JSONValue {
        var o: [String: JSONValue] = [
            "type": .string(c.type.rawValue),
            "connectTimeout": .double(c.connectTimeout), "retry": .integer(Int64(c.retry)),
            "delayBeforeRetry": .double(c.delayBeforeRetry), "interval": .double(c.interval),
            "rise": .integer(Int64(c.rise)), "alpha": .bool(c.alpha),
        ]
        if let p = c.port, c.type != .exec { o["port"] = .integer(Int64(p)) }
        if let f = c.fall { o["fall"] = .integer(Int64(f)) }
        if c.type == .http || c.type == .https {
            if let p = c.path { o["path"] = .string(p) }
            if !c.statusCodes.isEmpty { o["statusCodes"] = .array(c.statusCodes.map { .integer(Int64($0)) }) }
            if let d = c.digest { o["digest"] = .string(d) }
            if let h = c.host { o["host"] = .string(h) }
        }
        if c.type == .https { o["insecureSkipVerify"] = .bool(c.insecureSkipVerify) }
        if c.type == .exec, let cmd = c.command { o["command"] = .array(cmd.map { .string($0) }) }
        return .object(o)
    }
}
