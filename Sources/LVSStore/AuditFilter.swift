import Foundation
import LVSModel

/// Which audit rows to read, and in which order. Every field left nil matches everything.
public struct AuditFilter: Hashable, Sendable {
    /// The order of the returned rows.
    public enum Order: Hashable, Sendable {
        case newestFirst
        case oldestFirst
    }

    public var manifest: String?
    public var service: VirtualService.ID?
    /// Matches only rows about this real server (of `service`, when given).
    public var realServer: RealServer.ID?
    /// Only rows at or after this time.
    public var since: Date?
    /// Only rows strictly before this time.
    public var until: Date?
    public var runID: Int64?
    public var result: AuditEntry.Result?
    public var limit: Int?
    public var order: Order

    public init(
        manifest: String? = nil, service: VirtualService.ID? = nil, realServer: RealServer.ID? = nil,
        since: Date? = nil, until: Date? = nil, runID: Int64? = nil, result: AuditEntry.Result? = nil,
        limit: Int? = nil, order: Order = .newestFirst
    ) {
        self.manifest = manifest
        self.service = service
        self.realServer = realServer
        self.since = since
        self.until = until
        self.runID = runID
        self.result = result
        self.limit = limit
        self.order = order
    }
}
