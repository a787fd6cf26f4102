import LVSModel

/// Renders a `DesiredState` as the canonical text of a manifest v1 document with every value
/// explicit: each real server carries its own port, weight, forwarding, thresholds and tunnel
/// block; services carry no forwarding defaults. Descriptions are not part of the model and are
/// not written.
///
/// The text is written member by member with `CanonicalWriter`, so the members of every object
/// below are listed in sorted key order (the order `JSONValue` sorts keys in); a test pins the
/// output byte for byte.
enum ManifestEncoder {
    /// The canonical text, final newline included. `sizeHint`: the size of the source text, if
    /// known (the text's storage is reserved from it; else from the number of objects).
    static func canonicalText(_ state: DesiredState, sizeHint: Int = 0) -> String {
        CanonicalWriter.text(capacity: sizeHint > 0 ? sizeHint * 6 : estimatedSize(state)) { document(state, &$0) }
    }

    /// The same text in pieces of `size` bytes, handed to `chunk` in order (see
    /// `CanonicalWriter.chunks(size:_:to:)`).
    static func canonicalChunks(_ state: DesiredState, size: Int, to chunk: (UnsafeRawBufferPointer) -> Void) {
        CanonicalWriter.chunks(size: size, { document(state, &$0) }, to: chunk)
    }

    private static func document(_ state: DesiredState, _ w: inout CanonicalWriter) {
        w.beginObject()
        w.key("apiVersion"); w.string(ManifestFields.apiVersion)
        w.key("name"); w.string(state.manifest)
        w.key("services")
        w.beginArray()
        for spec in state.services {
            w.element()
            service(spec, &w)
        }
        w.endArray()
        settings(state.settings, &w)
        if let v = state.vrrp { w.key("vrrp"); vrrp(v, &w) }
        if let b = state.bgp { w.key("bgp"); bgp(b, &w) }
        w.endObject()
    }

