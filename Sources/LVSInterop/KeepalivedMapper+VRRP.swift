import LVSModel

/// `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`, `vrrp_track_file` and `global_defs`, read
/// the way keepalived's VRRP process reads them (see `KeepalivedVRRP`). What has no place in a
/// manifest is a warning with its line and what to do instead.
extension KeepalivedMapper {
    /// A `vrrp_script` or `vrrp_track_file`, resolved once every block is read.
    struct Tracker {
        var node: KeepalivedNode
        /// The flag file it tests, when it is a maintenance switch.
        var flagFile: String?
        var weight: Int?
    }

    /// A `track_script` / `track_file` reference inside an instance or a group.
    struct TrackReference {
        var name: String
        var node: KeepalivedNode
        var isFile: Bool
    }

    mutating func parseVRRPInstance(_ node: KeepalivedNode) {
        guard needArg(node), let children = node.children else {
            if node.children == nil { error(node, "vrrp_instance needs a { } block", hint: "see keepalived.conf(5)") }
            return
        }
        let name = node.args[0]
        if vrrp.instances.contains(where: { $0.name == name }) {
            error(node, "vrrp_instance \(excerpt: name) is declared twice", hint: "give each instance its own name")
            return
        }
        var i = KeepalivedVRRP.Instance(
            name: name, file: node.file, line: node.line, initialMaster: false, interface: nil, virtualRouterID: nil,
            priority: 100, advertInterval: 1, addresses: [], nopreempt: false, preemptDelay: nil, unicastSource: nil,
            unicastPeers: [], trackInterfaces: [], authPassword: nil, maintenance: false)
        var stateNode: KeepalivedNode?
        for c in children {
            switch c.keyword {
            case "state":
                guard needArg(c) else { continue }
                switch c.args[0] {
                case "MASTER": i.initialMaster = true; stateNode = c
                case "BACKUP": i.initialMaster = false
                default: error(c, "state must be MASTER or BACKUP, not '\(excerpt: c.args[0])'", hint: "use MASTER or BACKUP")
                }
            case "interface":
                if needArg(c) { i.interface = c.args[0] }
            case "virtual_router_id":
                if let v = unsigned(c, min: 1, max: 255) { i.virtualRouterID = UInt8(v) }
            case "priority":
                if let v = unsigned(c, min: 1, max: 255) {
                    if v == 255 {
                        error(c, "priority 255 (the address owner) is not supported by lvsctl",
                              hint: "use 254 on the director that should be master")
                    } else {
                        i.priority = UInt8(v)
                    }
                }
            case "advert_int":
                guard needArg(c) else { continue }
                if let v = KeepalivedMapper.decimal(c.args[0]), v >= 1, v <= 255 {
                    i.advertInterval = UInt32(v)
                } else {
                    error(c, "advert_int '\(excerpt: c.args[0])' is not a whole number of seconds from 1 to 255",
                          hint: "lvsctl renders VRRPv2 adverts in whole seconds; use 1")
                }
            case "nopreempt":
                i.nopreempt = true
            case "preempt":
                i.nopreempt = false
            case "preempt_delay":
                if let v = unsigned(c, min: 0, max: 1000) { i.preemptDelay = v == 0 ? nil : v }
            case "virtual_ipaddress":
                for a in c.children ?? [] { if let addr = vrrpAddress(a) { i.addresses.append(addr) } }
            case "unicast_src_ip":
                guard needArg(c) else { continue }
                if let a = IPAddress(c.args[0]) { i.unicastSource = a } else {
                    error(c, "'\(excerpt: c.args[0])' is not an IP address", hint: "give the director's own address")
                }
            case "unicast_peer":
                for p in c.children ?? [] {
                    if let a = IPAddress(p.keyword) {
                        i.unicastPeers.append(a)
                        if !p.args.isEmpty { warn(p, "unicast_peer options (\(p.args.joined(separator: " "))) are not imported", hint: "lvsctl renders the peer address only") }
                    } else {
                        error(p, "'\(excerpt: p.keyword)' is not an IP address", hint: "list the peer directors' addresses")
                    }
                }
            case "track_interface":
                for t in c.children ?? [] {
                    i.trackInterfaces.append(t.keyword)
                    if t.args.first == "weight" {
                        warn(t, "track_interface \(t.keyword) weight \(t.args.dropFirst().joined(separator: " ")) is imported as a plain tracked interface: its failure puts the instance into FAULT instead of changing its priority",
                             hint: "check that FAULT on link loss is what you want")
                    }
                }
            case "authentication":
                var type: String?
                var pass: String?
                for a in c.children ?? [] {
                    if a.keyword == "auth_type", let t = a.args.first { type = t }
                    if a.keyword == "auth_pass", let p = a.args.first { pass = p }
                }
                if type == "PASS", let pass {
                    // keepalived uses the first 8 characters.
                    i.authPassword = String(pass.prefix(8))
                    warn(c, "auth_type PASS is imported with a warning: RFC 3768 removed it, and the password travels in clear text",
                         hint: "it only stops accidental clashes; remove \"authentication\" from the manifest once both directors run the rendered config (both sides must agree)")
                } else if type == "AH" {
                    error(c, "auth_type AH is not supported by lvsctl", hint: "remove the authentication block from both directors' configs")
                } else {
                    error(c, "authentication needs auth_type PASS and auth_pass", hint: "give both, or remove the block")
                }
            case "track_script", "track_file":
                for t in c.children ?? [] {
                    pendingTracks.append((name, TrackReference(name: t.keyword, node: t, isFile: c.keyword == "track_file")))
                }
            case "notify":
                noteNotifyProgram(c)
            case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_deleted", "notify_master_rx_lower_pri":
                notifyStateScript(c)
            case "smtp_alert":
                warn(c, "smtp_alert is replaced by lvsctl's notifications", hint: "the e-mail settings of global_defs are in the daemon.json snippet")
            case "lvs_sync_daemon_interface":
                warn(c, "lvs_sync_daemon_interface is not imported: lvsctl owns the connection sync daemons",
                     hint: "declare the sync daemons in the manifest's settings (both master and backup on both directors)")
            case "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat", "garp_lower_prio_delay",
                "garp_lower_prio_repeat", "mcast_src_ip", "dont_track_primary", "version", "strict_mode", "accept", "no_accept",
                "virtual_ipaddress_excluded", "virtual_routes", "virtual_rules", "use_vmac", "vmac_xmit_base", "native_ipv6",
                "debug", "skip_check_adv_addr", "check_unicast_src", "unicast_ttl", "track_process", "track_bfd", "kernel_rx_buf_size",
                "notify_priority_changes", "down_timer_adverts", "lower_prio_no_advert", "higher_prio_send_advert", "garp_extra_if":
                warn(c, "\(c.keyword) is not imported; lvsctl renders keepalived's default for it",
                     hint: "if this director needs it, keep a note: the rendered keepalived config cannot carry it yet")
            default:
                unknown(c, in: "vrrp_instance \(name)")
            }
        }
        if i.interface == nil { error(node, "vrrp_instance \(name) has no interface", hint: "add `interface eth0`") }
        if i.virtualRouterID == nil { error(node, "vrrp_instance \(name) has no virtual_router_id", hint: "add `virtual_router_id 51`") }
        if i.addresses.isEmpty { error(node, "vrrp_instance \(name) has no virtual_ipaddress", hint: "list the addresses it carries") }
        if i.initialMaster {
            if i.nopreempt, let s = stateNode {
                warn(s, "state MASTER clears nopreempt in keepalived: this director preempts", hint: "write state BACKUP if nopreempt was meant")
                i.nopreempt = false
            }
            i.preemptDelay = nil
        }
        if i.nopreempt { i.preemptDelay = nil }
        vrrp.instances.append(i)
    }

