import Foundation
import LVSModel

/// The health checker's state of one real server.
public struct HealthRecord: Hashable, Sendable {
    public var service: VirtualService.ID
    public var realServer: RealServer.ID
    public var healthy: Bool
    public var lastCheck: Date?
    public var lastError: String?
    public var consecutiveSuccesses: Int
    public var consecutiveFailures: Int
    /// When `healthy` last changed.
    public var changedAt: Date

    public init(
        service: VirtualService.ID, realServer: RealServer.ID, healthy: Bool, lastCheck: Date? = nil,
        lastError: String? = nil, consecutiveSuccesses: Int = 0, consecutiveFailures: Int = 0, changedAt: Date
    ) {
        self.service = service
        self.realServer = realServer
        self.healthy = healthy
        self.lastCheck = lastCheck
        self.lastError = lastError
        self.consecutiveSuccesses = consecutiveSuccesses
        self.consecutiveFailures = consecutiveFailures
        self.changedAt = changedAt
    }
}
