/// The configuration of an IPVS table: services with their real servers, and the kernel-wide
/// settings. Used for both the desired state and the configuration part of a live snapshot.
public struct IPVSTable: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var service: VirtualService
        /// Real servers sorted by `RealServer.ID`.
        public var realServers: [RealServer]

        public init(service: VirtualService, realServers: [RealServer] = []) {
            self.service = service
            self.realServers = realServers.sorted { $0.id < $1.id }
        }
    }

    /// Entries sorted by `VirtualService.ID`.
    public var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries.sorted { $0.service.id < $1.service.id }
    }

    public subscript(id: VirtualService.ID) -> Entry? {
        entries.first { $0.service.id == id }
    }
}

/// 64-bit IPVS counters and rate estimates (`IPVS_STATS_ATTR_*` in `STATS64`).
public struct IPVSStats: Hashable, Sendable {
    public var connections: UInt64 = 0
    public var inPackets: UInt64 = 0
    public var outPackets: UInt64 = 0
    public var inBytes: UInt64 = 0
    public var outBytes: UInt64 = 0
    public var connectionRate: UInt64 = 0
    public var inPacketRate: UInt64 = 0
    public var outPacketRate: UInt64 = 0
    public var inByteRate: UInt64 = 0
    public var outByteRate: UInt64 = 0
    public init() {}
}

/// What the kernel reports for one service: its configuration, counters and real servers.
public struct LiveService: Hashable, Sendable {
    public var service: VirtualService
    public var stats: IPVSStats
    public var realServers: [LiveRealServer]

    public init(service: VirtualService, stats: IPVSStats = IPVSStats(), realServers: [LiveRealServer] = []) {
        self.service = service
        self.stats = stats
        self.realServers = realServers
    }
}

/// What the kernel reports for one real server.
public struct LiveRealServer: Hashable, Sendable {
    public var server: RealServer
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    /// Persistence templates pointing at this server.
    public var persistentConnections: UInt32
    public var stats: IPVSStats

    public init(
        server: RealServer, activeConnections: UInt32 = 0, inactiveConnections: UInt32 = 0,
        persistentConnections: UInt32 = 0, stats: IPVSStats = IPVSStats()
    ) {
        self.server = server
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.persistentConnections = persistentConnections
        self.stats = stats
    }
}

/// A read of the whole live kernel state of one network namespace.
public struct LiveTable: Hashable, Sendable {
    /// Services sorted by `VirtualService.ID`; real servers sorted by `RealServer.ID`.
    public var services: [LiveService]
    public var timeouts: Timeouts
    public var syncDaemons: [SyncDaemon]
    /// The IPVS sysctls of the namespace; a field is nil when the kernel has no such sysctl.
    public var sysctls: IPVSSysctls

    public init(
        services: consuming [LiveService] = [], timeouts: Timeouts = .kernelDefault, syncDaemons: [SyncDaemon] = [],
        sysctls: IPVSSysctls = .kernelDefault
    ) {
        // Sorted in place, and only what is out of order: sorting copies of the services made a
        // second copy of every real-server list of a large table.
        var services = services
        for i in services.indices where !LiveTable.isSorted(services[i].realServers, by: { $0.server.id < $1.server.id }) {
            services[i].realServers.sort { $0.server.id < $1.server.id }
        }
        if !LiveTable.isSorted(services, by: { $0.service.id < $1.service.id }) {
            services.sort { $0.service.id < $1.service.id }
        }
        self.services = services
        self.timeouts = timeouts
        self.syncDaemons = syncDaemons.sorted { $0.state.rawValue < $1.state.rawValue }
        self.sysctls = sysctls
    }

    private static func isSorted<T>(_ items: [T], by less: (T, T) -> Bool) -> Bool {
        for i in items.indices.dropFirst() where less(items[i], items[i - 1]) { return false }
        return true
    }