    /// `ADDR[/PREFIX] [dev IF] [brd …] [scope …] [label …]`.
    mutating func vrrpAddress(_ node: KeepalivedNode) -> VRRPAddress? {
        let text = node.keyword
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = IPAddress(parts[0]) else {
            error(node, "'\(excerpt: text)' is not an address", hint: "write ADDRESS/PREFIX dev INTERFACE")
            return nil
        }
        let maxPrefix: UInt64 = address.family == .ipv4 ? 32 : 128
        var prefix = UInt8(maxPrefix)
        if parts.count == 2 {
            guard let p = KeepalivedMapper.decimal(parts[1]), p <= maxPrefix else {
                error(node, "'\(excerpt: parts[1])' is not a prefix length", hint: "use 0 to \(maxPrefix)")
                return nil
            }
            prefix = UInt8(p)
        } else {
            warn(node, "\(text) has no prefix length: keepalived adds it as /\(maxPrefix); imported as /\(maxPrefix)",
                 hint: "write the prefix of the network (e.g. /24) if the address should have one")
        }
        var device: String?
        var k = 0
        while k < node.args.count {
            let word = node.args[k]
            if word == "dev", k + 1 < node.args.count {
                device = node.args[k + 1]
                k += 2
                continue
            }
            warn(node, "'\(excerpt: word)' on a virtual address is not imported", hint: "lvsctl renders ADDRESS/PREFIX dev INTERFACE only")
            k += (["brd", "broadcast", "scope", "label", "metric", "preferred_lft"].contains(word) ? 2 : 1)
        }
        return VRRPAddress(address: address, prefixLength: prefix, device: device)
    }

