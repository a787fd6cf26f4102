import LVSModel

/// The `vrrp` section: keepalived's `vrrp_instance` and `vrrp_sync_group`, with per-node values
/// keyed by node name so that one manifest serves both directors.
///
/// Decisions worth knowing:
/// - Equal priorities of two nodes in one instance are a warning, not an error: keepalived
///   accepts them, and with `nopreempt` they are the seed's way of keeping whichever director is
///   master (measured: start order then decides who wins). keepalived's advice is different
///   priorities, and the warning says so.
/// - A virtual address that no service of this manifest serves is a warning: the address may be
///   served by a service of another manifest, or be a NAT real servers' gateway, which VRRP
///   carries but IPVS does not serve. With a fwmark service of the address's family nothing is
///   said (its addresses live in firewall rules).
/// - Every address needs its prefix length (`10.0.0.1/24`): keepalived's default /32 for a
///   missing one is too easy to get wrong. A device left out is the instance's interface.
/// - `preempt: false` is keepalived's `nopreempt`; `preemptDelay` needs `preempt: true`.
/// - `auth_type PASS` is accepted with a warning (RFC 3768 removed it; the password travels in
///   clear text). AH is not supported.
/// - `maintenanceInstances` left out means every instance.
/// - A sync group of one instance is an error: keepalived 2.2.7 warns "this probably isn't what
///   you want" and its config test (`keepalived -t`) exits 5 on it.
extension ManifestDecoder {
    /// What the section's checks across instances need to know about one instance.
    private struct DecodedInstance {
        var instance: VRRPInstance?
        var path: String
        var name: String?
        var namePosition: SourcePosition
        var priorityPath: String
        var priorityPosition: SourcePosition
        var priorityNodes: [String]
        var unicastPath: String
        var unicastPosition: SourcePosition
        var unicastNodes: [String]
        var vridPosition: SourcePosition
        /// Each address with its path and position.
        var addresses: [(VRRPAddress, String, SourcePosition)]
    }

    func decodeVRRP(_ r: ObjectReader, services: [ServiceSpec]) -> VRRPConfig? {
        var decoded: [DecodedInstance] = []
        if let items = r.array("instances", required: true, hint: "add \"instances\": [ { \"name\": \"VI_1\", ... } ]") {
            if items.isEmpty {
                diagnostics.error(r.at("instances"), r.position("instances"), "vrrp declares no instance",
                                  hint: "add an instance, or remove the vrrp section")
            }
            for (i, item) in items.enumerated() {
                if let d = decodeInstance(item, path: "\(r.at("instances"))[\(i)]") { decoded.append(d) }
            }
        }
        checkAcrossInstances(decoded)
        let names = decoded.compactMap(\.name)

        var groups: [VRRPSyncGroup] = []
        if let items = r.array("syncGroups", hint: "write [ { \"name\": \"G1\", \"instances\": [\"VI_1\"] } ]") {
            var groupNames: [String: String] = [:]
            var memberOf: [String: String] = [:]
            for (i, item) in items.enumerated() {
                let path = "\(r.at("syncGroups"))[\(i)]"
                guard let g = ObjectReader(item, path: path, what: "a sync group", known: ManifestFields.vrrpSyncGroup, diagnostics)
                else { continue }
                let name = g.string("name", required: true, hint: "a name such as \"G1\"; it appears in keepalived's GROUP notifications")
                if let name {
                    checkIdentifier(name, path: g.at("name"), position: g.position("name"), what: "sync group name")
                    if let first = groupNames[name] {
                        diagnostics.error(g.at("name"), g.position("name"), "duplicate sync group name '\(excerpt: name)' (first used by \(first))",
                                          hint: "sync group names must be unique")
                    } else {
                        groupNames[name] = path
                    }
                }
                var members: [String] = []
                if let list = g.array("instances", required: true, hint: "the names of the instances that move together") {
                    if list.isEmpty {
                        diagnostics.error(g.at("instances"), g.position("instances"), "the sync group has no instances",
                                          hint: "name the instances that move together, or remove the group")
                    }
                    for (j, m) in list.enumerated() {
                        let mpath = "\(g.at("instances"))[\(j)]"
                        guard case .string(let member) = m.kind else {
                            diagnostics.error(mpath, m.position, "must be a string, not \(m.typeDescription)", hint: "an instance name")
                            continue
                        }
                        if !names.contains(member) {
                            var hint = "name an instance of vrrp.instances"
                            if let near = closest(member, in: names) { hint = "did you mean '\(excerpt: near)'?" }
                            diagnostics.error(mpath, m.position, "unknown instance '\(excerpt: member)'", hint: hint)
                            continue
                        }
                        if members.contains(member) {
                            diagnostics.error(mpath, m.position, "instance '\(excerpt: member)' is listed twice in this group", hint: "list it once")
                            continue
                        }
                        if let other = memberOf[member] {
                            diagnostics.error(mpath, m.position, "instance '\(excerpt: member)' is already in sync group \(other)",
                                              hint: "an instance can be in one sync group only (keepalived refuses the config)")
                            continue
                        }
                        memberOf[member] = name ?? path
                        members.append(member)
                    }
                }
                if members.count == 1 {
                    diagnostics.error(g.at("instances"), g.position("instances"), "a sync group of one instance moves nothing together",
                                      hint: "add the instances that must move with \(members[0]), or remove the group (keepalived's config test fails on a group of one)")
                }
                if let name { groups.append(VRRPSyncGroup(name: name, instances: members)) }
            }
        }

        var maintenance = names
        if let list = r.array("maintenanceInstances", hint: "the names of the instances a director's maintenance puts into FAULT") {
            var chosen: [String] = []
            for (j, m) in list.enumerated() {
                let mpath = "\(r.at("maintenanceInstances"))[\(j)]"
                guard case .string(let member) = m.kind else {
                    diagnostics.error(mpath, m.position, "must be a string, not \(m.typeDescription)", hint: "an instance name")
                    continue
                }
                guard names.contains(member) else {
                    var hint = "name an instance of vrrp.instances"
                    if let near = closest(member, in: names) { hint = "did you mean '\(excerpt: near)'?" }
                    diagnostics.error(mpath, m.position, "unknown instance '\(excerpt: member)'", hint: hint)
                    continue
                }
                if !chosen.contains(member) { chosen.append(member) }
            }
            maintenance = chosen
        }

        checkCoverage(decoded, services: services)
        let instances = decoded.compactMap(\.instance)
        guard instances.count == decoded.count else { return nil }
        return VRRPConfig(instances: instances, syncGroups: groups, maintenanceInstances: maintenance)
    }

