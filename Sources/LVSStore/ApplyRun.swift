import Foundation

/// One apply, rollback, drift fix or daemon pass that wrote to the kernel.
public struct ApplyRun: Hashable, Sendable {
    /// The state of a run.
    public enum Status: String, Hashable, Sendable, Codable, CaseIterable {
        case running
        case succeeded
        case failed
        /// The run failed and its changes were reversed.
        case undone
    }

    public var id: Int64
    public var startedAt: Date
    /// nil while `status` is `.running`.
    public var finishedAt: Date?
    public var manifest: String?
    /// `Revision.id` of the revision being applied, if any.
    public var revisionID: Int64?
    public var origin: ChangeOrigin
    public var author: String
    public var status: Status
    public var error: String?

    public init(
        id: Int64, startedAt: Date, finishedAt: Date?, manifest: String?, revisionID: Int64?,
        origin: ChangeOrigin, author: String, status: Status, error: String?
    ) {
        self.id = id
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.manifest = manifest
        self.revisionID = revisionID
        self.origin = origin
        self.author = author
        self.status = status
        self.error = error
    }
}