    mutating func parseVRRPSyncGroup(_ node: KeepalivedNode) {
        guard needArg(node) else { return }
        let name = node.args[0]
        var members: [String] = []
        for c in node.children ?? [] {
            switch c.keyword {
            case "group":
                members += (c.children ?? []).map(\.keyword)
            case "notify":
                noteNotifyProgram(c)
            case "notify_master", "notify_backup", "notify_fault", "notify_stop":
                notifyStateScript(c)
            case "track_script", "track_file":
                for t in c.children ?? [] {
                    pendingGroupTracks.append((name, TrackReference(name: t.keyword, node: t, isFile: c.keyword == "track_file")))
                }
            case "smtp_alert":
                warn(c, "smtp_alert is replaced by lvsctl's notifications", hint: "the e-mail settings of global_defs are in the daemon.json snippet")
            case "global_tracking", "sync_group_tracking_weight", "track_interface", "notify_priority_changes":
                warn(c, "\(c.keyword) in a sync group is not imported", hint: "lvsctl renders keepalived's default for it")
            default:
                unknown(c, in: "vrrp_sync_group \(name)")
            }
        }
        if vrrp.syncGroups.contains(where: { $0.name == name }) {
            error(node, "vrrp_sync_group \(excerpt: name) is declared twice", hint: "give each group its own name")
            return
        }
        if members.count < 2 {
            // keepalived warns "this probably isn't what you want"; lvsctl's manifest refuses it.
            warn(node, "vrrp_sync_group \(name) has \(members.count) instance\(members.count == 1 ? "" : "s"); a group of one moves nothing together and is not imported",
                 hint: "its instance still fails over by itself")
            syncGroupLines[name] = node
            return
        }
        syncGroupLines[name] = node
        vrrp.syncGroups.append(VRRPSyncGroup(name: name, instances: members))
    }

    /// `vrrp_script NAME { script "…" }` that tests a file: `[[ -e F ]]`, `test -f F`, `[ -e F ]`.
    mutating func parseVRRPScript(_ node: KeepalivedNode) {
        guard needArg(node) else { return }
        var tracker = Tracker(node: node)
        for c in node.children ?? [] {
            switch c.keyword {
            case "script":
                tracker.flagFile = KeepalivedMapper.flagFileTest(c.args.joined(separator: " "))
            case "weight":
                if let w = c.args.first.flatMap({ Int($0) }) { tracker.weight = w }
            default:
                break
            }
        }
        trackers[node.args[0]] = tracker
    }

    /// `vrrp_track_file NAME { file "…"; weight N }`: a file whose non-zero value is a fault.
    mutating func parseVRRPTrackFile(_ node: KeepalivedNode) {
        guard needArg(node) else { return }
        var tracker = Tracker(node: node)
        for c in node.children ?? [] {
            if c.keyword == "file", let f = c.args.first { tracker.flagFile = f }
            if c.keyword == "weight", let w = c.args.first.flatMap({ Int($0) }) { tracker.weight = w }
        }
        fileTrackers[node.args[0]] = tracker
    }

    /// The file a maintenance script tests, or nil when the script does anything else.
    static func flagFileTest(_ script: String) -> String? {
        let words = script.split(whereSeparator: { $0 == " " || $0 == "'" || $0 == "\"" || $0 == ";" }).map(String.init)
        for (k, w) in words.enumerated() where (w == "-e" || w == "-f") && k + 1 < words.count {
            let path = words[k + 1]
            if path.hasPrefix("/") { return path }
        }
        return nil
    }

    mutating func parseGlobalDefs(_ node: KeepalivedNode) {
        var email = KeepalivedVRRP.Email()
        var sawEmail = false
        for c in node.children ?? [] {
            switch c.keyword {
            case "notification_email":
                email.to += (c.children ?? []).map(\.keyword)
                sawEmail = true
            case "notification_email_from":
                if needArg(c) { email.from = c.args[0] }
                sawEmail = true
            case "smtp_server":
                guard needArg(c) else { continue }
                email.server = c.args[0]
                if c.args.count > 1, let p = UInt16(c.args[1]) { email.port = p }
                sawEmail = true
            case "smtp_helo_name":
                if needArg(c) { email.heloName = c.args[0] }
            case "smtp_connect_timeout":
                break
            case "router_id":
                warn(c, "router_id is replaced by the node name (--node) in the rendered config", hint: "nothing to do")
            case "max_auto_priority", "vrrp_notify_fifo", "vrrp_notify_fifo_script", "enable_script_security", "script_user":
                warn(c, "\(c.keyword) is not imported: lvsctl renders its own (max_auto_priority, its notify FIFO, no scripts)",
                     hint: "nothing to do")
            case "lvs_sync_daemon":
                warn(c, "lvs_sync_daemon is not imported: lvsctl owns the connection sync daemons",
                     hint: "declare them in the manifest's settings (both master and backup on both directors)")
            default:
                warn(c, "global_defs \(excerpt: c.keyword) is not imported; lvsctl renders keepalived's default for it",
                     hint: "if the directors need it, keep a note: the rendered keepalived config cannot carry it yet")
            }
        }
        if sawEmail {
            if email.server == nil || email.from == nil || email.to.isEmpty {
                warn(node, "the e-mail settings need smtp_server, notification_email_from and notification_email to become an smtp notifier",
                     hint: "add the missing ones to daemon.json's notify.smtp by hand")
            }
            vrrp.email = email
        }
    }

