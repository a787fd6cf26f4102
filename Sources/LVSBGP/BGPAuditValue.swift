import Foundation

/// The before/after value of a BGP audit row: `{"bgpRoute": {"reason": "ready", "state":
/// "announced", "vip": "10.10.0.100"}}` (the object format's one-key shape,
/// `Manifests/lvsctl-objects-v1.schema.json#/$defs/bgpRoute`, keys sorted).
public enum BGPAuditValue {
    /// The audit action of a transition to `state`.
    public static func action(_ state: RouteState) -> String {
        switch state {
        case .announced: "bgp-announce"
        case .draining: "bgp-drain"
        case .withdrawn: "bgp-withdraw"
        }
    }

    /// The JSON text of a route; nil for a withdrawn route with no reason (a `before` that
    /// did not exist).
    public static func json(vip: String, state: RouteState, reason: String?) -> String? {
        if state == .withdrawn && reason == nil { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(Outer(bgpRoute: Route(vip: vip, state: state.name, reason: reason))) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private struct Outer: Encodable {
        var bgpRoute: Route
        enum CodingKeys: String, CodingKey { case bgpRoute }
    }

    private struct Route: Encodable {
        var vip: String
        var state: String
        var reason: String?
        enum CodingKeys: String, CodingKey { case vip, state, reason }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(vip, forKey: .vip)
            try c.encode(state, forKey: .state)
            try c.encodeIfPresent(reason, forKey: .reason)
        }
    }
}
