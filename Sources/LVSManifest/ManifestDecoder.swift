import LVSModel

/// Turns a parsed JSON tree into a `DesiredState`, reporting every problem as a `Diagnostic`
/// with its JSON path and position. It never stops at the first problem: each field is checked on
/// its own, and cross-field rules run whenever the fields they need could be read.
final class ManifestDecoder {
    let diagnostics: DiagnosticCollector
    let capabilities: KernelCapabilities?

    init(_ diagnostics: DiagnosticCollector, capabilities: KernelCapabilities?) {
        self.diagnostics = diagnostics
        self.capabilities = capabilities
    }

    /// What the decoder remembers about a service for the checks that span services.
    struct DecodedService {
        var spec: ServiceSpec?
        var path: String
        var name: String?
        var namePosition: SourcePosition
        var identityPosition: SourcePosition
        /// Real servers whose family differs from the service's (path, position of the address).
        var mixedFamily: [(String, SourcePosition)]
    }

    /// Services decoded while the parser read them (see `Manifest.decode`), with the diagnostics
    /// their decoding reported, in order.
    struct Streamed {
        var services: [DecodedService]
        var diagnostics: [Diagnostic]
    }

    /// Decodes the whole manifest. The result is meaningful only if no error was reported.
    /// `streamed`: the services, already decoded; the `services` array of `root` is then empty.
    func decode(_ root: JSONNode, streamed: consuming Streamed? = nil) -> DesiredState? {
        guard let r = ObjectReader(root, path: "", what: "the manifest", known: ManifestFields.manifest, diagnostics)
        else { return nil }

        if let v = r.string("apiVersion", required: true, hint: "add \"apiVersion\": \"\(ManifestFields.apiVersion)\""),
            v != ManifestFields.apiVersion
        {
            diagnostics.error("apiVersion", r.position("apiVersion"), "unsupported apiVersion '\(excerpt: v)'",
                              hint: "this lvsctl reads \"\(ManifestFields.apiVersion)\"")
        }
        let name = r.string("name", required: true, hint: "add \"name\": \"web\"; the name owns the manifest's services")
        if let name { checkIdentifier(name, path: "name", position: r.position("name"), what: "manifest name") }
        _ = r.string("description")

        var decoded: [DecodedService] = []
        if let items = r.array("services", required: true, hint: "add \"services\": [ ... ]") {
            if let streamed = streamed.take() {
                diagnostics.append(streamed.diagnostics)
                decoded = streamed.services
            } else {
                for (i, item) in items.enumerated() {
                    if let s = decodeService(item, path: "services[\(i)]") { decoded.append(s) }
                }
            }
        }
        checkAcrossServices(decoded)

        var settings = GlobalSettings()
        if let s = r.object("settings", what: "settings", known: ManifestFields.settings) {
            settings = decodeSettings(s)
            if let daemons = settings.syncDaemons, !daemons.isEmpty {
                for (path, pos) in decoded.flatMap(\.mixedFamily) {
                    diagnostics.error(path, pos, "a real server of another address family cannot be used while a sync daemon runs",
                                      hint: "the kernel refuses mixed-family real servers with sync daemons (EINVAL); remove one or the other")
                }
            }
        }

        var vrrp: VRRPConfig?
        if let v = r.object("vrrp", what: "the vrrp section", known: ManifestFields.vrrp) {
            vrrp = decodeVRRP(v, services: decoded.compactMap(\.spec))
        }

        var bgp: BGPConfig?
        if let b = r.object("bgp", what: "the bgp section", known: ManifestFields.bgp) {
            bgp = decodeBGP(b, services: decoded, settings: settings)
        }

        return DesiredState(manifest: name ?? "", services: decoded.compactMap(\.spec), settings: settings, vrrp: vrrp, bgp: bgp)
    }

