import Foundation
import LVSStore

/// The director pair's part of `lvsctl status`: the role of each VRRP instance and sync group as
/// keepalived last reported it to `lvsctl run` and when it changed, this director's maintenance,
/// and what its track files hold.
struct DirectorStatus: Encodable {
    var node: String?
    /// The manifest that declares the `vrrp` section.
    var manifest: String
    /// Declared instances and groups, each with its stored role (nil: none reported yet).
    var instances: [(name: String, role: VRRPRoleRecord?)]
    var groups: [(name: String, role: VRRPRoleRecord?)]
    var maintenance: DirectorMaintenance?
    var maintenanceFile: String
    /// true = 1, false = 0, nil = missing.
    var maintenanceHeld: Bool?
    var readinessFile: String
    /// true = 1 (not ready: held in FAULT), false = 0 (ready), nil = missing.
    var readinessHeld: Bool?

    private enum CodingKeys: String, CodingKey {
        case node, manifest, instances, groups, maintenance, maintenanceFile, maintenanceHeld, readinessFile, readinessHeld
    }

    private struct Role: Encodable {
        var name: String
        var role: VRRPRoleRecord?
        enum CodingKeys: String, CodingKey { case name, state, priority, changedAt }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            // keepalived's word in lower case, like every enumeration in the machine formats;
            // "unknown" before the daemon has heard of it.
            try c.encode(role?.state.lowercased() ?? "unknown", forKey: .state)
            try c.encodeIfPresent(role?.priority, forKey: .priority)
            try c.encodeIfPresent(role?.changedAt, forKey: .changedAt)
        }
    }

    private struct Maintenance: Encodable {
        var m: DirectorMaintenance
        enum CodingKeys: String, CodingKey { case author, reason, since }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(m.author, forKey: .author)
            try c.encodeIfPresent(m.reason, forKey: .reason)
            try c.encode(m.since, forKey: .since)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(node, forKey: .node)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(instances.map { Role(name: $0.name, role: $0.role) }, forKey: .instances)
        try c.encode(groups.map { Role(name: $0.name, role: $0.role) }, forKey: .groups)
        if let maintenance { try c.encode(Maintenance(m: maintenance), forKey: .maintenance) } else { try c.encodeNil(forKey: .maintenance) }
        try c.encode(maintenanceFile, forKey: .maintenanceFile)
        if let maintenanceHeld { try c.encode(maintenanceHeld, forKey: .maintenanceHeld) } else { try c.encodeNil(forKey: .maintenanceHeld) }
        try c.encode(readinessFile, forKey: .readinessFile)
        if let readinessHeld { try c.encode(readinessHeld, forKey: .readinessHeld) } else { try c.encodeNil(forKey: .readinessHeld) }
    }

    func renderText(_ write: (String) -> Void) {
        write("\nDirector\(node.map { " \($0)" } ?? "") (vrrp section of manifest \(manifest))\n")
        func line(_ kind: String, _ name: String, _ role: VRRPRoleRecord?) {
            var text = "  \(kind) \(name)"
            text += String(repeating: " ", count: max(1, 24 - text.count))
            if let role {
                text += role.state
                if let p = role.priority { text += " (priority \(p))" }
                text += " since \(role.changedAt.iso8601)"
            } else {
                text += "unknown (no report from keepalived yet)"
            }
            write(text + "\n")
        }
        for g in groups { line("group", g.name, g.role) }
        for i in instances { line("instance", i.name, i.role) }
        if let m = maintenance {
            write("  maintenance ON since \(m.since.iso8601) by \(m.author)\(m.reason.map { ": \($0)" } ?? "")\n")
        } else {
            write("  maintenance off\n")
        }
        func held(_ v: Bool?) -> String { v.map { $0 ? "1" : "0" } ?? "missing" }
        write("  track files: maintenance \(held(maintenanceHeld)) (\(maintenanceFile)), readiness \(held(readinessHeld))"
            + "\(readinessHeld == true ? " = not ready, held in FAULT" : "") (\(readinessFile))\n")
    }
}