    // MARK: - One instance

    private func decodeInstance(_ node: JSONNode, path: String) -> DecodedInstance? {
        guard let r = ObjectReader(node, path: path, what: "a VRRP instance", known: ManifestFields.vrrpInstance, diagnostics)
        else { return nil }
        _ = r.string("description")
        let name = r.string("name", required: true, hint: "a name such as \"VI_1\"; it appears in keepalived's notifications")
        if let name { checkIdentifier(name, path: r.at("name"), position: r.position("name"), what: "instance name") }
        let interface = r.string("interface", required: true, hint: "the interface the adverts use, e.g. \"eth0\"")
        if let interface { checkInterfaceName(interface, path: r.at("interface"), position: r.position("interface")) }
        let vrid = r.integer("virtualRouterId", 1...255, required: true,
                             hint: "use a virtual router id from 1 to 255, the same on both directors and unique on the network segment")
        let advert = r.integer("advertInterval", 1...255, hint: "seconds between adverts, 1 to 255 (keepalived's default is 1)")

        var addresses: [(VRRPAddress, String, SourcePosition)] = []
        var addressesOK = true
        if let items = r.array("addresses", required: true, hint: "the virtual addresses with their prefix, e.g. [\"10.0.0.100/24\"]") {
            if items.isEmpty {
                diagnostics.error(r.at("addresses"), r.position("addresses"), "the instance has no addresses",
                                  hint: "list the virtual addresses it carries, e.g. [\"10.0.0.100/24\"]")
                addressesOK = false
            }
            for (i, item) in items.enumerated() {
                let apath = "\(r.at("addresses"))[\(i)]"
                if let a = decodeVRRPAddress(item, path: apath) { addresses.append((a, apath, item.position)) } else { addressesOK = false }
            }
        } else {
            addressesOK = false
        }
        if let first = addresses.first {
            for (a, apath, pos) in addresses.dropFirst() where a.address.family != first.0.address.family {
                diagnostics.error(apath, pos, "\(a) is \(a.address.family) but \(first.0) is \(first.0.address.family)",
                                  hint: "an instance carries addresses of one family; declare a second instance for the other")
                addressesOK = false
            }
        }

        var priority: [String: UInt8] = [:]
        var priorityNodes: [String] = []
        var priorityOK = false
        if let p = r.value("priority") {
            if case .object(let members) = p.kind {
                priorityOK = true
                if members.isEmpty {
                    diagnostics.error(r.at("priority"), p.position, "priority names no node",
                                      hint: "give each director's priority by node name, e.g. {\"d1\": 150, \"d2\": 100}")
                    priorityOK = false
                }
                for m in members {
                    let mpath = join(r.at("priority"), m.key)
                    checkIdentifier(m.key, path: mpath, position: m.keyPosition, what: "node name")
                    priorityNodes.append(m.key)
                    if let v = ObjectReader.integer(m.value, path: mpath, 1...254,
                                                    hint: "use a priority from 1 to 254 (255 is for the address owner)", diagnostics) {
                        priority[m.key] = UInt8(v)
                    } else {
                        priorityOK = false
                    }
                }
            } else {
                r.wrongType("priority", p, "an object", hint: "give each director's priority by node name, e.g. {\"d1\": 150, \"d2\": 100}")
            }
        } else {
            r.missing("priority", hint: "give each director's priority by node name, e.g. \"priority\": {\"d1\": 150, \"d2\": 100}")
        }

        let preempt = r.bool("preempt") ?? true
        let delay = r.integer("preemptDelay", 0...1000, hint: "seconds, 0 to 1000 (keepalived's limit)")
        if delay != nil && !preempt {
            diagnostics.error(r.at("preemptDelay"), r.keyPosition("preemptDelay"), "preemptDelay has no effect with \"preempt\": false",
                              hint: "remove preemptDelay, or set \"preempt\": true")
        }

        var unicast: [String: VRRPUnicast] = [:]
        var unicastNodes: [String] = []
        var unicastOK = true
        if let u = r.value("unicast") {
            if case .object(let members) = u.kind {
                for m in members {
                    let mpath = join(r.at("unicast"), m.key)
                    checkIdentifier(m.key, path: mpath, position: m.keyPosition, what: "node name")
                    unicastNodes.append(m.key)
                    guard let e = ObjectReader(m.value, path: mpath, what: "a node's unicast settings", known: ManifestFields.vrrpUnicast, diagnostics)
                    else { unicastOK = false; continue }
                    let source = e.has("source") ? address(e, "source", required: false, role: .virtualService) : nil
                    if e.has("source") && source == nil { unicastOK = false }
                    var peers: [IPAddress] = []
                    if let list = e.array("peers", required: true, hint: "the other directors' addresses, e.g. [\"10.0.0.3\"]") {
                        if list.isEmpty {
                            diagnostics.error(e.at("peers"), e.position("peers"), "no unicast peers",
                                              hint: "list the other directors' addresses")
                            unicastOK = false
                        }
                        for (j, item) in list.enumerated() {
                            let ppath = "\(e.at("peers"))[\(j)]"
                            guard case .string(let s) = item.kind, let a = IPAddress.parsingManifest(s) else {
                                diagnostics.error(ppath, item.position, "must be an IPv4 or IPv6 address",
                                                  hint: "write the peer's address literally, e.g. \"10.0.0.3\"")
                                unicastOK = false
                                continue
                            }
                            if a == source {
                                diagnostics.error(ppath, item.position, "\(a) is this node's own source address",
                                                  hint: "list the other directors only")
                                unicastOK = false
                            }
                            if let f = addresses.first?.0.address.family, a.family != f {
                                diagnostics.error(ppath, item.position, "\(a) is \(a.family) but the instance's addresses are \(f)",
                                                  hint: "adverts go to peers of the instance's family")
                                unicastOK = false
                            }
                            if !peers.contains(a) { peers.append(a) }
                        }
                    } else {
                        unicastOK = false
                    }
                    if let s = source, let f = addresses.first?.0.address.family, s.family != f {
                        diagnostics.error(e.at("source"), e.position("source"), "\(s) is \(s.family) but the instance's addresses are \(f)",
                                          hint: "use a source address of the instance's family")
                        unicastOK = false
                    }
                    unicast[m.key] = VRRPUnicast(source: source, peers: peers)
                }
            } else {
                r.wrongType("unicast", u, "an object", hint: "per node: {\"d1\": {\"source\": \"10.0.0.2\", \"peers\": [\"10.0.0.3\"]}}")
                unicastOK = false
            }
        }

        var track: [String] = []
        var trackOK = true
        if let list = r.array("trackInterfaces", hint: "interface names, e.g. [\"eth1\"]") {
            for (j, item) in list.enumerated() {
                let tpath = "\(r.at("trackInterfaces"))[\(j)]"
                guard case .string(let s) = item.kind else {
                    diagnostics.error(tpath, item.position, "must be a string, not \(item.typeDescription)", hint: "an interface name")
                    continue
                }
                checkInterfaceName(s, path: tpath, position: item.position)
                if s == interface {
                    diagnostics.error(tpath, item.position, "the instance already follows its own interface \(s)",
                                      hint: "list other interfaces only (keepalived ignores its own, and its config test fails on it)")
                    trackOK = false
                    continue
                }
                if !track.contains(s) { track.append(s) }
            }
        }

        var password: String?
        var authOK = true
        if let a = r.object("authentication", what: "authentication", known: ManifestFields.vrrpAuthentication) {
            let type = a.choice("type", ["PASS"], required: true, what: "authentication type")
            let pw = a.string("password", required: true, hint: "1 to 8 characters")
            if let pw, pw.isEmpty || pw.utf8.count > 8 {
                diagnostics.error(a.at("password"), a.position("password"), "the password must have 1 to 8 characters",
                                  hint: "keepalived uses the first 8 characters only")
            } else if addresses.first?.0.address.family == .ipv6 {
                diagnostics.error(r.at("authentication"), r.keyPosition("authentication"),
                                  "an IPv6 instance uses VRRP version 3, which has no authentication",
                                  hint: "remove 'authentication' (keepalived ignores it, and its config test fails on it)")
                authOK = false
            } else if type != nil, let pw {
                password = pw
                diagnostics.warning(r.at("authentication"), r.keyPosition("authentication"),
                                    "PASS authentication is legacy: the password travels in clear text in every advert and RFC 3768 removed it",
                                    hint: "remove 'authentication' once both directors run the rendered config (both sides must agree)")
            }
        }

        var instance: VRRPInstance?
        if let name, let interface, let vrid, addressesOK, priorityOK, unicastOK, trackOK, authOK {
            instance = VRRPInstance(
                name: name, interface: interface, virtualRouterID: UInt8(vrid), advertInterval: UInt32(advert ?? 1),
                addresses: addresses.map { var a = $0.0; if a.device == nil { a.device = interface }; return a },
                priority: priority, preempt: preempt, preemptDelay: delay.map { UInt32($0) }, unicast: unicast,
                trackInterfaces: track, authPassword: password)
        }
        return DecodedInstance(
            instance: instance, path: path, name: name, namePosition: r.position("name"),
            priorityPath: r.at("priority"), priorityPosition: r.position("priority"), priorityNodes: priorityNodes,
            unicastPath: r.at("unicast"), unicastPosition: r.position("unicast"),
            unicastNodes: r.has("unicast") ? unicastNodes : [], vridPosition: r.position("virtualRouterId"),
            addresses: addresses)
    }

