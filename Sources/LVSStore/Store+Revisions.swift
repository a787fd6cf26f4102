import Foundation
import GRDB
import LVSModel

extension Store {
    /// Stores a manifest's canonical JSON as its next revision, unless it is unchanged.
    ///
    /// When `content`'s SHA-256 equals the latest revision's hash, that revision is returned and
    /// nothing is written: applying an unchanged manifest creates no revision. Otherwise the new
    /// revision gets the next number for the manifest (1, 2, 3…).
    /// - Parameters:
    ///   - manifest: the manifest's name.
    ///   - content: the manifest as canonical JSON text.
    ///   - author: see ``Author/current(environment:userName:)``.
    ///   - message: the `-m` message.
    ///   - sourcePath: the file the manifest came from.
    ///   - kind: apply, rollback, adopt or import.
    ///   - basedOn: for a rollback, the number of the revision restored.
    ///   - contentHash: SHA-256 of `content` as 64 hex digits, when the caller already has it
    ///     (`ManifestResult.contentHash`); computed here otherwise.
    /// - Returns: the new revision, or the latest one when the content is unchanged.
    @discardableResult
    public func saveRevision(
        manifest: String, content: String, author: String, message: String? = nil, sourcePath: String? = nil,
        kind: Revision.Kind = .apply, basedOn: Int? = nil, contentHash: String? = nil
    ) throws -> Revision {
        let hash = contentHash ?? SHA256.hex(Array(content.utf8))
        let now = Timestamp.micros(self.now)
        return try write { db in
            // The hash first: a revision's content can be megabytes, read it only to return it.
            if let row = try Row.fetchOne(
                db, sql: "SELECT id, content_hash FROM revision WHERE manifest = ? ORDER BY number DESC LIMIT 1",
                arguments: [manifest]),
                (row["content_hash"] as String?) == hash,
                let latest = try RevisionRecord.fetchOne(
                    db, sql: "SELECT * FROM revision WHERE id = ?", arguments: [row["id"] as Int64?])
            {
                return try latest.model()
            }
            try Self.ensureManifest(db, name: manifest, at: now)
            let next = try Int.fetchOne(
                db, sql: "SELECT ifnull(max(number), 0) + 1 FROM revision WHERE manifest = ?", arguments: [manifest]) ?? 1
            var record = RevisionRecord(
                id: nil, manifest: manifest, number: next, contentHash: hash, content: content, author: author,
                message: message, createdAt: now, sourcePath: sourcePath, kind: kind.rawValue, basedOn: basedOn)
            // A plain statement rather than `record.insert`: that binds each value as a copy
            // (SQLITE_TRANSIENT), which for a large manifest's content was tens of megabytes more
            // at the peak; `execute(arguments:)` binds them in place for the statement's run.
            try db.makeStatement(sql: """
                INSERT INTO revision (manifest, number, content_hash, content, author, message, created_at, source_path, kind, based_on)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    record.manifest, record.number, record.contentHash, record.content, record.author, record.message,
                    record.createdAt, record.sourcePath, record.kind, record.basedOn,
                ])
            record.id = db.lastInsertedRowID
            return try record.model()
        }
    }

    /// Every revision of a manifest, oldest (number 1) first.
    public func revisions(manifest: String) throws -> [Revision] {
        try read { db in
            try RevisionRecord.fetchAll(
                db, sql: "SELECT * FROM revision WHERE manifest = ? ORDER BY number", arguments: [manifest]
            ).map { try $0.model() }
        }
    }

    /// One revision by manifest and number, or nil.
    public func revision(manifest: String, number: Int) throws -> Revision? {
        try read { db in
            try RevisionRecord.fetchOne(
                db, sql: "SELECT * FROM revision WHERE manifest = ? AND number = ?", arguments: [manifest, number]
            )?.model()
        }
    }

    /// One revision by its row id (`Revision.id`, as audit rows and runs refer to it), or nil.
    public func revision(id: Int64) throws -> Revision? {
        try read { db in
            try RevisionRecord.fetchOne(db, sql: "SELECT * FROM revision WHERE id = ?", arguments: [id])?.model()
        }
    }

    /// The highest-numbered revision of a manifest, or nil if it has none.
    public func latestRevision(manifest: String) throws -> Revision? {
        try read { db in try Self.latestRecord(db, manifest: manifest)?.model() }
    }

    /// The row id of the highest-numbered revision of a manifest (`Revision.id`), or nil; reads
    /// no content.
    public func latestRevisionID(manifest: String) throws -> Int64? {
        try read { db in
            try Int64.fetchOne(
                db, sql: "SELECT id FROM revision WHERE manifest = ? ORDER BY number DESC LIMIT 1", arguments: [manifest])
        }
    }

    /// The names of every manifest with at least one revision, sorted.
    public func manifests() throws -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM manifest WHERE EXISTS (SELECT 1 FROM revision WHERE manifest = name) ORDER BY name")
        }
    }

    static func latestRecord(_ db: Database, manifest: String) throws -> RevisionRecord? {
        try RevisionRecord.fetchOne(
            db, sql: "SELECT * FROM revision WHERE manifest = ? ORDER BY number DESC LIMIT 1", arguments: [manifest])
    }

    static func ensureManifest(_ db: Database, name: String, at micros: Int64) throws {
        try db.execute(
            sql: "INSERT INTO manifest (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            arguments: [name, micros])
    }
}
