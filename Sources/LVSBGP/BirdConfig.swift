public import LVSModel

/// A virtual address's route as this director offers it to its BGP peers.
public struct VIPRoute: Hashable, Sendable, Comparable {
    public enum Preference: String, Sendable, Hashable {
        /// Announced as usual (no MED): the routers spread flows over every director that does.
        case normal
        /// Announced with the drain MED (and GRACEFUL_SHUTDOWN when configured): routers stop
        /// choosing this director while the route still exists, so nothing is dropped.
        case draining
    }

    public var address: IPAddress
    public var preference: Preference

    public init(address: IPAddress, preference: Preference) {
        self.address = address
        self.preference = preference
    }

    public static func < (a: VIPRoute, b: VIPRoute) -> Bool { a.address < b.address }
}

/// Renders a director's whole BIRD 2 configuration. Pure: the same inputs give the same bytes,
/// so an unchanged announcement writes nothing and reconfigures nothing.
///
/// What must stay true:
/// - BIRD exports only the routes of the `lvsctl_vips4`/`lvsctl_vips6` static protocols and
///   imports nothing: lvsctl never changes this director's own routing table.
/// - The routes are blackholes in BIRD's table only (no `kernel` protocol): the address itself
///   is local on the director, where IPVS receives it.
/// - Withdrawing is leaving the route out; draining is the same route with a MED the routers
///   prefer less (routers compare MED between routes from one neighbouring AS: all directors of a
///   site share `localAS`).
public enum BirdConfig {
    /// The static protocols' names; the BGP export filters name them.
    public static let ipv4Routes = "lvsctl_vips4"
    public static let ipv6Routes = "lvsctl_vips6"

    public static func render(_ bgp: BGPConfig, node: String, routes: [VIPRoute], source: String) -> String {
        var out = "# Rendered by lvsctl for node \(node) from \(source). Do not edit: lvsctl rewrites it.\n"
        if let id = bgp.routerID[node] { out += "router id \(id);\n" }
        out += "\nprotocol device {\n}\n"
        let sorted = routes.sorted()
        for (family, name, channel) in [(IPFamily.ipv4, ipv4Routes, "ipv4"), (.ipv6, ipv6Routes, "ipv6")] {
            let these = sorted.filter { $0.address.family == family }
            // The IPv6 protocol only when something needs it: an IPv4-only site's config stays
            // as short as a hand-written one.
            if family == .ipv6 && these.isEmpty && !bgp.peers.contains(where: { $0.address.family == .ipv6 }) { continue }
            out += "\nprotocol static \(name) {\n  \(channel);\n"
            for r in these {
                let length = family == .ipv4 ? 32 : 128
                switch r.preference {
                case .normal:
                    out += "  route \(r.address)/\(length) blackhole;\n"
                case .draining:
                    var attributes = "bgp_med = \(bgp.drain.med);"
                    if bgp.drain.gracefulShutdown { attributes += " bgp_community.add((65535, 0));" }
                    out += "  route \(r.address)/\(length) blackhole { \(attributes) };\n"
                }
            }
            out += "}\n"
        }
        if bgp.peers.contains(where: \.bfd) { out += "\nprotocol bfd {\n}\n" }
        for peer in bgp.peers {
            let (channel, routes) = peer.address.family == .ipv4 ? ("ipv4", ipv4Routes) : ("ipv6", ipv6Routes)
            out += "\nprotocol bgp \(protocolName(peer)) {\n"
            out += "  local as \(bgp.localAS);\n"
            out += "  neighbor \(peer.address) as \(peer.asn);\n"
            if let hold = peer.holdTime { out += "  hold time \(hold);\n" }
            if let password = peer.password { out += "  password \"\(password)\";\n" }
            if peer.bfd { out += "  bfd on;\n" }
            out += "  \(channel) { import none; export where proto = \"\(routes)\"; };\n"
            out += "}\n"
        }
        return out
    }

    /// `peer_10_20_0_1`: a BIRD protocol name from the peer's address (BIRD names are
    /// identifiers), so `birdc show protocols` maps back to the manifest's peer.
    public static func protocolName(_ peer: BGPPeer) -> String {
        "peer_" + String(String(describing: peer.address).map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}