    /// Duplicate identities and duplicate names.
    private func checkAcrossServices(_ services: [DecodedService]) {
        // Indices, not copies of the services, as values.
        var ids: [VirtualService.ID: Int] = [:]
        var names: [String: Int] = [:]
        ids.reserveCapacity(services.count)
        names.reserveCapacity(services.count)
        for (i, s) in services.enumerated() {
            if let id = s.spec?.service.id {
                if let first = ids[id].map({ services[$0] }) {
                    let label = first.name.map { " '\($0)'" } ?? ""
                    diagnostics.error(s.path, s.identityPosition,
                                      "service \(id) is declared twice (first as \(first.path)\(label))",
                                      hint: "merge the two services; IPVS has one service per protocol, address and port (or fwmark and family)")
                } else {
                    ids[id] = i
                }
            }
            if let n = s.name {
                if let first = names[n].map({ services[$0] }) {
                    diagnostics.error(join(s.path, "name"), s.namePosition,
                                      "duplicate service name '\(excerpt: n)' (first used by \(first.path))",
                                      hint: "service names must be unique within a manifest")
                } else {
                    names[n] = i
                }
            }
        }
    }

    // MARK: - Shared value readers

    /// Manifest and service names: safe in file names, URLs and log lines.
    func checkIdentifier(_ s: String, path: String, position: SourcePosition, what: String) {
        if s.isEmpty {
            diagnostics.error(path, position, "the \(what) is empty", hint: "use a name such as \"web\"")
        } else if !ManifestName.isValid(s) {
            diagnostics.error(path, position, "'\(excerpt: s)' is not a valid \(what)", hint: ManifestName.rule)
        }
    }

    enum AddressRole {
        case virtualService, realServer, multicastGroup
    }

    /// Reads an address and rejects the classes that cannot serve the role.
    func address(_ r: ObjectReader, _ key: String, required: Bool, role: AddressRole) -> IPAddress? {
        guard let s = r.string(key, required: required, hint: "an IPv4 or IPv6 address such as 10.0.0.1") else { return nil }
        let pos = r.position(key)
        var path: String { r.at(key) }  // only for diagnostics
        guard let a = IPAddress.parsingManifest(s) else {
            var hint = "write an IPv4 or IPv6 address literally, such as 10.0.0.1 or 2001:db8::1 (no host names)"
            if s.contains("/") { hint = "remove the prefix length; only the address goes here" }
            else if s.utf8.lazy.filter({ $0 == UInt8(ascii: ":") }).count == 1 || s.hasPrefix("[") { hint = "put the port in \"port\"; only the address goes here" }
            diagnostics.error(path, pos, "'\(excerpt: s)' is not an IPv4 or IPv6 address", hint: hint)
            return nil
        }
        switch role {
        case .multicastGroup:
            if !a.isMulticast {
                diagnostics.error(path, pos, "\(a) is not a multicast address",
                                  hint: "use a group in 224.0.0.0/4 or ff00::/8, or remove 'group' for the default 224.0.0.81")
                return nil
            }
        case .virtualService, .realServer:
            let what = role == .virtualService ? "a virtual service" : "a real server"
            if a.isUnspecified {
                diagnostics.error(path, pos, "the unspecified address \(a) cannot be \(what) address", hint: "use a unicast address")
                return nil
            }
            if a.isMulticast || a.isLimitedBroadcast {
                diagnostics.error(path, pos, "\(a) is a \(a.isMulticast ? "multicast" : "broadcast") address and cannot be \(what) address",
                                  hint: "use a unicast address")
                return nil
            }
            if role == .realServer && a.isLinkLocalV6 {
                diagnostics.error(path, pos, "\(a) is link-local; the kernel rejects link-local real servers",
                                  hint: "use a global or unique-local address")
                return nil
            }
        }
        return a
    }

    /// `dr`, `nat` or `tunnel`.
    func forwarding(_ r: ObjectReader, _ key: String = "forwarding") -> ForwardingMethod? {
        guard let s = r.string(key, hint: "use dr, nat or tunnel") else { return nil }
        switch s {
        case "dr": return .directRoute
        case "nat": return .masquerade
        case "tunnel": return .tunnel
        default:
            var hint = "use dr, nat or tunnel"
            if let m = ForwardingMethod(manifestName: s), m != .local { hint = "write '\(m)'; \(hint)" }
            else if let near = closest(s, in: ManifestFields.forwarding) { hint = "did you mean '\(near)'? \(hint)" }
            diagnostics.error(r.at(key), r.position(key), "unknown forwarding method '\(excerpt: s)'", hint: hint)
            return nil
        }
    }

