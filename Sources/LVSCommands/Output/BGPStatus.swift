import Foundation
import LVSBGP
import LVSModel
import LVSStore

/// The BGP part of `lvsctl status`: for every address the applied manifests announce, the route
/// as `lvsctl run` last decided it (the `bgp_route` table) and why; and BIRD's BGP sessions as
/// BIRD reports them now (`birdc show protocols`), or why they could not be read.
struct BGPStatus: Encodable {
    var node: String?
    /// The manifest that declares the `bgp` section.
    var manifest: String
    var localAS: UInt32
    /// This node's router id; nil when the node has none (it announces nothing).
    var routerID: IPAddress?
    /// Each announced address with its stored route (nil: the daemon has not decided yet).
    /// Addresses no manifest announces any more but whose route is still stored come last.
    var routes: [(address: String, route: BGPRouteRecord?)]
    /// nil when BIRD could not be asked (`sessionsError` says why).
    var sessions: [BirdProtocolStatus]?
    var sessionsError: String?

    /// Pairs the declared addresses with the stored routes.
    static func routes(announced: [IPAddress], stored: [BGPRouteRecord]) -> [(address: String, route: BGPRouteRecord?)] {
        let byAddress = Dictionary(stored.map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
        let declared = announced.map { "\($0)" }
        let declaredSet = Set(declared)
        let rest = stored.map(\.address).filter { !declaredSet.contains($0) }
        return (declared + rest).map { ($0, byAddress[$0]) }
    }

    private enum CodingKeys: String, CodingKey {
        case node, manifest, localAS, routerId, routes, sessions, sessionsError
    }

    private struct Route: Encodable {
        var address: String
        var route: BGPRouteRecord?
        enum CodingKeys: String, CodingKey { case vip, state, reason, changedAt }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(address, forKey: .vip)
            // announced, draining, withdrawn; "unknown" before `lvsctl run` decided.
            try c.encode(route?.state ?? "unknown", forKey: .state)
            try c.encodeIfPresent(route?.reason, forKey: .reason)
            try c.encodeIfPresent(route?.changedAt, forKey: .changedAt)
        }
    }

    private struct Session: Encodable {
        var s: BirdProtocolStatus
        enum CodingKeys: String, CodingKey { case name, state, info, established }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(s.name, forKey: .name)
            try c.encode(s.state, forKey: .state)
            try c.encode(s.info, forKey: .info)
            try c.encode(s.isEstablished, forKey: .established)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(node, forKey: .node)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(localAS, forKey: .localAS)
        if let routerID { try c.encode("\(routerID)", forKey: .routerId) } else { try c.encodeNil(forKey: .routerId) }
        try c.encode(routes.map { Route(address: $0.address, route: $0.route) }, forKey: .routes)
        if let sessions { try c.encode(sessions.map(Session.init), forKey: .sessions) } else { try c.encodeNil(forKey: .sessions) }
        if let sessionsError { try c.encode(sessionsError, forKey: .sessionsError) } else { try c.encodeNil(forKey: .sessionsError) }
    }

    func renderText(_ write: (String) -> Void) {
        var head = "\nBGP\(node.map { " \($0)" } ?? "") (bgp section of manifest \(manifest), AS \(localAS)"
        head += routerID.map { ", router id \($0))" } ?? ", no router id for this node: announcing nothing)"
        write(head + "\n")
        func padded(_ text: String) -> String { text + String(repeating: " ", count: max(1, 28 - text.count)) }
        for (address, route) in routes {
            if let route {
                write(padded("  route \(address)") + "\(route.state) since \(route.changedAt.iso8601) (\(route.reason))\n")
            } else {
                write(padded("  route \(address)") + "unknown (lvsctl run has not decided yet)\n")
            }
        }
        if let sessions {
            if sessions.isEmpty { write("  no BGP session in BIRD\n") }
            for s in sessions {
                write(padded("  session \(s.name)") + "\(s.isEstablished ? "up" : "DOWN") (\(s.state), \(s.info))\n")
            }
        } else {
            write("  sessions unknown: \(sessionsError ?? "BIRD was not asked")\n")
        }
    }
}
