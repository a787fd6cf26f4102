import Foundation
import LVSModel

/// One kernel change, as recorded in the audit log.
public struct AuditEntry: Hashable, Sendable {
    /// What became of the change.
    public enum Result: String, Hashable, Sendable, Codable, CaseIterable {
        /// Intent: stored before the kernel write is sent, replaced by the outcome as the
        /// kernel answers (or, after a crash, by what the next command finds in the kernel).
        /// ``Store/audit(_:)`` leaves these rows out unless the filter asks for them.
        case planned
        case applied
        case failed
        /// Applied, then reversed when a later step of the run failed.
        case undone
    }

    /// The row id; nil for an entry not yet stored (`Store.appendAudit` fills it in).
    public var id: Int64?
    /// `ApplyRun.id` of the run that made the change.
    public var runID: Int64
    /// `Revision.id` of the revision being applied, if any.
    public var revisionID: Int64?
    public var manifest: String
    public var at: Date
    /// The kind of change, e.g. `create-service`, `update-real-server`.
    public var action: String
    /// nil only for kernel-wide changes (timeouts, sync daemons).
    public var service: VirtualService.ID?
    public var realServer: RealServer.ID?
    /// The object before the change, as JSON; nil when it did not exist.
    public var before: String?
    /// The object after the change, as JSON; nil when it was deleted.
    public var after: String?
    public var result: Result
    /// The raw errno the kernel returned, for a failed change.
    public var errno: Int32?
    public var kernelError: String?
    /// How long the kernel call took, in microseconds.
    public var durationMicroseconds: Int64
    public var origin: ChangeOrigin

    public init(
        id: Int64? = nil, runID: Int64, revisionID: Int64?, manifest: String, at: Date, action: String,
        service: VirtualService.ID?, realServer: RealServer.ID? = nil, before: String? = nil,
        after: String? = nil, result: Result, errno: Int32? = nil, kernelError: String? = nil,
        durationMicroseconds: Int64 = 0, origin: ChangeOrigin
    ) {
        self.id = id
        self.runID = runID
        self.revisionID = revisionID
        self.manifest = manifest
        self.at = at
        self.action = action
        self.service = service
        self.realServer = realServer
        self.before = before
        self.after = after
        self.result = result
        self.errno = errno
        self.kernelError = kernelError
        self.durationMicroseconds = durationMicroseconds
        self.origin = origin
    }
}
