import Foundation
import LVSBGP
import LVSModel
import LVSNetlink
import LVSReconciler
import LVSStore

/// The director's addresses over rtnetlink, in the `--netns` namespace (`lvsctl run` and `apply`).
struct NetlinkDirectorAddresses: DirectorAddresses {
    var namespacePath: String?

    func local() throws -> Set<IPAddress> { try NetworkLinks.addresses(namespacePath: namespacePath) }

    func add(_ address: IPAddress, device: String) throws {
        try NetworkLinks.addAddress(
            address, prefixLength: VIPPlacement.hostPrefix(address), device: device, namespacePath: namespacePath)
    }
}

/// The BGP half of `plan` and `apply` for one manifest: its announced addresses must be on the
/// director, or be added to the declared `bgp.vipDevice` (``VIPPlacement`` decides). Checked
/// before anything is written; the additions are made after the kernel changes succeeded, each
/// with an audit row (origin `bgp`, action `bgp-vip-add`).
struct BGPAddressStep {
    var namespacePath: String?

    /// What the manifest needs: nil when no `bgp` section applies to it (its own, or the applied one).
    /// - Parameters:
    ///   - place: the manifest file (or `-`) errors name.
    /// - Throws: a ``CLIError`` naming the service's JSON path and the address when an announced
    ///   address is not local and no `vipDevice` is declared, or the device does not exist.
    func prepare(_ state: DesiredState, store: Store?, place: String) throws -> VIPPlacement? {
        let section: BGPConfig?
        if let own = state.bgp {
            section = own
        } else if let store {
            section = try ReconcileEngine.bgpSection(in: store)?.config
        } else {
            section = nil
        }
        guard let bgp = section else { return nil }
        let announced = state.services.compactMap(\.announcedAddress)
        guard !announced.isEmpty else { return nil }
        let ns = namespacePath.map { "network namespace \($0)" } ?? "this network namespace"
        let local: Set<IPAddress>
        do {
            local = try NetlinkDirectorAddresses(namespacePath: namespacePath).local()
        } catch {
            throw CLIError("\(place): bgp: cannot list the addresses of \(ns): \(error); nothing was applied")
        }
        let placement = VIPPlacement.decide(announced: announced, local: local, device: bgp.vipDevice)
        if let first = placement.missing.first {
            let index = state.services.firstIndex { $0.announcedAddress == first } ?? 0
            throw CLIError(VIPPlacement.notLocalError(first, place: "\(place): services[\(index)].address", namespace: namespacePath))
        }
        if let device = placement.device, !placement.add.isEmpty {
            let missing: [String]
            do {
                missing = try NetworkLinks.missing([device], namespacePath: namespacePath)
            } catch {
                throw CLIError("\(place): bgp.vipDevice: cannot list the network interfaces of \(ns): \(error); nothing was applied")
            }
            if !missing.isEmpty {
                let where_ = state.bgp != nil ? "\(place): bgp.vipDevice" : "the applied bgp section's vipDevice"
                throw CLIError("\(where_): interface '\(Escaped.excerpt(device))' does not exist in \(ns); name an interface `ip link` shows there (lo, or a dummy: ip link add vips type dummy); nothing was applied")
            }
        }
        return placement
    }

    /// The plan's lines for the additions (text output).
    static func describe(_ placement: VIPPlacement?) -> [String] {
        guard let p = placement, let device = p.device else { return [] }
        return p.add.map { "+ add address \($0)/\(VIPPlacement.hostPrefix($0)) to \(device) (bgp.vipDevice: announced over BGP)" }
    }

    /// Adds the addresses and records one audit row each; returns how many were added.
    func add(_ placement: VIPPlacement?, store: Store, manifest: String, author: String) throws -> Int {
        guard let p = placement, let device = p.device, !p.add.isEmpty else { return 0 }
        let addresses = NetlinkDirectorAddresses(namespacePath: namespacePath)
        var rows: [(action: String, before: String?, after: String?)] = []
        var failure: String?
        for a in p.add {
            do {
                try addresses.add(a, device: device)
                rows.append((action: VIPPlacement.auditAction, before: nil, after: VIPPlacement.auditJSON(a, device: device)))
            } catch {
                failure = "cannot add \(a)/\(VIPPlacement.hostPrefix(a)) to \(device): \(error)"
                break
            }
        }
        // Recorded before reporting a failure: what was added is audited either way.
        if !rows.isEmpty { try store.recordBGPTransitions(manifest: manifest, author: author, routes: [], rows: rows) }
        if let failure {
            throw CLIError("\(failure); the IPVS changes are applied; lvsctl run adds the address when it can (or add it: ip addr add)")
        }
        return rows.count
    }
}
