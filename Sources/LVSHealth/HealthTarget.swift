import LVSModel

/// One thing to probe: a real server of a service, where to connect, and the check to run.
public struct HealthTarget: Hashable, Sendable {
    public var key: ServiceRealServerKey
    /// The service's name in its manifest, for messages.
    public var serviceName: String
    public var address: IPAddress
    /// The port to probe: the check's `port` (`connect_port`), else the real server's port.
    public var port: UInt16
    public var check: HealthCheck

    public init(key: ServiceRealServerKey, serviceName: String, address: IPAddress, port: UInt16, check: HealthCheck) {
        self.key = key
        self.serviceName = serviceName
        self.address = address
        self.port = port
        self.check = check
    }

    /// Every real server with a health check (its own, else its service's). Real servers
    /// without any check are not probed: the overlay treats them as up. The sorry server is
    /// never probed (keepalived does not check it either).
    public static func targets(in state: DesiredState) -> [HealthTarget] {
        var out: [HealthTarget] = []
        for service in state.services {
            for rs in service.realServers {
                guard let check = rs.healthCheck ?? service.healthCheck else { continue }
                out.append(HealthTarget(
                    key: ServiceRealServerKey(service: service.service.id, realServer: rs.server.id),
                    serviceName: service.name,
                    address: rs.server.id.address,
                    port: check.port ?? rs.server.id.port,
                    check: check))
            }
        }
        return out
    }
}