    /// A `tunnel` block: type, GUE port, checksum mode, with the ipvsadm rules per type.
    func decodeTunnel(_ t: ObjectReader) -> TunnelSettings {
        var settings = TunnelSettings()
        if t.has("type") {
            guard let name = t.choice("type", ManifestFields.tunnelTypes, what: "tunnel type"),
                let type = TunnelType(name: name)
            else { return settings }
            settings.type = type
        }
        let port = t.integer("port", 1...65535, hint: "use a UDP port from 1 to 65535 for the GUE encapsulation, e.g. 6080")
        if settings.type == .gue {
            if let port { settings.port = UInt16(clamping: port) } else if !t.has("port") {
                t.missing("port", hint: "GUE needs the real server's UDP decapsulation port, e.g. \"port\": 6080")
            }
        } else if t.has("port") {
            diagnostics.error(t.at("port"), t.keyPosition("port"), "'port' is only for GUE tunnels, not \(settings.type)",
                              hint: "remove 'port', or use \"type\": \"gue\"")
        }
        if t.has("checksum") {
            switch settings.type {
            case .ipip:
                diagnostics.error(t.at("checksum"), t.keyPosition("checksum"), "IPIP tunnels have no checksum option",
                                  hint: "remove 'checksum', or use \"type\": \"gue\" or \"gre\"")
            case .gre:
                if let c = t.choice("checksum", ["nocsum", "csum"], what: "GRE checksum mode"), let v = TunnelChecksum(name: c) {
                    settings.checksum = v
                }
            default:
                if let c = t.choice("checksum", ["nocsum", "csum", "remcsum"], what: "GUE checksum mode"), let v = TunnelChecksum(name: c) {
                    settings.checksum = v
                }
            }
        }
        return settings
    }

    // MARK: - Settings

    private func decodeSettings(_ r: ObjectReader) -> GlobalSettings {
        var settings = GlobalSettings()
        if let t = r.object("timeouts", what: "timeouts", known: ManifestFields.timeouts) {
            let hint = "use a timeout from 1 to 8589934 seconds (the kernel's limit with HZ=250)"
            let tcp = t.integer("tcp", ManifestFields.Limit.kernelTimeout, hint: hint)
            let fin = t.integer("tcpFin", ManifestFields.Limit.kernelTimeout, hint: hint)
            let udp = t.integer("udp", ManifestFields.Limit.kernelTimeout, hint: hint)
            if !ManifestFields.timeouts.contains(where: t.has) {
                diagnostics.error(r.at("timeouts"), t.node.position, "timeouts is empty",
                                  hint: "give tcp, tcpFin and/or udp in seconds, or remove 'timeouts'")
            }
            settings.timeouts = Timeouts(
                tcp: UInt32(clamping: tcp ?? 0), tcpFin: UInt32(clamping: fin ?? 0), udp: UInt32(clamping: udp ?? 0))
        }
        if let items = r.array("syncDaemons") {
            var daemons: [SyncDaemon] = []
            var seen: [SyncDaemon.State: String] = [:]
            for (i, item) in items.enumerated() {
                let path = "\(r.at("syncDaemons"))[\(i)]"
                guard let d = ObjectReader(item, path: path, what: "a sync daemon", known: ManifestFields.syncDaemon, diagnostics)
                else { continue }
                let stateName = d.choice("state", ["master", "backup"], required: true, what: "sync daemon state")
                let state: SyncDaemon.State? = stateName.map { $0 == "master" ? .master : .backup }
                if let state {
                    if let first = seen[state] {
                        diagnostics.error(d.at("state"), d.position("state"), "a second \(state) sync daemon (first at \(first))",
                                          hint: "run at most one master and one backup")
                    } else {
                        seen[state] = path
                    }
                }
                let interface = d.string("interface", required: true, hint: "the interface for the multicast traffic, e.g. \"eth0\"")
                if let interface { checkInterfaceName(interface, path: d.at("interface"), position: d.position("interface")) }
                let syncID = d.integer("syncId", 0...255, hint: "use a sync id from 0 to 255 (ipvsadm --syncid)")
                let maxLength = d.integer("maxLength", 0...65535, hint: "use a UDP payload size from 0 (derived from the MTU) to 65535")
                let group = d.has("group") ? address(d, "group", required: false, role: .multicastGroup) : nil
                let port = d.integer("port", 0...65535, hint: "use a UDP port from 1 to 65535, or 0 for the default 8848")
                let ttl = d.integer("ttl", 0...255, hint: "use a multicast TTL from 1 to 255, or 0 for the default 1")
                if let state, let interface {
                    daemons.append(SyncDaemon(
                        state: state, interface: interface, syncID: UInt32(clamping: syncID ?? 0),
                        maxLength: UInt16(clamping: maxLength ?? 0), group: group, port: UInt16(clamping: port ?? 0),
                        ttl: UInt8(clamping: ttl ?? 0)))
                }
            }
            settings.syncDaemons = daemons
        }
        settings.sysctls = decodeSysctls(r)
        if settings.sysctls.backupOnly == true, let daemons = settings.syncDaemons, daemons.contains(where: { $0.state == .master }) {
            diagnostics.warning(r.at("backupOnly"), r.position("backupOnly"),
                                "backupOnly stops this director from balancing while its backup sync daemon runs",
                                hint: "with a master and a backup sync daemon on both directors (the recommended pair) leave backupOnly false")
        }
        return settings
    }