    /// The configuration part (no counters).
    public var table: IPVSTable {
        IPVSTable(entries: services.map { IPVSTable.Entry(service: $0.service, realServers: $0.realServers.map(\.server)) })
    }

    public subscript(id: VirtualService.ID) -> LiveService? {
        services.first { $0.service.id == id }
    }

    /// A stable fingerprint of the configuration (services, real servers, timeouts, sync daemons),
    /// ignoring counters. A saved plan records it; applying a plan whose fingerprint no longer
    /// matches the kernel is refused.
    public var fingerprint: String {
        var text = ""
        for s in services {
            let v = s.service
            text += "S \(v.id) \(v.scheduler) \(v.flags.rawValue) \(v.timeout) \(v.netmask) \(v.persistenceEngine ?? "-")\n"
            for r in s.realServers {
                let d = r.server
                text += "D \(d.id) \(d.forwarding.rawValue) \(d.weight) \(d.upperThreshold) \(d.lowerThreshold) \(d.tunnel.type.rawValue) \(d.tunnel.port) \(d.tunnel.checksum.rawValue)\n"
            }
        }
        text += "T \(timeouts.tcp) \(timeouts.tcpFin) \(timeouts.udp)\n"
        for d in syncDaemons {
            text += "Y \(d.state.rawValue) \(d.interface) \(d.syncID) \(d.maxLength) \(d.group.map { "\($0)" } ?? "-") \(d.port) \(d.ttl)\n"
        }
        for f in sysctls.fields {
            text += "K \(f.sysctlName) \(sysctls.text(f) ?? "-")\n"
        }
        return SHA256.hex(Array(text.utf8))
    }
}

/// IPVS connection timeouts in seconds (`IPVS_CMD_ATTR_TIMEOUT_*`, `ipvsadm --set`).
/// In a request, 0 means "leave unchanged".
public struct Timeouts: Hashable, Sendable {
    public var tcp: UInt32
    public var tcpFin: UInt32
    public var udp: UInt32
    public init(tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
    /// The kernel's defaults: 900, 120, 300.
    public static let kernelDefault = Timeouts(tcp: 900, tcpFin: 120, udp: 300)
}

/// A connection-synchronisation daemon (`IPVS_CMD_ATTR_DAEMON`).
public struct SyncDaemon: Hashable, Sendable {
    public enum State: UInt32, Hashable, Sendable, CustomStringConvertible {
        case master = 1
        case backup = 2
        public var description: String { self == .master ? "master" : "backup" }
    }
    public var state: State
    /// The multicast interface (`MCAST_IFN`).
    public var interface: String
    public var syncID: UInt32
    /// UDP payload size; 0 = derived from the MTU.
    public var maxLength: UInt16
    /// Multicast group; nil = the kernel default 224.0.0.81.
    public var group: IPAddress?
    /// Base UDP port; 0 in a request = the kernel default 8848.
    public var port: UInt16
    /// Multicast TTL; 0 in a request = the kernel default 1.
    public var ttl: UInt8

    public init(
        state: State, interface: String, syncID: UInt32 = 0, maxLength: UInt16 = 0,
        group: IPAddress? = nil, port: UInt16 = 0, ttl: UInt8 = 0
    ) {
        self.state = state
        self.interface = interface
        self.syncID = syncID
        self.maxLength = maxLength
        self.group = group
        self.port = port
        self.ttl = ttl
    }
}

/// `IPVS_CMD_GET_INFO`: the IPVS version and connection table size.
public struct KernelInfo: Hashable, Sendable {
    public var version: UInt32
    public var connectionTableSize: UInt32
    public init(version: UInt32, connectionTableSize: UInt32) {
        self.version = version
        self.connectionTableSize = connectionTableSize
    }
    /// `1.2.1` for `0x010201`.
    public var versionString: String {
        "\(version >> 16).\((version >> 8) & 0xff).\(version & 0xff)"
    }
}
