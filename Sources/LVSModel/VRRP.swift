/// The VRRP half of a director pair, as a manifest declares it (its top-level `vrrp` section).
///
/// keepalived stays the VRRP engine, run in VRRP-only mode (`keepalived -P`); lvsctl renders its
/// configuration from this value for one node at a time. Per-node values (priority, unicast
/// addresses) are keyed by node name, so the same manifest serves both directors.
///
/// What must stay true (validation enforces it): instance names are unique, every instance has a
/// priority for every node named anywhere in the section, every sync-group member names an
/// instance and no instance is in two groups, `maintenanceInstances` names instances.
public struct VRRPConfig: Hashable, Sendable, Codable {
    public var instances: [VRRPInstance]
    public var syncGroups: [VRRPSyncGroup]
    /// The instances a director's maintenance puts into FAULT (through lvsctl's track file).
    /// Validation fills in every instance when the manifest leaves it out.
    public var maintenanceInstances: [String]

    public init(instances: [VRRPInstance] = [], syncGroups: [VRRPSyncGroup] = [], maintenanceInstances: [String] = []) {
        self.instances = instances
        self.syncGroups = syncGroups
        self.maintenanceInstances = maintenanceInstances
    }

    private enum CodingKeys: String, CodingKey {
        case instances, syncGroups, maintenanceInstances
    }

    /// Every node named by a priority or a unicast entry, sorted.
    public var nodes: [String] {
        var all = Set<String>()
        for i in instances {
            all.formUnion(i.priority.keys)
            all.formUnion(i.unicast.keys)
        }
        return all.sorted()
    }

    public func instance(named name: String) -> VRRPInstance? {
        instances.first { $0.name == name }
    }

    /// The sync group an instance belongs to, if any.
    public func syncGroup(of instance: String) -> VRRPSyncGroup? {
        syncGroups.first { $0.instances.contains(instance) }
    }
}

/// One VRRP instance (keepalived `vrrp_instance`): one virtual router on one interface.
public struct VRRPInstance: Hashable, Sendable, Codable {
    /// keepalived's instance name (`VI_1`); it appears in the notify FIFO lines.
    public var name: String
    /// The interface the adverts go out on (`interface`).
    public var interface: String
    /// `virtual_router_id`, 1–255; unique per interface and address family.
    public var virtualRouterID: UInt8
    /// Seconds between adverts (`advert_int`).
    public var advertInterval: UInt32
    /// The virtual addresses (`virtual_ipaddress`).
    public var addresses: [VRRPAddress]
    /// Priority per node name (`priority`), 1–254.
    public var priority: [String: UInt8]
    /// false: keepalived's `nopreempt` (a higher priority does not take over a running master).
    public var preempt: Bool
    /// Seconds a preempting node waits after start (`preempt_delay`); nil = none.
    public var preemptDelay: UInt32?
    /// Unicast adverts instead of multicast, per node (`unicast_src_ip`, `unicast_peer`); empty =
    /// multicast.
    public var unicast: [String: VRRPUnicast]
    /// Interfaces whose failure puts the instance into FAULT (`track_interface`).
    public var trackInterfaces: [String]
    /// Legacy `auth_type PASS` password (accepted with a warning); nil = none.
    public var authPassword: String?

    public init(
        name: String, interface: String, virtualRouterID: UInt8, advertInterval: UInt32 = 1,
        addresses: [VRRPAddress] = [], priority: [String: UInt8] = [:], preempt: Bool = true,
        preemptDelay: UInt32? = nil, unicast: [String: VRRPUnicast] = [:], trackInterfaces: [String] = [],
        authPassword: String? = nil
    ) {
        self.name = name
        self.interface = interface
        self.virtualRouterID = virtualRouterID
        self.advertInterval = advertInterval
        self.addresses = addresses
        self.priority = priority
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.unicast = unicast
        self.trackInterfaces = trackInterfaces
        self.authPassword = authPassword
    }

    private enum CodingKeys: String, CodingKey {
        case name, interface, virtualRouterID, advertInterval, addresses, priority, preempt, preemptDelay, unicast
        case trackInterfaces, authPassword
    }

    /// The family of the instance's addresses (validation makes them agree); IPv4 when it has none.
    public var family: IPFamily { addresses.first?.address.family ?? .ipv4 }
}

/// A virtual address with its prefix length and the device it goes on.
public struct VRRPAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: UInt8
    /// nil = the instance's interface.
    public var device: String?

    public init(address: IPAddress, prefixLength: UInt8, device: String? = nil) {
        self.address = address
        self.prefixLength = prefixLength
        self.device = device
    }

    private enum CodingKeys: String, CodingKey {
        case address, prefixLength, device
    }

    /// `10.10.0.100/24`.
    public var description: String { "\(address)/\(prefixLength)" }
}

/// One node's unicast adverts: its source address and the peers it sends to.
public struct VRRPUnicast: Hashable, Sendable, Codable {
    /// `unicast_src_ip`; nil = the interface's primary address.
    public var source: IPAddress?
    /// `unicast_peer`.
    public var peers: [IPAddress]

    public init(source: IPAddress? = nil, peers: [IPAddress]) {
        self.source = source
        self.peers = peers
    }

    private enum CodingKeys: String, CodingKey {
        case source, peers
    }
}

/// Instances that change state together (keepalived `vrrp_sync_group`).
public struct VRRPSyncGroup: Hashable, Sendable, Codable {
    public var name: String
    public var instances: [String]

    public init(name: String, instances: [String]) {
        self.name = name
        self.instances = instances
    }

    private enum CodingKeys: String, CodingKey {
        case name, instances
    }
}
