import Foundation

/// One stored version of a manifest: its canonical JSON, hash, number and provenance.
public struct Revision: Hashable, Sendable {
    /// How a revision came to be.
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        /// `lvsctl apply` of a manifest file.
        case apply
        /// `lvsctl rollback`: an older revision's content applied again.
        case rollback
        /// `lvsctl adopt`: existing kernel services taken under management.
        case adopt
        /// `lvsctl import` from ipvsadm or keepalived configuration.
        case `import`
    }

    /// The database row id; unique across manifests (audit rows and runs refer to it).
    public var id: Int64
    /// The manifest's name.
    public var manifest: String
    /// 1, 2, 3… per manifest.
    public var number: Int
    /// SHA-256 of `content`'s UTF-8 bytes, 64 lowercase hex digits.
    public var contentHash: String
    /// The manifest as canonical JSON text.
    public var content: String
    public var author: String
    /// The `-m` message.
    public var message: String?
    public var createdAt: Date
    /// The file the manifest was read from, if any.
    public var sourcePath: String?
    public var kind: Kind
    /// For a rollback: the number of the revision whose content was restored.
    public var basedOn: Int?
    /// Its last apply failed (the kernel refused a change): never the applied revision.
    public var failed: Bool

    public init(
        id: Int64, manifest: String, number: Int, contentHash: String, content: String, author: String,
        message: String?, createdAt: Date, sourcePath: String?, kind: Kind, basedOn: Int? = nil, failed: Bool = false
    ) {
        self.failed = failed
        self.id = id
        self.manifest = manifest
        self.number = number
        self.contentHash = contentHash
        self.content = content
        self.author = author
        self.message = message
        self.createdAt = createdAt
        self.sourcePath = sourcePath
        self.kind = kind
        self.basedOn = basedOn
    }
}
