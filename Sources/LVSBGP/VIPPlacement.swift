public import LVSModel
import Foundation

/// Reads and changes the addresses of the director's network namespace: the interface between
/// the BGP decisions (pure, here) and rtnetlink (the `LVSNetlink` target, through `lvsctl`).
public protocol DirectorAddresses: Sendable {
    /// Every address of every interface of the namespace.
    func local() throws -> Set<IPAddress>
    /// Puts `address` on `device` as a host route (/32 or /128).
    func add(_ address: IPAddress, device: String) throws
}

/// Where the announced addresses are on the director (issue #16: "a service address must be on
/// the director, or lvsctl puts it on `lo`/a dummy device, declared").
///
/// A route announced for an address the director does not hold draws traffic its IPVS never
/// sees (the kernel forwards or drops it), so:
/// - without `bgp.vipDevice`, an announced address that is not local is an error of `apply`
///   (before any write) and is not announced by `lvsctl run`;
/// - with it, lvsctl adds the missing addresses to that device (`apply` shows and audits it,
///   `lvsctl run` restores one that disappeared).
///
/// This type is the one home of that rule: `apply`, `plan` and the daemon ask ``decide``.
public struct VIPPlacement: Hashable, Sendable {
    /// Addresses lvsctl adds to ``device`` (empty without `vipDevice`).
    public var add: [IPAddress]
    /// The declared `vipDevice`.
    public var device: String?
    /// Announced addresses that are not local and that lvsctl does not add (no `vipDevice`).
    public var missing: [IPAddress]

    public init(add: [IPAddress], device: String?, missing: [IPAddress]) {
        self.add = add
        self.device = device
        self.missing = missing
    }

    /// - Parameters:
    ///   - announced: the addresses the applied manifests announce over BGP.
    ///   - local: the addresses of the director's namespace now.
    public static func decide(announced: some Sequence<IPAddress>, local: Set<IPAddress>, device: String?) -> VIPPlacement {
        let absent = Set(announced).subtracting(local).sorted()
        guard let device else { return VIPPlacement(add: [], device: nil, missing: absent) }
        return VIPPlacement(add: absent, device: device, missing: [])
    }

    /// The prefix length of a host address of the address's family.
    public static func hostPrefix(_ a: IPAddress) -> UInt8 { a.family == .ipv4 ? 32 : 128 }

    /// The refusal of an announced address that is not local, for `apply`: names the manifest
    /// place of the first service on it, the address and what to do.
    /// - Parameters:
    ///   - place: `FILE: services[3].address` (or `manifest NAME: …`).
    ///   - namespace: `--netns`, if any.
    public static func notLocalError(_ address: IPAddress, place: String, namespace: String?) -> String {
        let ns = namespace.map { "network namespace \($0)" } ?? "this director's network namespace"
        let prefix = hostPrefix(address)
        return "\(place): \(address) is announced over BGP (bgp section) but is not an address of \(ns): "
            + "a route to it would draw traffic IPVS never receives; put it on the director (ip addr add \(address)/\(prefix) dev lo, "
            + "with arp_ignore=1 and arp_announce=2) or declare \"vipDevice\": \"lo\" in the bgp section for lvsctl to add it; nothing was applied"
    }

    /// The audit row's value of an address lvsctl added: `{"vipAddress": {"address":
    /// "10.10.0.100/32", "device": "lo"}}` (`Manifests/lvsctl-objects-v1.schema.json#/$defs/vipAddress`).
    public static func auditJSON(_ address: IPAddress, device: String) -> String {
        "{\"vipAddress\":{\"address\":\"\(address)/\(hostPrefix(address))\",\"device\":\"\(jsonEscaped(device))\"}}"
    }

    /// The audit action of an address lvsctl added.
    public static let auditAction = "bgp-vip-add"

    private static func jsonEscaped(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
