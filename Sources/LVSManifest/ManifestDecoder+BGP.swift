import LVSModel

/// The `bgp` section: what every director of an ECMP site announces, and to whom.
///
/// Decisions worth knowing:
/// - Router ids are per node and IPv4 (BGP's router id is a 32-bit number BIRD writes as one);
///   two nodes with one id is an error: the routers would drop one session.
/// - A service announced over BGP whose scheduler decides from this director's own state
///   (`wrr`, `lc`, …) is a warning: after a route change its flows reach another director that
///   may pick another real server. So is a hashing scheduler without `sloppyTcp` and without sync
///   daemons: the new director has no connection entry and drops the flow's next packet.
/// - `vipDevice` is opt-in: without it lvsctl only checks that the announced addresses are
///   local (``VIPPlacement``); with it lvsctl adds the missing ones to that interface.
/// - A peer's password is written into BIRD's config between quotes, so quotes, backslashes and
///   control characters are refused.
extension ManifestDecoder {
    func decodeBGP(_ r: ObjectReader, services: [DecodedService], settings: GlobalSettings) -> BGPConfig? {
        var ok = true
        let localAS = r.integer("localAS", 1...4_294_967_295, required: true,
                                hint: "this site's AS number, e.g. 65001 (the same on every director)")
        if localAS == nil { ok = false }

        var routerID: [String: IPAddress] = [:]
        if let v = r.value("routerId") {
            if case .object(let members) = v.kind {
                if members.isEmpty {
                    diagnostics.error(r.at("routerId"), v.position, "routerId names no node",
                                      hint: "give each director's router id by node name, e.g. {\"d1\": \"10.20.0.2\"}")
                    ok = false
                }
                var seen: [IPAddress: String] = [:]
                for m in members {
                    let mpath = join(r.at("routerId"), m.key)
                    checkIdentifier(m.key, path: mpath, position: m.keyPosition, what: "node name")
                    guard case .string(let s) = m.value.kind, let a = IPAddress.parsingManifest(s), a.family == .ipv4 else {
                        diagnostics.error(mpath, m.value.position, "must be an IPv4 address",
                                          hint: "a router id is written as an IPv4 address, usually the director's own, e.g. \"10.20.0.2\"")
                        ok = false
                        continue
                    }
                    if let other = seen[a] {
                        diagnostics.error(mpath, m.value.position, "router id \(a) is also \(other)'s",
                                          hint: "every director needs its own router id")
                        ok = false
                    }
                    seen[a] = m.key
                    routerID[m.key] = a
                }
            } else {
                r.wrongType("routerId", v, "an object", hint: "give each director's router id by node name, e.g. {\"d1\": \"10.20.0.2\"}")
                ok = false
            }
        } else {
            r.missing("routerId", hint: "give each director's router id by node name, e.g. \"routerId\": {\"d1\": \"10.20.0.2\"}")
            ok = false
        }

        var peers: [BGPPeer] = []
        if let items = r.array("peers", required: true, hint: "the routers to announce to, e.g. [ { \"address\": \"10.20.0.1\", \"as\": 65000 } ]") {
            if items.isEmpty {
                diagnostics.error(r.at("peers"), r.position("peers"), "bgp declares no peer",
                                  hint: "add the routers the directors announce to, or remove the bgp section")
                ok = false
            }
            for (i, item) in items.enumerated() {
                let path = "\(r.at("peers"))[\(i)]"
                guard let p = ObjectReader(item, path: path, what: "a BGP peer", known: ManifestFields.bgpPeer, diagnostics) else {
                    ok = false
                    continue
                }
                let address = address(p, "address", required: true, role: .virtualService)
                let asn = p.integer("as", 1...4_294_967_295, required: true, hint: "the peer's AS number, e.g. 65000")
                var password: String?
                if let pw = p.string("password") {
                    if pw.isEmpty || pw.utf8.count > 80 || pw.unicodeScalars.contains(where: { $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7f }) {
                        diagnostics.error(p.at("password"), p.position("password"), "the password cannot be written into BIRD's config",
                                          hint: "use 1 to 80 characters without quotes, backslashes or control characters")
                        ok = false
                    } else {
                        password = pw
                    }
                }
                var hold: UInt16?
                if let h = p.integer("holdTime", 0...65535, hint: "seconds: 0 (no keepalives) or 3 to 65535") {
                    if h == 1 || h == 2 {
                        diagnostics.error(p.at("holdTime"), p.position("holdTime"), "a hold time of \(h) s is not allowed by BGP",
                                          hint: "use 0 (no keepalives) or 3 to 65535 seconds (RFC 4271)")
                        ok = false
                    } else {
                        hold = UInt16(h)
                    }
                }
                let bfd = p.bool("bfd") ?? false
                guard let address, let asn else { ok = false; continue }
                if peers.contains(where: { $0.address == address }) {
                    diagnostics.error(p.at("address"), p.position("address"), "peer \(address) is listed twice", hint: "list each router once")
                    ok = false
                    continue
                }
                peers.append(BGPPeer(address: address, asn: UInt32(asn), password: password, holdTime: hold, bfd: bfd))
            }
        } else {
            ok = false
        }

        var drain = BGPDrain()
        if let d = r.object("drain", what: "the drain settings", known: ManifestFields.bgpDrain) {
            if let m = d.integer("med", 0...4_294_967_295, hint: "the MED of a draining route, e.g. 1000 (routers prefer the lowest)") {
                drain.med = UInt32(m)
            }
            if let g = d.bool("gracefulShutdown") { drain.gracefulShutdown = g }
            if let s = d.integer("seconds", 0...3600, hint: "seconds a route drains before it is withdrawn, 0 to 3600") {
                drain.seconds = UInt32(s)
            }
        }

        var threshold = BGPConfig.defaultAnnounceThreshold
        if let v = r.value("announceThreshold") {
            if case .number(let raw) = v.kind, raw.utf8.count <= 32, let d = Double(raw), d.isFinite, (0...1).contains(d) {
                threshold = d
            } else {
                diagnostics.error(r.at("announceThreshold"), v.position, "must be a number from 0 to 1",
                                  hint: "the fraction of a service's real servers that must be healthy for its address to be announced, e.g. 0.5")
                ok = false
            }
        }

        var vipDevice: String?
        if let d = r.string("vipDevice", hint: "the interface lvsctl puts the announced addresses on, e.g. \"lo\"") {
            if checkInterfaceName(d, path: r.at("vipDevice"), position: r.position("vipDevice")) { vipDevice = d } else { ok = false }
        }

        checkECMPConsistency(services, settings: settings)
        guard ok, let localAS else { return nil }
        return BGPConfig(
            localAS: UInt32(localAS), routerID: routerID, peers: peers, drain: drain, announceThreshold: threshold,
            vipDevice: vipDevice)
    }

    /// Warns about announced services whose flows would break when ECMP moves them to another
    /// director (see the type's comment).
    private func checkECMPConsistency(_ services: [DecodedService], settings: GlobalSettings) {
        let synced = !(settings.syncDaemons ?? []).isEmpty
        for d in services {
            guard let spec = d.spec, spec.announce else { continue }
            let scheduler = spec.service.scheduler
            if !scheduler.picksAlikeOnEveryDirector {
                diagnostics.warning(join(d.path, "scheduler"), d.namePosition,
                                    "scheduler '\(scheduler)' picks real servers from this director's own state; behind ECMP a flow moved to another director may reach another real server",
                                    hint: "use \"mh\" with the same real servers in the same order on every director, or set \"announce\": false")
            } else if spec.service.id.ipProtocol == .tcp, settings.sysctls.sloppyTcp != true, !synced {
                diagnostics.warning(join(d.path, "scheduler"), d.namePosition,
                                    "without sloppyTcp or connection sync, a director that receives the middle of a TCP flow drops it",
                                    hint: "set settings.sloppyTcp: true so every director accepts a flow it did not see start")
            }
        }
    }
}