    /// `notify PROGRAM`: lvsctl's exec hook runs it with the same arguments.
    mutating func noteNotifyProgram(_ c: KeepalivedNode) {
        guard needArg(c) else { return }
        let words = c.args.joined(separator: " ").split(separator: " ").map(String.init)
        let path = words[0]
        if words.count > 1 {
            warn(c, "notify '\(excerpt: c.args.joined(separator: " "))' has arguments; lvsctl's exec hook runs a program as PROGRAM TYPE NAME STATE only",
                 hint: "wrap the command in a script and give its path")
        }
        if let known = vrrp.notifyProgram {
            if known.path != path {
                warn(c, "a second notify program \(path) (the first is \(known.path) at line \(known.line)); lvsctl has one exec hook",
                     hint: "call both from one script and put its path in daemon.json's notify.exec.path")
            }
            return
        }
        vrrp.notifyProgram = KeepalivedVRRP.NotifyProgram(path: path, file: c.file, line: c.line)
        warn(c, "notify \(path) becomes daemon.json's notify.exec hook (printed by the import): lvsctl runs it as \(path) TYPE NAME STATE on each VRRP transition, once per change",
             hint: "the hook also receives lvsctl's own notifications (real server down, …): make the script ignore TYPE values other than GROUP and INSTANCE")
    }

    mutating func notifyStateScript(_ c: KeepalivedNode) {
        warn(c, "\(c.keyword) is not imported: lvsctl's exec hook is one program run as PROGRAM TYPE NAME STATE",
             hint: "write a script that runs '\(excerpt: c.args.joined(separator: " "))' when its third argument (STATE) is \(c.keyword.dropFirst("notify_".count).uppercased()), and put its path in daemon.json's notify.exec.path")
    }

    /// Resolves `track_script` / `track_file` references once every block is read.
    mutating func resolveVRRPTracks() {
        func isMaintenance(_ ref: TrackReference) -> Bool {
            let tracker = ref.isFile ? fileTrackers[ref.name] : trackers[ref.name]
            guard let tracker else {
                error(ref.node, "\(ref.isFile ? "track_file" : "track_script") \(excerpt: ref.name) is not declared",
                      hint: "declare it with \(ref.isFile ? "vrrp_track_file" : "vrrp_script") or remove the reference")
                return false
            }
            guard let flag = tracker.flagFile else {
                warn(ref.node, "track_script \(ref.name) (declared at line \(tracker.node.line)) runs a script lvsctl cannot map; it is not imported",
                     hint: "lvsctl's maintenance (`lvsctl maintenance on`) and readiness replace flag files and health scripts; run other checks from your monitoring")
                return false
            }
            let weight = ref.node.args.first == "weight" ? ref.node.args.dropFirst().first.flatMap { Int($0) } : tracker.weight
            if let weight, weight != 0 {
                warn(ref.node, "\(ref.name) changes the priority by \(weight) instead of putting the instance into FAULT; lvsctl's maintenance puts it into FAULT",
                     hint: "check that moving the addresses at once on maintenance is what you want")
            }
            warn(ref.node, "\(ref.name) tests the flag file \(flag): imported as director maintenance; use `lvsctl maintenance on|off` instead of creating or removing \(flag)",
                 hint: "after the cut-over, remove \(flag) and its script")
            return true
        }
        var maintained = Set<String>()
        for (instance, ref) in pendingTracks where isMaintenance(ref) { maintained.insert(instance) }
        for (group, ref) in pendingGroupTracks where isMaintenance(ref) {
            maintained.formUnion(vrrp.syncGroups.first { $0.name == group }?.instances ?? [])
        }
        for k in vrrp.instances.indices where maintained.contains(vrrp.instances[k].name) {
            vrrp.instances[k].maintenance = true
        }
        for g in vrrp.syncGroups {
            for m in g.instances where !vrrp.instances.contains(where: { $0.name == m }) {
                if let node = syncGroupLines[g.name] {
                    error(node, "vrrp_sync_group \(g.name) names \(excerpt: m), which is not a vrrp_instance", hint: "fix the name or declare the instance")
                }
            }
        }
    }
}
