import Foundation
import LVSModel

/// An operator's maintenance mark on a whole service (`realServer == nil`) or one real server.
public struct MaintenanceFlag: Hashable, Sendable {
    public var service: VirtualService.ID
    public var realServer: RealServer.ID?
    public var reason: String?
    public var author: String
    public var since: Date

    public init(service: VirtualService.ID, realServer: RealServer.ID? = nil, reason: String? = nil, author: String, since: Date) {
        self.service = service
        self.realServer = realServer
        self.reason = reason
        self.author = author
        self.since = since
    }
}