    /// `"10.0.0.100/24"` or `{"address": "10.0.0.100/24", "device": "eth1"}`.
    private func decodeVRRPAddress(_ node: JSONNode, path: String) -> VRRPAddress? {
        var text: String
        var textPath = path
        var textPosition = node.position
        var device: String?
        switch node.kind {
        case .string(let s):
            text = s
        case .object:
            guard let o = ObjectReader(node, path: path, what: "a virtual address", known: ManifestFields.vrrpAddress, diagnostics),
                let s = o.string("address", required: true, hint: "the address with its prefix, e.g. \"10.0.0.100/24\"")
            else { return nil }
            text = s
            textPath = o.at("address")
            textPosition = o.position("address")
            if let d = o.string("device", hint: "an interface name") {
                guard checkInterfaceName(d, path: o.at("device"), position: o.position("device")) else { return nil }
                device = d
            }
        default:
            diagnostics.error(path, node.position, "a virtual address must be a string or an object, not \(node.typeDescription)",
                              hint: "write \"10.0.0.100/24\" or {\"address\": \"10.0.0.100/24\", \"device\": \"eth1\"}")
            return nil
        }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let a = IPAddress.parsingManifest(String(parts[0])) else {
            diagnostics.error(textPath, textPosition, "'\(excerpt: text)' is not an address with a prefix length",
                              hint: "write an IPv4 or IPv6 address and its prefix, e.g. \"10.0.0.100/24\"")
            return nil
        }
        let maxPrefix = a.family == .ipv4 ? 32 : 128
        guard parts.count == 2 else {
            diagnostics.error(textPath, textPosition, "'\(excerpt: text)' has no prefix length",
                              hint: "write the prefix of the subnet, e.g. \"\(a)/24\", or \"\(a)/\(maxPrefix)\" for the address alone")
            return nil
        }
        guard let p = Int(parts[1]), (0...maxPrefix).contains(p), parts[1].allSatisfy(\.isASCII), parts[1].first != "+" else {
            diagnostics.error(textPath, textPosition, "'\(excerpt: parts[1])' is not a prefix length for \(a.family)",
                              hint: "use a prefix from 0 to \(maxPrefix)")
            return nil
        }
        if a.isUnspecified || a.isMulticast || a.isLimitedBroadcast {
            diagnostics.error(textPath, textPosition, "\(a) cannot be a virtual address", hint: "use a unicast address")
            return nil
        }
        return VRRPAddress(address: a, prefixLength: UInt8(p), device: device)
    }

