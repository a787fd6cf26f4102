import LVSModel

/// The VRRP half of one keepalived.conf as keepalived runs it, before it is given a node: what
/// `lvsctl import keepalived --node NAME` turns into a manifest's `vrrp` section
/// (`KeepalivedVRRP.config`), one file per director.
///
/// keepalived's semantics the mapping relies on (2.2.7's `vrrp_parser.c`, `vrrp.c`):
/// - `priority` defaults to 100, `advert_int` to 1 s, `state` to BACKUP;
/// - `state MASTER` makes the instance MASTER at once on start (its master-down timer is 1 µs)
///   and *clears* `nopreempt` and `preempt_delay` ("nopreempt will not work with initial state
///   MASTER - clearing"): such a node preempts. It is not a tie-breaker: a master that receives an
///   advert of equal priority from a higher primary address steps down, and a backup never takes
///   over from a master of equal priority (preemption needs a strictly higher priority), so with
///   equal priorities start order, then the primary address, decide;
/// - a virtual address without a prefix is /32; without `dev` it goes on `interface`.
public struct KeepalivedVRRP: Hashable, Sendable {
    public struct Instance: Hashable, Sendable {
        public var name: String
        public var file: String
        public var line: Int
        /// `state MASTER`.
        public var initialMaster: Bool
        public var interface: String?
        public var virtualRouterID: UInt8?
        public var priority: UInt8
        public var advertInterval: UInt32
        public var addresses: [VRRPAddress]
        /// After keepalived's own clearing by `state MASTER`.
        public var nopreempt: Bool
        public var preemptDelay: UInt32?
        public var unicastSource: IPAddress?
        public var unicastPeers: [IPAddress]
        public var trackInterfaces: [String]
        public var authPassword: String?
        /// It tracks a maintenance flag (a `track_script` testing a file, or a `track_file`).
        public var maintenance: Bool
    }

    public var instances: [Instance] = []
    public var syncGroups: [VRRPSyncGroup] = []
    /// The program keepalived runs as `notify` (`PROGRAM TYPE NAME STATE`, the order lvsctl's exec
    /// hook uses), where it was found.
    public var notifyProgram: NotifyProgram?
    /// `global_defs` e-mail: the recipients, the sender and the relay.
    public var email: Email?

    public struct NotifyProgram: Hashable, Sendable {
        public var path: String
        public var file: String
        public var line: Int
    }

    public struct Email: Hashable, Sendable {
        public var to: [String] = []
        public var from: String?
        public var server: String?
        public var port: UInt16 = 25
        public var heloName: String?
    }

    public init() {}

    public var isEmpty: Bool { instances.isEmpty && syncGroups.isEmpty }

