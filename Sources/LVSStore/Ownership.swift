import Foundation
import LVSModel

/// The record that a manifest owns a kernel virtual service, and which revision claimed it.
public struct Ownership: Hashable, Sendable {
    public var service: VirtualService.ID
    public var manifest: String
    /// `Revision.id` of the revision that claimed the service.
    public var revisionID: Int64
    public var claimedAt: Date

    public init(service: VirtualService.ID, manifest: String, revisionID: Int64, claimedAt: Date) {
        self.service = service
        self.manifest = manifest
        self.revisionID = revisionID
        self.claimedAt = claimedAt
    }
}
