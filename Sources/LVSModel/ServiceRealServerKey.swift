/// A real server within its virtual service: the one key of drains, weight overrides, health
/// states and maintenance.
public struct ServiceRealServerKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var service: VirtualService.ID
    public var realServer: RealServer.ID

    public init(service: VirtualService.ID, realServer: RealServer.ID) {
        self.service = service
        self.realServer = realServer
    }

    public static func < (a: Self, b: Self) -> Bool {
        a.service != b.service ? a.service < b.service : a.realServer < b.realServer
    }

    /// `10.0.0.1:80 of tcp/10.0.0.100:80` (plans, drift, errors).
    public var description: String { "\(realServer) of \(service)" }

    /// `tcp/10.0.0.100:80/10.0.0.1:80`: keepalived's name for a checked real server (health logs,
    /// notification subjects). Persisted in notification states: must stay this form.
    public var checkName: String { "\(service)/\(realServer)" }
}