    /// The daemon.json `notify` snippet for the notify program and e-mail found, or nil. Hooks
    /// live in the daemon's config, not in the manifest.
    public var daemonNotifySnippet: String? {
        var members: [String] = []
        if let n = notifyProgram {
            members.append("    \"exec\": { \"path\": \(Self.jsonString(n.path)), \"timeout\": 10 }")
        }
        if let e = email, let server = e.server, let from = e.from, !e.to.isEmpty {
            var smtp = "    \"smtp\": { \"host\": \(Self.jsonString(server)), \"port\": \(e.port), \"from\": \(Self.jsonString(from)), "
            smtp += "\"to\": [\(e.to.map(Self.jsonString).joined(separator: ", "))]"
            if let h = e.heloName { smtp += ", \"heloName\": \(Self.jsonString(h))" }
            smtp += " }"
            members.append(smtp)
        }
        guard !members.isEmpty else { return nil }
        return "{\n  \"notify\": {\n" + members.joined(separator: ",\n") + "\n  }\n}\n"
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// The larger priority lvsctl gives a sync group's (or instance's) intended master over the other
/// node, when the files leave the choice to start order.
let intendedMasterMargin = 50

extension KeepalivedVRRP {
    /// One director's file.
    public struct NodeFile: Sendable {
        public var node: String
        public var file: String
        public var vrrp: KeepalivedVRRP
        public init(node: String, file: String, vrrp: KeepalivedVRRP) {
            self.node = node
            self.file = file
            self.vrrp = vrrp
        }
    }

    /// Merges the VRRP sections of one file per node into one manifest `vrrp` section.
    ///
    /// Values that differ per node in a pair (priority, `state`, `unicast_src_ip`,
    /// `unicast_peer`) become per-node values; anything else that differs is an error naming both
    /// places. `masters` names the intended master of a sync group or an ungrouped instance
    /// (`--master G1=d1`), for files that leave it to start order (equal priorities).
    ///
    /// Who is master, and what the manifest says about it:
    /// - different priorities: the higher one (rendered as given);
    /// - equal priorities and exactly one node with `state MASTER`: keepalived lets start order
    ///   and the primary address decide; the MASTER node is what the operator meant, so it gets
    ///   `intendedMasterMargin` more (at most 254), with a warning;
    /// - equal priorities otherwise: start order (a warning; `--master` settles it the same way).
    /// `preempt` is that of the node that can preempt (the higher priority): nopreempt on the
    /// lower node changes nothing, and `state MASTER` clears nopreempt on its node.
    public static func config(_ files: [NodeFile], masters: [String: String] = [:]) -> (VRRPConfig?, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        guard let first = files.first, files.contains(where: { !$0.vrrp.isEmpty }) else {
            for (name, _) in masters.sorted(by: { $0.key < $1.key }) {
                diagnostics.append(Diagnostic(.error, path: "--master", message: "--master \(name): the files declare no VRRP instance",
                                              hint: "remove --master"))
            }
            return (nil, diagnostics)
        }
        func err(_ file: String?, _ line: Int?, _ message: String, _ hint: String) {
            diagnostics.append(Diagnostic(.error, file: file, path: "vrrp_instance", line: line, message: message, hint: hint))
        }
        func warn(_ file: String?, _ line: Int?, _ message: String, _ hint: String) {
            diagnostics.append(Diagnostic(.warning, file: file, path: "vrrp_instance", line: line, message: message, hint: hint))
        }

        // Same instances and sync groups in every file.
        let names = first.vrrp.instances.map(\.name)
        for other in files.dropFirst() {
            let theirs = other.vrrp.instances.map(\.name)
            if Set(theirs) != Set(names) {
                let missing = Set(names).subtracting(theirs).sorted()
                let extra = Set(theirs).subtracting(names).sorted()
                var parts: [String] = []
                if !missing.isEmpty { parts.append("\(other.file) (node \(other.node)) lacks \(missing.joined(separator: ", "))") }
                if !extra.isEmpty { parts.append("\(other.file) has \(extra.joined(separator: ", ")) that \(first.file) lacks") }
                err(other.file, nil, "the two directors' files declare different VRRP instances: " + parts.joined(separator: "; "),
                    "both directors must run the same instances; fix the file that is out of date")
            }
            let mine = Set(first.vrrp.syncGroups.map { VRRPSyncGroup(name: $0.name, instances: $0.instances.sorted()) })
            let their = Set(other.vrrp.syncGroups.map { VRRPSyncGroup(name: $0.name, instances: $0.instances.sorted()) })
            if mine != their {
                err(other.file, nil, "the sync groups of \(other.file) (node \(other.node)) differ from those of \(first.file) (node \(first.node))",
                    "both directors must group the same instances; fix the file that is out of date")
            }
            if other.vrrp.notifyProgram?.path != first.vrrp.notifyProgram?.path {
                warn(other.vrrp.notifyProgram?.file ?? other.file, other.vrrp.notifyProgram?.line,
                     "the notify programs differ between \(first.file) and \(other.file)",
                     "the daemon.json snippet uses \(first.file)'s; each director has its own daemon.json, so edit the other one by hand")
            }
        }
        if diagnostics.hasErrors { return (nil, diagnostics) }

        // The group (or the instance itself) each instance's intended master is named by.
        var groupOf: [String: String] = [:]
        for g in first.vrrp.syncGroups { for i in g.instances { groupOf[i] = g.name } }
        let known = Set(names).union(first.vrrp.syncGroups.map(\.name))
        let nodes = Set(files.map(\.node))
        for (name, node) in masters.sorted(by: { $0.key < $1.key }) {
            if !known.contains(name) {
                err(nil, nil, "--master \(name)=\(node): no sync group or instance is called '\(excerpt: name)'",
                    "name one of \(known.sorted().joined(separator: ", "))")
            } else if !nodes.contains(node) {
                err(nil, nil, "--master \(name)=\(node): '\(excerpt: node)' is not one of the nodes (\(nodes.sorted().joined(separator: ", ")))",
                    "give the node name passed with --node")
            } else if groupOf[name] != nil {
                err(nil, nil, "--master \(name)=\(node): instance \(name) is in sync group \(groupOf[name]!), which moves as a whole",
                    "name the group: --master \(groupOf[name]!)=\(node)")
            }
        }
        if diagnostics.hasErrors { return (nil, diagnostics) }

        var instances: [VRRPInstance] = []
        var maintenance: [String] = []
        for base in first.vrrp.instances {
            let per = files.map { f in (f, f.vrrp.instances.first { $0.name == base.name }!) }
            // Node-independent values must agree.
            for (f, i) in per.dropFirst() {
                var differs: [String] = []
                if i.interface != base.interface { differs.append("interface \(i.interface ?? "-") vs \(base.interface ?? "-")") }
                if i.virtualRouterID != base.virtualRouterID { differs.append("virtual_router_id \(i.virtualRouterID.map(String.init) ?? "-") vs \(base.virtualRouterID.map(String.init) ?? "-")") }
                if i.advertInterval != base.advertInterval { differs.append("advert_int \(i.advertInterval) vs \(base.advertInterval)") }
                if i.addresses != base.addresses { differs.append("virtual_ipaddress \(i.addresses.map(\.description).joined(separator: " ")) vs \(base.addresses.map(\.description).joined(separator: " "))") }
                if i.trackInterfaces != base.trackInterfaces { differs.append("track_interface") }
                if i.authPassword != base.authPassword { differs.append("authentication") }
                if i.maintenance != base.maintenance { differs.append("the maintenance track_script/track_file") }
                if (i.unicastPeers.isEmpty) != (base.unicastPeers.isEmpty) { differs.append("unicast (one file has unicast_peer, the other multicast)") }
                if !differs.isEmpty {
                    err(i.file, i.line, "vrrp_instance \(base.name) differs between \(base.file):\(base.line) (node \(first.node)) and here (node \(f.node)) in \(differs.joined(separator: ", "))",
                        "only priority, state, unicast_src_ip and unicast_peer may differ between the directors; make the rest equal")
                }
            }
            guard let interface = base.interface, let vrid = base.virtualRouterID else { continue }

            var priority: [String: UInt8] = [:]
            for (f, i) in per { priority[f.node] = i.priority }
            let group = groupOf[base.name] ?? base.name
            let top = priority.values.max() ?? 100
            let leaders = priority.filter { $0.value == top }.map(\.key).sorted()
            var intended: String?
            var why = ""
            if let named = masters[group] {
                intended = named
                why = "--master \(group)=\(named)"
            } else if leaders.count > 1 && per.count > 1 {
                let declared = per.filter { $0.1.initialMaster && leaders.contains($0.0.node) }.map(\.0.node)
                if declared.count == 1 {
                    intended = declared[0]
                    why = "its file says state MASTER"
                } else {
                    warn(base.file, base.line,
                         "vrrp_instance \(base.name) has priority \(top) on \(leaders.joined(separator: " and ")): keepalived lets the start order decide who is master (and a master of equal priority is never preempted)",
                         "name the intended master with --master \(group)=NODE, or give the directors different priorities")
                }
            }
            if let intended, leaders != [intended] {
                let others = priority.filter { $0.key != intended }.values.max() ?? 0
                let raised = min(254, Int(others) + intendedMasterMargin)
                if raised <= Int(others) {
                    err(base.file, base.line, "vrrp_instance \(base.name): cannot make \(intended) master (\(why)): another node already has priority \(others)",
                        "lower the other node's priority in its file")
                } else {
                    warn(base.file, base.line,
                         "vrrp_instance \(base.name): \(intended) gets priority \(raised) instead of \(priority[intended] ?? 0) (\(why)), so that the priorities, not the start order, elect it; keepalived with these files would let the first director to start win",
                         "check the priorities in the manifest; lvsctl renders every instance as state BACKUP")
                    priority[intended] = UInt8(raised)
                }
            }

            // Preemption is decided by the node with the highest priority.
            let topNow = priority.values.max() ?? 100
            let deciders = per.filter { priority[$0.0.node] == topNow }.map(\.1)
            let preempt = deciders.allSatisfy { !$0.nopreempt }
            if per.count > 1, Set(per.map(\.1.nopreempt)).count > 1 {
                warn(base.file, base.line,
                     "vrrp_instance \(base.name): preemption differs between the files (state MASTER clears nopreempt); imported as \(preempt ? "preempt" : "nopreempt"), the setting of the node with the highest priority",
                     "check \"preempt\" in the manifest")
            }
            if !preempt, masters[group] != nil || per.contains(where: \.1.initialMaster) {
                warn(base.file, base.line,
                     "vrrp_instance \(base.name) is nopreempt: its intended master wins elections (both directors starting, the master failing) but does not take the addresses back from a running master",
                     "set \"preempt\": true in the manifest if it must always return to its intended master")
            }
            let delay = deciders.compactMap(\.preemptDelay).max()

            var unicast: [String: VRRPUnicast] = [:]
            for (f, i) in per where !i.unicastPeers.isEmpty {
                unicast[f.node] = VRRPUnicast(source: i.unicastSource, peers: i.unicastPeers)
            }
            instances.append(VRRPInstance(
                name: base.name, interface: interface, virtualRouterID: vrid, advertInterval: base.advertInterval,
                addresses: base.addresses, priority: priority, preempt: preempt, preemptDelay: preempt ? delay : nil,
                unicast: unicast, trackInterfaces: base.trackInterfaces, authPassword: base.authPassword))
            if base.maintenance { maintenance.append(base.name) }
        }
        if diagnostics.hasErrors || instances.count != first.vrrp.instances.count { return (nil, diagnostics) }
        // Every instance tracked by nothing: the manifest's default (every instance) would add a
        // maintenance switch the file did not have; say so rather than invent an empty list.
        if maintenance.isEmpty {
            maintenance = instances.map(\.name)
            warn(first.file, nil,
                 "no instance tracks a maintenance flag; lvsctl's director maintenance (`lvsctl maintenance on`) will move every instance",
                 "set \"maintenanceInstances\" in the manifest to the instances maintenance may move")
        }
        return (VRRPConfig(instances: instances, syncGroups: first.vrrp.syncGroups, maintenanceInstances: maintenance), diagnostics)
    }
}
