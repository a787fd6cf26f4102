import LVSModel

/// Identifies one checked real server: the virtual service and the real server within it.
public struct HealthKey: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var service: VirtualService.ID
    public var realServer: RealServer.ID

    public init(service: VirtualService.ID, realServer: RealServer.ID) {
        self.service = service
        self.realServer = realServer
    }

    public static func < (a: HealthKey, b: HealthKey) -> Bool {
        a.service != b.service ? a.service < b.service : a.realServer < b.realServer
    }

    /// `tcp/10.0.0.1:80/10.0.0.11:80`: the keepalived-style name used in logs and notifications.
    public var description: String { "\(service)/\(realServer)" }
}