    /// The `/proc/sys/net/ipv4/vs` members of `settings`, with the kernel's limits.
    private func decodeSysctls(_ r: ObjectReader) -> IPVSSysctls {
        var s = IPVSSysctls()
        s.sloppyTcp = r.bool("sloppyTcp")
        s.sloppySctp = r.bool("sloppySctp")
        s.expireNodestConn = r.bool("expireNodestConn")
        s.expireQuiescentTemplate = r.bool("expireQuiescentTemplate")
        s.backupOnly = r.bool("backupOnly")
        s.syncRefreshPeriod = r.integer("syncRefreshPeriod", 0...8_589_934,
            hint: "seconds after which a connection in the same state is synced again; 0 (the default) turns it off").map { UInt32($0) }
        s.syncRetries = r.integer("syncRetries", 0...3, hint: "use 0 to 3 (the kernel's limit)").map { UInt32($0) }
        s.connReuseMode = r.integer("connReuseMode", 0...3,
            hint: "a bitmap: 0 off, 1 reschedule reused ports when safe (the default), 2 also in FIN_WAIT for DR/TUN, 3 both").map { UInt32($0) }
        if let items = r.array("syncThreshold", hint: "write [threshold, period], e.g. [3, 50] (the kernel's default)") {
            let path = r.at("syncThreshold")
            let hint = "write [threshold, period], e.g. [3, 50] (the kernel's default)"
            if items.count != 2 {
                diagnostics.error(path, r.position("syncThreshold"), "syncThreshold needs exactly two numbers, not \(items.count)", hint: hint)
            } else {
                let limit: ClosedRange<Int64> = 0...2_147_483_647
                let t = ObjectReader.integer(items[0], path: "\(path)[0]", limit, hint: hint, diagnostics)
                let p = ObjectReader.integer(items[1], path: "\(path)[1]", limit, hint: hint, diagnostics)
                if let t, let p {
                    if p != 0 && t >= p {
                        diagnostics.error(path, r.position("syncThreshold"), "the threshold \(t) must be below the period \(p) (or the period 0)",
                                          hint: "the kernel refuses it (EINVAL); e.g. [3, 50]")
                    } else {
                        s.syncThreshold = IPVSSysctls.SyncThreshold(threshold: UInt32(t), period: UInt32(p))
                    }
                }
            }
        }
        return s
    }
}
