import FoundationEssentials

/// The before/after value of a VRRP audit row: `{"vrrp": {"kind": "instance", "name": "VI_1",
/// "state": "master", "priority": 150}}` (the object format's one-key shape,
/// `Manifests/lvsctl-objects-v1.schema.json#/$defs/vrrpRole`). States are keepalived's words in
/// lower case (`master`, `backup`, `fault`, `stop`); `priority` only for an instance.
public enum VRRPAuditValue {
    /// The audit action of a transition: `vrrp-instance` or `vrrp-group`.
    public static func action(_ kind: VRRPNotification.Kind) -> String {
        kind == .instance ? "vrrp-instance" : "vrrp-group"
    }

    /// The JSON text for one role; nil for an unknown role (a `before` never seen).
    public static func json(kind: VRRPNotification.Kind, name: String, state: VRRPNotification.State?, priority: Int?) -> String? {
        guard let state else { return nil }
        let value = Outer(vrrp: Role(
            kind: kind == .instance ? "instance" : "group", name: name, state: "\(state)".lowercased(),
            priority: kind == .instance ? priority : nil))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The before and after values of a transition.
    public static func values(_ t: VRRPRoles.Transition) -> (before: String?, after: String?) {
        (json(kind: t.kind, name: t.name, state: t.from, priority: t.priority),
         json(kind: t.kind, name: t.name, state: t.to, priority: t.priority))
    }

    private struct Outer: Encodable {
        var vrrp: Role
        enum CodingKeys: String, CodingKey { case vrrp }
    }

    private struct Role: Encodable {
        var kind: String
        var name: String
        var state: String
        var priority: Int?
        enum CodingKeys: String, CodingKey { case kind, name, state, priority }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(name, forKey: .name)
            try c.encode(state, forKey: .state)
            try c.encodeIfPresent(priority, forKey: .priority)
        }
    }
}
