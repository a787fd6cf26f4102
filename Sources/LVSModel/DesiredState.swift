/// The desired state one manifest declares, after validation: what the planner works from.
public struct DesiredState: Hashable, Sendable {
    /// The manifest's `name`; it owns the services listed here.
    public var manifest: String
    public var services: [ServiceSpec]
    public var settings: GlobalSettings
    /// The VRRP half of a director pair; nil = the manifest declares none.
    public var vrrp: VRRPConfig?
    /// The BGP announcement of an ECMP site; nil = the manifest declares none.
    public var bgp: BGPConfig?

    public init(
        manifest: String, services: [ServiceSpec] = [], settings: GlobalSettings = GlobalSettings(),
        vrrp: VRRPConfig? = nil, bgp: BGPConfig? = nil
    ) {
        self.manifest = manifest
        self.services = services
        self.settings = settings
        self.vrrp = vrrp
        self.bgp = bgp
    }

    /// The IPVS configuration part (what goes into the kernel when every real server is healthy).
    public var table: IPVSTable {
        IPVSTable(entries: services.map { IPVSTable.Entry(service: $0.service, realServers: $0.realServers.map(\.server)) })
    }
}

/// One virtual service as declared, with the policy around it.
public struct ServiceSpec: Hashable, Sendable {
    /// The manifest's name for the service (`web-http`); unique within a manifest.
    public var name: String
    public var service: VirtualService
    public var realServers: [RealServerSpec]
    /// How long a removed real server may drain (weight 0) before it is deleted; nil = the
    /// planner's default. UDP services never drain.
    public var drainTimeout: UInt32?
    /// The service-wide health check; a real server may override it.
    public var healthCheck: HealthCheck?
    /// Served when every real server is down (keepalived `sorry_server`).
    public var sorryServer: RealServer?
    /// Minimum total weight of healthy servers before the service counts as up (keepalived `quorum`).
    public var quorum: UInt32?
    public var hysteresis: UInt32?
    /// On failure set weight 0 (keep connections) instead of removing the server
    /// (keepalived `inhibit_on_failure`).
    public var inhibitOnFailure: Bool
    /// With a `bgp` section: announce the service's address while the service is ready.
    public var announce: Bool

    public init(
        name: String, service: VirtualService, realServers: [RealServerSpec] = [],
        drainTimeout: UInt32? = nil, healthCheck: HealthCheck? = nil, sorryServer: RealServer? = nil,
        quorum: UInt32? = nil, hysteresis: UInt32? = nil, inhibitOnFailure: Bool = false, announce: Bool = true
    ) {
        self.announce = announce
        self.name = name
        self.service = service
        self.realServers = realServers
        self.drainTimeout = drainTimeout
        self.healthCheck = healthCheck
        self.sorryServer = sorryServer
        self.quorum = quorum
        self.hysteresis = hysteresis
        self.inhibitOnFailure = inhibitOnFailure
    }
}

extension ServiceSpec {
    /// The address a `bgp` section announces for this service: its virtual address when it
    /// has one and `announce` is on; nil for a firewall-mark service or `announce: false`.
    /// The daemon's BGP side and `status` both ask here.
    public var announcedAddress: IPAddress? {
        guard announce, case .address(_, let address, _) = service.id else { return nil }
        return address
    }
}

/// One real server as declared.
public struct RealServerSpec: Hashable, Sendable {
    public var server: RealServer
    /// Overrides the service's health check for this server.
    public var healthCheck: HealthCheck? {
        get { check?.value }
        set { check = newValue.map(HealthCheckBox.init) }
    }

    /// The health check is kept out of line: it is large (about 120 bytes) and most real servers
    /// have none of their own, while a manifest can have a hundred thousand real servers.
    private var check: HealthCheckBox?

    public init(server: RealServer, healthCheck: HealthCheck? = nil) {
        self.server = server
        self.check = healthCheck.map(HealthCheckBox.init)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.server == b.server && a.healthCheck == b.healthCheck
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(server)
        hasher.combine(healthCheck)
    }
}

/// An immutable health check on the heap (see `RealServerSpec`); a new one replaces it on every
/// change, so sharing it between copies is safe.
private final class HealthCheckBox: Sendable {
    let value: HealthCheck
    init(_ value: HealthCheck) { self.value = value }
}