    /// Keys known only at run time (node names), in the canonical order: by UTF-8 bytes.
    private static func sortedKeys<V>(_ d: [String: V]) -> [String] {
        d.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    private static func bgp(_ b: BGPConfig, _ w: inout CanonicalWriter) {
        w.beginObject()
        w.key("announceThreshold"); w.double(b.announceThreshold)
        w.key("drain")
        w.beginObject()
        w.key("gracefulShutdown"); w.bool(b.drain.gracefulShutdown)
        w.key("med"); w.integer(b.drain.med)
        w.key("seconds"); w.integer(b.drain.seconds)
        w.endObject()
        w.key("localAS"); w.integer(b.localAS)
        w.key("peers")
        w.beginArray()
        for p in b.peers {
            w.element()
            w.beginObject()
            w.key("address"); w.address(p.address)
            w.key("as"); w.integer(p.asn)
            w.key("bfd"); w.bool(p.bfd)
            if let h = p.holdTime { w.key("holdTime"); w.integer(h) }
            if let pw = p.password { w.key("password"); w.string(pw) }
            w.endObject()
        }
        w.endArray()
        w.key("routerId")
        w.beginObject()
        for n in sortedKeys(b.routerID) { if let a = b.routerID[n] { w.dynamicKey(n); w.address(a) } }
        w.endObject()
        // Only when declared: a manifest without it keeps its canonical form (and its hash).
        if let d = b.vipDevice { w.key("vipDevice"); w.string(d) }
        w.endObject()
    }

    private static func vrrp(_ v: VRRPConfig, _ w: inout CanonicalWriter) {
        w.beginObject()
        w.key("instances")
        w.beginArray()
        for i in v.instances {
            w.element()
            w.beginObject()
            w.key("addresses")
            w.beginArray()
            for a in i.addresses {
                w.element()
                w.beginObject()
                w.key("address"); w.string(a.description)
                w.key("device"); w.string(a.device ?? i.interface)
                w.endObject()
            }
            w.endArray()
            w.key("advertInterval"); w.integer(i.advertInterval)
            if let p = i.authPassword {
                w.key("authentication")
                w.beginObject()
                w.key("password"); w.string(p)
                w.key("type"); w.string("PASS")
                w.endObject()
            }
            w.key("interface"); w.string(i.interface)
            w.key("name"); w.string(i.name)
            w.key("preempt"); w.bool(i.preempt)
            if let d = i.preemptDelay { w.key("preemptDelay"); w.integer(d) }
            w.key("priority")
            w.beginObject()
            for n in sortedKeys(i.priority) { w.dynamicKey(n); w.integer(i.priority[n] ?? 0) }
            w.endObject()
            w.key("trackInterfaces"); w.inlineArray(i.trackInterfaces) { w, s in w.string(s) }
            if !i.unicast.isEmpty {
                w.key("unicast")
                w.beginObject()
                for n in sortedKeys(i.unicast) {
                    guard let u = i.unicast[n] else { continue }
                    w.dynamicKey(n)
                    w.beginObject()
                    w.key("peers"); w.inlineArray(u.peers) { w, a in w.address(a) }
                    if let s = u.source { w.key("source"); w.address(s) }
                    w.endObject()
                }
                w.endObject()
            }
            w.key("virtualRouterId"); w.integer(i.virtualRouterID)
            w.endObject()
        }
        w.endArray()
        w.key("maintenanceInstances"); w.inlineArray(v.maintenanceInstances) { w, s in w.string(s) }
        w.key("syncGroups")
        w.beginArray()
        for g in v.syncGroups {
            w.element()
            w.beginObject()
            w.key("instances"); w.inlineArray(g.instances) { w, s in w.string(s) }
            w.key("name"); w.string(g.name)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    /// Generous bytes for the text of `state`: a real server takes about 240 bytes, a service
    /// without its real servers about 500. Reserving too little would write the text again with
    /// twice the room (a whole pass each time); too much costs address space only.
    static func estimatedSize(_ state: DesiredState) -> Int {
        var size = 4096 + (state.settings.syncDaemons?.count ?? 0) * 512
        for spec in state.services {
            size += 2048 + spec.realServers.count * 512
        }
        return size
    }

    /// The `settings` member, if any setting is there.
    private static func settings(_ settings: GlobalSettings, _ w: inout CanonicalWriter) {
        let timeouts = settings.timeouts.flatMap { t in t.tcp == 0 && t.tcpFin == 0 && t.udp == 0 ? nil : t }
        guard timeouts != nil || settings.syncDaemons != nil || !settings.sysctls.isEmpty else { return }
        let sysctls = settings.sysctls
        w.key("settings")
        w.beginObject()
        // The members in sorted key order: the sysctls before and after `syncDaemons`.
        func sysctl(_ f: IPVSSysctls.Field) {
            guard let text = sysctls.text(f) else { return }
            w.dynamicKey(f.rawValue)
            if f.isBoolean {
                w.bool(text == "1")
            } else if f == .syncThreshold, let t = sysctls.syncThreshold {
                w.inlineArray([t.threshold, t.period]) { w, v in w.integer(v) }
            } else {
                w.integer(UInt32(text) ?? 0)
            }
        }
        for f in IPVSSysctls.Field.allCases where f.rawValue < "syncDaemons" { sysctl(f) }
        if let daemons = settings.syncDaemons {
            w.key("syncDaemons")
            w.beginArray()
            for d in daemons {
                w.element()
                w.beginObject()
                if let g = d.group { w.key("group"); w.address(g) }
                w.key("interface"); w.string(d.interface)
                w.key("maxLength"); w.integer(d.maxLength)
                w.key("port"); w.integer(d.port)
                w.key("state"); w.string(d.state.description)
                w.key("syncId"); w.integer(d.syncID)
                w.key("ttl"); w.integer(d.ttl)
                w.endObject()
            }
            w.endArray()
        }
        for f in IPVSSysctls.Field.allCases where f.rawValue > "syncDaemons" { sysctl(f) }
        if let t = timeouts {
            w.key("timeouts")
            w.beginObject()
            if t.tcp != 0 { w.key("tcp"); w.integer(t.tcp) }
            if t.tcpFin != 0 { w.key("tcpFin"); w.integer(t.tcpFin) }
            if t.udp != 0 { w.key("udp"); w.integer(t.udp) }
            w.endObject()
        }
        w.endObject()
    }

    private static func service(_ spec: ServiceSpec, _ w: inout CanonicalWriter) {
        let v = spec.service
        w.beginObject()
        if case .address(_, let a, _) = v.id { w.key("address"); w.address(a) }
        // Written only when false, so manifests without BGP keep their canonical form.
        if !spec.announce { w.key("announce"); w.bool(false) }
        if let d = spec.drainTimeout {
            w.key("drain")
            w.beginObject()
            w.key("timeout"); w.integer(d)
            w.endObject()
        }
        if case .fwmark(let mark, let family) = v.id {
            w.key("family"); w.string(family.rawValue)
            w.key("fwmark"); w.integer(mark)
        }
        if let c = spec.healthCheck { w.key("healthCheck"); healthCheck(c, &w) }
        if let h = spec.hysteresis { w.key("hysteresis"); w.integer(h) }
        w.key("inhibitOnFailure"); w.bool(spec.inhibitOnFailure)
        w.key("name"); w.string(spec.name)
        w.key("onePacket"); w.bool(v.flags.contains(.onePacket))
        if v.isPersistent {
            w.key("persistence")
            w.beginObject()
            if v.id.family == .ipv4 {
                w.key("netmask"); w.address(.v4(v.netmask))
            } else {
                w.key("prefixLength"); w.integer(v.netmask)
            }
            w.key("timeout"); w.integer(v.timeout)
            w.endObject()
        }
        if let pe = v.persistenceEngine { w.key("persistenceEngine"); w.string(pe) }
        if case .address(let p, _, let port) = v.id {
            w.key("port"); w.integer(port)
            w.key("protocol"); w.string(p.rawValue)
        }
        if let q = spec.quorum { w.key("quorum"); w.integer(q) }
        w.key("realServers")
        w.beginArray()
        for rs in spec.realServers {
            w.element()
            realServer(rs, &w)
        }
        w.endArray()
        w.key("scheduler"); w.string(v.scheduler.rawValue)
        let bits = [ServiceFlags.sched1, .sched2, .sched3]
        if bits.contains(where: { v.flags.contains($0) }) {
            let names = v.scheduler.flagNames
            w.key("schedulerFlags")
            w.inlineArray(bits.indices.filter { v.flags.contains(bits[$0]) }) { w, i in w.string(names[i]) }
        }
        if let s = spec.sorryServer {
            w.key("sorryServer")
            w.beginObject()
            w.key("address"); w.address(s.id.address)
            w.key("forwarding"); w.string(s.forwarding.description)
            w.key("port"); w.integer(s.id.port)
            if s.forwarding == .tunnel { w.key("tunnel"); tunnel(s.tunnel, &w) }
            w.endObject()
        }
        w.endObject()
    }

    private static func realServer(_ spec: RealServerSpec, _ w: inout CanonicalWriter) {
        let s = spec.server
        w.beginObject()
        w.key("address"); w.address(s.id.address)
        w.key("forwarding"); w.string(s.forwarding.description)
        if let c = spec.healthCheck { w.key("healthCheck"); healthCheck(c, &w) }
        w.key("lowerThreshold"); w.integer(s.lowerThreshold)
        w.key("port"); w.integer(s.id.port)
        if s.forwarding == .tunnel { w.key("tunnel"); tunnel(s.tunnel, &w) }
        w.key("upperThreshold"); w.integer(s.upperThreshold)
        w.key("weight"); w.integer(s.weight)
        w.endObject()
    }

    private static func tunnel(_ t: TunnelSettings, _ w: inout CanonicalWriter) {
        w.beginObject()
        if t.type != .ipip { w.key("checksum"); w.string(t.checksum.description) }
        if t.type == .gue { w.key("port"); w.integer(t.port) }
        w.key("type"); w.string(t.type.description)
        w.endObject()
    }

    private static func healthCheck(_ c: HealthCheck, _ w: inout CanonicalWriter) {
        let web = c.type == .http || c.type == .https
        w.beginObject()
        w.key("alpha"); w.bool(c.alpha)
        if c.type == .exec, let cmd = c.command { w.key("command"); w.inlineArray(cmd) { w, s in w.string(s) } }
        w.key("connectTimeout"); w.double(c.connectTimeout)
        w.key("delayBeforeRetry"); w.double(c.delayBeforeRetry)
        if web, let d = c.digest { w.key("digest"); w.string(d) }
        if let f = c.fall { w.key("fall"); w.integer(f) }
        if web, let h = c.host { w.key("host"); w.string(h) }
        if c.type == .https { w.key("insecureSkipVerify"); w.bool(c.insecureSkipVerify) }
        w.key("interval"); w.double(c.interval)
        if web, let p = c.path { w.key("path"); w.string(p) }
        if let p = c.port, c.type != .exec { w.key("port"); w.integer(p) }
        w.key("retry"); w.integer(c.retry)
        w.key("rise"); w.integer(c.rise)
        if web, !c.statusCodes.isEmpty { w.key("statusCodes"); w.inlineArray(c.statusCodes) { w, code in w.integer(code) } }
        w.key("type"); w.string(c.type.rawValue)
        w.endObject()
    }
}
