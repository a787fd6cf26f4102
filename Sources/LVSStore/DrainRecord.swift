import Foundation
import LVSModel

/// A real server being drained: held at weight 0 until its connections end or the deadline passes.
public struct DrainRecord: Hashable, Sendable {
    /// Why a real server is draining. Only a removal from the manifest drains: maintenance and
    /// health take a server out with weight overrides (``MaintenanceFlag``, health records), not
    /// drains. The column allows more values (migration 0003); none is ever written.
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        case removedFromManifest = "removed-from-manifest"
    }

    public var service: VirtualService.ID
    public var realServer: RealServer.ID
    public var manifest: String
    public var startedAt: Date
    /// When the server is deleted even with connections left; nil = no deadline.
    public var deadline: Date?
    public var reason: Reason

    public init(
        service: VirtualService.ID, realServer: RealServer.ID, manifest: String, startedAt: Date,
        deadline: Date?, reason: Reason
    ) {
        self.service = service
        self.realServer = realServer
        self.manifest = manifest
        self.startedAt = startedAt
        self.deadline = deadline
        self.reason = reason
    }
}
