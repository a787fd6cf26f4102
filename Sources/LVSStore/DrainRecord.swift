import Foundation
import LVSModel

/// A real server being drained: held at weight 0 until its connections end or the deadline passes.
public struct DrainRecord: Hashable, Sendable {
    /// Why a real server is draining.
    public enum Reason: String, Hashable, Sendable, Codable, CaseIterable {
        case removedFromManifest = "removed-from-manifest"
        case maintenance
        case health
    }

    public var service: VirtualService.ID
    public var realServer: RealServer.ID
    public var manifest: String
    public var startedAt: Date
    /// When the server is deleted even with connections left; nil = no deadline.
    public var deadline: Date?
    /// The weight to restore if the drain is cancelled.
    public var originalWeight: UInt32
    public var reason: Reason

    public init(
        service: VirtualService.ID, realServer: RealServer.ID, manifest: String, startedAt: Date,
        deadline: Date?, originalWeight: UInt32, reason: Reason
    ) {
        self.service = service
        self.realServer = realServer
        self.manifest = manifest
        self.startedAt = startedAt
        self.deadline = deadline
        self.originalWeight = originalWeight
        self.reason = reason
    }
}
