public import LVSModel

/// Renders the VRRP-only keepalived configuration of one director from a manifest's `vrrp`
/// section.
///
/// A pure function of its inputs: the same section, node and paths give the same bytes, so an
/// unchanged render can be recognised by comparing text. What must stay true:
/// - It never contains `virtual_server` or `lvs_sync_daemon`: lvsctl owns IPVS and the sync
///   daemons, and keepalived runs it with `-P` (VRRP only).
/// - Every instance starts as `state BACKUP`: the priorities decide the election (and
///   `nopreempt` requires BACKUP).
/// - The instances of `maintenanceInstances` track `trackFile` with weight 0, so a non-zero value
///   in that file puts them (and their sync groups) into FAULT: lvsctl writes it for a director's
///   maintenance and while the director cannot serve yet. `readinessFile`, when given, is tracked
///   by every instance in the same way, for instances that maintenance leaves alone.
/// - `global_defs` names lvsctl's notify FIFO and sets `max_auto_priority` (keepalived's advice
///   for a busy director: late timers made a backup take the addresses in the lab).
public enum KeepalivedConfig {
    /// Where lvsctl and keepalived meet.
    public struct Paths: Hashable, Sendable {
        /// `vrrp_notify_fifo`: lvsctl creates and reads it.
        public var notifyFIFO: String
        /// The maintenance (and readiness) track file.
        public var trackFile: String
        /// A second track file every instance tracks; nil = none.
        public var readinessFile: String?

        public init(notifyFIFO: String, trackFile: String, readinessFile: String? = nil) {
            self.notifyFIFO = notifyFIFO
            self.trackFile = trackFile
            self.readinessFile = readinessFile
        }
    }

    /// Why a section cannot be rendered for a node.
    public struct RenderError: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The name of the track file for maintenance in the rendered config.
    public static let maintenanceTrackName = "lvsctl_maintenance"
    /// The name of the readiness track file in the rendered config.
    public static let readinessTrackName = "lvsctl_readiness"

    /// The configuration text for `node`, final newline included.
    ///
    /// - Parameter manifest: named in the header comment only.
    /// - Throws: `RenderError` when an instance has no priority for `node` (validation makes
    ///   that impossible for a valid manifest and a node it names), or a path cannot be written
    ///   into keepalived's syntax.
    public static func render(
        _ vrrp: VRRPConfig, node: String, paths: Paths, manifest: String? = nil
    ) throws(RenderError) -> String {
        for p in [paths.notifyFIFO, paths.trackFile] + (paths.readinessFile.map { [$0] } ?? []) {
            guard p.hasPrefix("/"), !p.contains(where: { $0 == "\"" || $0 == "\n" || $0 == "\\" || $0 == "#" || $0 == "!" || $0 == " " || $0 == "\t" }) else {
                throw RenderError("'\(p)' cannot be used in a keepalived config; use an absolute path without spaces, quotes, backslashes, '#' or '!'")
            }
        }
        let missing = vrrp.instances.filter { $0.priority[node] == nil }.map(\.name)
        if !missing.isEmpty {
            let known = vrrp.nodes
            throw RenderError("node '\(node)' has no priority in instance\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")); the manifest's nodes are \(known.isEmpty ? "none" : known.joined(separator: ", ")) (choose one with --node or LVSCTL_NODE)")
        }

        var out = "# Rendered by lvsctl"
        if let manifest { out += " from manifest \(manifest)" }
        out += " for node \(node). Do not edit: lvsctl apply rewrites this file.\n"
        out += "# For keepalived in VRRP-only mode (keepalived -P): lvsctl owns IPVS and the sync daemons.\n\n"

        out += "global_defs {\n"
        out += "    router_id \(node)\n"
        out += "    vrrp_notify_fifo \(paths.notifyFIFO)\n"
        out += "    max_auto_priority\n"
        out += "}\n\n"

        let maintained = Set(vrrp.maintenanceInstances)
        if !maintained.isEmpty {
            out += trackFileBlock(maintenanceTrackName, paths.trackFile)
        }
        if let r = paths.readinessFile {
            out += trackFileBlock(readinessTrackName, r)
        }

        for g in vrrp.syncGroups {
            out += "vrrp_sync_group \(g.name) {\n"
            out += "    group {\n"
            for i in g.instances { out += "        \(i)\n" }
            out += "    }\n"
            out += "}\n\n"
        }

        for i in vrrp.instances {
            out += "vrrp_instance \(i.name) {\n"
            out += "    state BACKUP\n"
            out += "    interface \(i.interface)\n"
            out += "    virtual_router_id \(i.virtualRouterID)\n"
            out += "    priority \(i.priority[node] ?? 0)\n"
            out += "    advert_int \(i.advertInterval)\n"
            if !i.preempt { out += "    nopreempt\n" }
            if let d = i.preemptDelay { out += "    preempt_delay \(d)\n" }
            if let pw = i.authPassword {
                out += "    authentication {\n"
                out += "        auth_type PASS\n"
                out += "        auth_pass \(pw)\n"
                out += "    }\n"
            }
            if let u = i.unicast[node] {
                if let s = u.source { out += "    unicast_src_ip \(s)\n" }
                out += "    unicast_peer {\n"
                for p in u.peers { out += "        \(p)\n" }
                out += "    }\n"
            }
            if !i.trackInterfaces.isEmpty {
                out += "    track_interface {\n"
                for t in i.trackInterfaces { out += "        \(t)\n" }
                out += "    }\n"
            }
            var tracks: [String] = []
            if maintained.contains(i.name) { tracks.append(maintenanceTrackName) }
            if paths.readinessFile != nil { tracks.append(readinessTrackName) }
            if !tracks.isEmpty {
                out += "    track_file {\n"
                for t in tracks { out += "        \(t)\n" }
                out += "    }\n"
            }
            out += "    virtual_ipaddress {\n"
            for a in i.addresses { out += "        \(a) dev \(a.device ?? i.interface)\n" }
            out += "    }\n"
            out += "}\n\n"
        }
        out.removeLast()  // one blank line between blocks, none at the end
        return out
    }

    /// `weight 0`: a non-zero value puts the tracking instances into FAULT. `init_file 0` creates
    /// a missing file with 0, so a director without lvsctl running is not held in FAULT.
    private static func trackFileBlock(_ name: String, _ path: String) -> String {
        "vrrp_track_file \(name) {\n    file \"\(path)\"\n    weight 0\n    init_file 0\n}\n\n"
    }
}