/// Kernel-wide settings a manifest may declare. Absent fields are left as they are.
public struct GlobalSettings: Hashable, Sendable {
    public var timeouts: Timeouts?
    /// nil = leave the sync daemons alone; [] = none should run.
    public var syncDaemons: [SyncDaemon]?
    /// The `/proc/sys/net/ipv4/vs` values a pair needs; each nil field is left as it is.
    public var sysctls: IPVSSysctls

    public init(timeouts: Timeouts? = nil, syncDaemons: [SyncDaemon]? = nil, sysctls: IPVSSysctls = IPVSSysctls()) {
        self.timeouts = timeouts
        self.syncDaemons = syncDaemons
        self.sysctls = sysctls
    }

    // Coded by hand so that states stored before `sysctls` existed still decode.
    private enum CodingKeys: String, CodingKey {
        case timeouts, syncDaemons, sysctls
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            timeouts: try c.decodeIfPresent(Timeouts.self, forKey: .timeouts),
            syncDaemons: try c.decodeIfPresent([SyncDaemon].self, forKey: .syncDaemons),
            sysctls: try c.decodeIfPresent(IPVSSysctls.self, forKey: .sysctls) ?? IPVSSysctls())
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(timeouts, forKey: .timeouts)
        try c.encodeIfPresent(syncDaemons, forKey: .syncDaemons)
        if !sysctls.isEmpty { try c.encode(sysctls, forKey: .sysctls) }
    }
}

/// A health check with keepalived's semantics (names follow keepalived where they exist).
public struct HealthCheck: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Connect to address:port (`TCP_CHECK`).
        case tcp
        /// `HTTP_GET`.
        case http
        /// `SSL_GET`.
        case https
        /// Run a local program (`MISC_CHECK`); only when the daemon's config allows it.
        case exec
    }

    public var type: Kind
    /// Port to probe; nil = the real server's port (`connect_port`).
    public var port: UInt16?
    /// HTTP path (`url { path }`).
    public var path: String?
    /// Accepted HTTP status codes (`status_code`); empty = 200.
    public var statusCodes: [Int]
    /// MD5 hex digest of the body (`digest`).
    public var digest: String?
    /// HTTP `Host` header (`virtualhost`).
    public var host: String?
    /// For https: skip certificate verification (must be explicit).
    public var insecureSkipVerify: Bool
    /// For exec: the program and its arguments (`misc_path`).
    public var command: [String]?
    /// Seconds to wait for connect / the whole check (`connect_timeout`, `misc_timeout`).
    public var connectTimeout: Double
    /// keepalived's `retry`: probes retried after the first failure before the server is marked
    /// down, so an up server goes down after `retry + 1` consecutive failures (unless `fall`).
    public var retry: UInt32
    /// Seconds between retries after a failure (`delay_before_retry`).
    public var delayBeforeRetry: Double
    /// Seconds between checks (`delay_loop`).
    public var interval: Double
    /// Consecutive successes before a down server is marked up.
    public var rise: UInt32
    /// Consecutive failures before an up server is marked down; nil = `retry + 1`.
    public var fall: UInt32?
    /// Start as failed until the first success (keepalived `alpha`).
    public var alpha: Bool

    public init(
        type: Kind, port: UInt16? = nil, path: String? = nil, statusCodes: [Int] = [],
        digest: String? = nil, host: String? = nil, insecureSkipVerify: Bool = false,
        command: [String]? = nil, connectTimeout: Double = 5, retry: UInt32 = 1,
        delayBeforeRetry: Double = 1, interval: Double = 6, rise: UInt32 = 1, fall: UInt32? = nil,
        alpha: Bool = false
    ) {
        self.type = type
        self.port = port
        self.path = path
        self.statusCodes = statusCodes
        self.digest = digest
        self.host = host
        self.insecureSkipVerify = insecureSkipVerify
        self.command = command
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
        self.interval = interval
        self.rise = rise
        self.fall = fall
        self.alpha = alpha
    }

    /// Consecutive failed probes that take an up server down: `fall`, else keepalived's meaning
    /// of `retry` (the first failure and `retry` retries). The one home of the rule: the health
    /// tracker, the keepalived exporter and the reference (`Manifests/REFERENCE.md`) follow it.
    public var failuresBeforeDown: UInt32 { max(1, fall ?? retry.addingReportingOverflow(1).partialValue) }
}