    /// Interface names as the kernel accepts them; false after reporting a bad one.
    @discardableResult
    func checkInterfaceName(_ name: String, path: String, position: SourcePosition) -> Bool {
        let valid = !name.isEmpty && name.utf8.count <= 15
            && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0 != "/" && $0 != ":" }
        if !valid {
            diagnostics.error(path, position, "'\(excerpt: name)' is not a valid interface name",
                              hint: "use 1 to 15 characters without spaces, '/' or ':', as `ip link` shows them")
        }
        return valid
    }

    // MARK: - Across instances

    private func checkAcrossInstances(_ decoded: [DecodedInstance]) {
        var names: [String: String] = [:]
        var routers: [String: String] = [:]
        var vips: [IPAddress: String] = [:]
        for d in decoded {
            if let n = d.name {
                if let first = names[n] {
                    diagnostics.error(join(d.path, "name"), d.namePosition, "duplicate instance name '\(excerpt: n)' (first used by \(first))",
                                      hint: "instance names must be unique")
                } else {
                    names[n] = d.path
                }
            }
            if let i = d.instance {
                let key = "\(i.interface) \(i.family) \(i.virtualRouterID)"
                if let first = routers[key] {
                    diagnostics.error(join(d.path, "virtualRouterId"), d.vridPosition,
                                      "virtual router id \(i.virtualRouterID) is already used on \(i.interface) by \(first)",
                                      hint: "each instance on an interface needs its own virtual router id (keepalived refuses the config)")
                } else {
                    routers[key] = d.path
                }
            }
            for (a, apath, pos) in d.addresses {
                if let first = vips[a.address] {
                    diagnostics.error(apath, pos, "\(a.address) is already a virtual address of \(first)",
                                      hint: "an address moves with one instance only")
                } else {
                    vips[a.address] = apath
                }
            }
        }

        // Every node named anywhere needs a priority in every instance.
        var firstMention: [String: String] = [:]
        for d in decoded {
            for n in d.priorityNodes where firstMention[n] == nil { firstMention[n] = d.priorityPath }
            for n in d.unicastNodes where firstMention[n] == nil { firstMention[n] = d.unicastPath }
        }
        for d in decoded where !d.priorityNodes.isEmpty {
            for n in firstMention.keys.sorted() where !d.priorityNodes.contains(n) {
                diagnostics.error(d.priorityPath, d.priorityPosition,
                                  "no priority for node '\(excerpt: n)' (named in \(firstMention[n] ?? "?"))",
                                  hint: "give every instance a priority for every director, or fix the node name")
            }
            if !d.unicastNodes.isEmpty {
                for n in d.priorityNodes where !d.unicastNodes.contains(n) {
                    diagnostics.error(d.unicastPath, d.unicastPosition, "no unicast settings for node '\(excerpt: n)'",
                                      hint: "with unicast adverts every director needs its peers; add \"\(n)\": {\"peers\": [...]}")
                }
            }
            if let i = d.instance {
                var byPriority: [UInt8: [String]] = [:]
                for (n, p) in i.priority { byPriority[p, default: []].append(n) }
                for (p, nodes) in byPriority.sorted(by: { $0.key > $1.key }) where nodes.count > 1 {
                    diagnostics.warning(d.priorityPath, d.priorityPosition,
                                        "nodes \(nodes.sorted().joined(separator: " and ")) have the same priority \(p): the director whose timer runs out first wins, so start order decides",
                                        hint: "give each director a different priority (keepalived's advice); with \"preempt\": false the master still keeps the addresses")
                }
            }
        }
    }

    /// The warning for virtual addresses no service serves (see the decisions above).
    private func checkCoverage(_ decoded: [DecodedInstance], services: [ServiceSpec]) {
        var served = Set<IPAddress>()
        var fwmarkFamilies = Set<IPFamily>()
        for s in services {
            switch s.service.id {
            case .address(_, let a, _): served.insert(a)
            case .fwmark(_, let family): fwmarkFamilies.insert(family)
            }
        }
        for d in decoded {
            for (a, apath, pos) in d.addresses where !served.contains(a.address) && !fwmarkFamilies.contains(a.address.family) {
                diagnostics.warning(apath, pos, "no service of this manifest has the address \(a.address)",
                                    hint: "declare a service on it, unless another manifest serves it or it is only a gateway address for NAT real servers")
            }
        }
    }
}
