import LVSModel

/// The field names of manifest format v1, per object. The decoder accepts exactly these (anything
/// else is an "unknown field" error) and a test checks the JSON Schema lists the same names.
public enum ManifestFields {
    public static let apiVersion = "lvsctl/v1"

    public static let manifest = ["apiVersion", "name", "description", "services", "settings", "vrrp", "bgp"]
    public static let service = [
        "name", "description", "protocol", "address", "port", "fwmark", "family", "scheduler",
        "schedulerFlags", "persistence", "onePacket", "persistenceEngine", "forwarding", "tunnel",
        "drain", "healthCheck", "sorryServer", "quorum", "hysteresis", "inhibitOnFailure", "realServers",
        "announce",
    ]
    public static let persistence = ["timeout", "netmask", "prefixLength"]
    public static let tunnel = ["type", "port", "checksum"]
    public static let drain = ["timeout"]
    public static let healthCheck = [
        "type", "port", "path", "statusCodes", "digest", "host", "insecureSkipVerify", "command",
        "connectTimeout", "retry", "delayBeforeRetry", "interval", "rise", "fall", "alpha",
    ]
    public static let sorryServer = ["address", "port", "forwarding", "tunnel"]
    public static let realServer = [
        "address", "port", "weight", "forwarding", "tunnel", "upperThreshold", "lowerThreshold",
        "healthCheck", "description",
    ]
    public static let settings = [
        "timeouts", "syncDaemons", "sloppyTcp", "sloppySctp", "syncThreshold", "syncRefreshPeriod", "syncRetries",
        "expireNodestConn", "expireQuiescentTemplate", "connReuseMode", "backupOnly",
    ]
    public static let timeouts = ["tcp", "tcpFin", "udp"]
    public static let syncDaemon = ["state", "interface", "syncId", "maxLength", "group", "port", "ttl"]
    public static let vrrp = ["instances", "syncGroups", "maintenanceInstances"]
    public static let vrrpInstance = [
        "name", "description", "interface", "virtualRouterId", "advertInterval", "addresses", "priority", "preempt",
        "preemptDelay", "unicast", "trackInterfaces", "authentication",
    ]
    public static let vrrpAddress = ["address", "device"]
    public static let vrrpUnicast = ["source", "peers"]
    public static let vrrpAuthentication = ["type", "password"]
    public static let vrrpSyncGroup = ["name", "instances"]
    public static let bgp = ["localAS", "routerId", "peers", "drain", "announceThreshold", "vipDevice"]
    public static let bgpPeer = ["address", "as", "password", "holdTime", "bfd"]
    public static let bgpDrain = ["med", "gracefulShutdown", "seconds"]

    /// Every object of the format by its JSON Schema `$defs` name, for the schema test.
    public static let byDefinition: [String: [String]] = [
        "manifest": manifest, "service": service, "persistence": persistence, "tunnel": tunnel,
        "drain": drain, "healthCheck": healthCheck, "sorryServer": sorryServer,
        "realServer": realServer, "settings": settings, "timeouts": timeouts, "syncDaemon": syncDaemon,
        "vrrp": vrrp, "vrrpInstance": vrrpInstance, "vrrpAddress": vrrpAddress, "vrrpUnicast": vrrpUnicast,
        "vrrpAuthentication": vrrpAuthentication, "vrrpSyncGroup": vrrpSyncGroup,
        "bgp": bgp, "bgpPeer": bgpPeer, "bgpDrain": bgpDrain,
    ]

    /// Forwarding names accepted in manifests.
    static let forwarding = ["dr", "nat", "tunnel"]
    static let protocols = ["tcp", "udp", "sctp"]
    static let families = ["ipv4", "ipv6"]
    static let tunnelTypes = ["ipip", "gue", "gre"]
    static let healthCheckTypes = ["tcp", "http", "https", "exec"]

    /// Limits, with the reason for each.
    enum Limit {
        /// ipvsadm's weight range (the kernel accepts up to 2^31-1).
        static let weight: ClosedRange<Int64> = 0...65535
        /// Thresholds are `int` in ipvsadm and u32 in the kernel; negative values are ERANGE.
        static let threshold: ClosedRange<Int64> = 0...2_147_483_647
        /// 31 days, ipvsadm's persistence maximum.
        static let persistenceTimeout: ClosedRange<Int64> = 1...2_678_400
        /// ipvsadm's default persistence timeout, used when `persistence` has no `timeout`.
        static let defaultPersistenceTimeout: UInt32 = 300
        /// `INT_MAX / HZ` with Debian's HZ=250: the largest value SET_CONFIG accepts.
        static let kernelTimeout: ClosedRange<Int64> = 1...8_589_934
        /// A week.
        static let drain: ClosedRange<Int64> = 0...604_800
        static let port: ClosedRange<Int64> = 0...65535
        static let fwmark: ClosedRange<Int64> = 1...4_294_967_295
        static let counter: ClosedRange<Int64> = 1...4_294_967_295
    }
}
