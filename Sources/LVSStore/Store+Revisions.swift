import Foundation
import GRDB
import LVSModel

extension Store {
    /// Revision content is stored in pieces of about this many bytes (`revision_chunk`).
    static let revisionChunkBytes = 256 * 1024

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
        var revision = try saveRevision(
            manifest: manifest, contentHash: contentHash ?? SHA256.hex(content), author: author, message: message,
            sourcePath: sourcePath, kind: kind, basedOn: basedOn
        ) { piece in
            var text = content
            text.withUTF8 { piece(UnsafeRawBufferPointer($0)) }
        }
        revision.content = content
        return revision
    }

    /// ``saveRevision(manifest:content:author:message:sourcePath:kind:basedOn:contentHash:)`` for a
    /// content that is never whole in memory: `writeContent` hands its UTF-8 bytes, in order, in
    /// pieces of any size, to the function it is given, and is called only when the revision is
    /// new. The bytes are stored as they come, about ``revisionChunkBytes`` at a time, in the
    /// transaction that creates the revision.
    /// - Parameter contentHash: SHA-256 of the content as 64 hex digits (the content is not read
    ///   to decide whether it changed).
    /// - Returns: the revision, its `content` empty (read it back with ``revision(id:)``).
    @discardableResult
    public func saveRevision(
        manifest: String, contentHash hash: String, author: String, message: String? = nil, sourcePath: String? = nil,
        kind: Revision.Kind = .apply, basedOn: Int? = nil,
        writeContent: (_ piece: (UnsafeRawBufferPointer) -> Void) -> Void
    ) throws -> Revision {
        let now = Timestamp.micros(self.now)
        return try write { db in
            if let latest = try Self.latestRecord(db, manifest: manifest), latest.contentHash == hash {
                return try latest.model(content: "")
            }
            try Self.ensureManifest(db, name: manifest, at: now)
            let next = try Int.fetchOne(
                db, sql: "SELECT ifnull(max(number), 0) + 1 FROM revision WHERE manifest = ?", arguments: [manifest]) ?? 1
            var record = RevisionRecord(
                id: nil, manifest: manifest, number: next, contentHash: hash, author: author,
                message: message, createdAt: now, sourcePath: sourcePath, kind: kind.rawValue, basedOn: basedOn, failedAt: nil)
            try record.insert(db)
            let id = db.lastInsertedRowID
            record.id = id
            var chunks = RevisionChunkWriter(db: db, revision: id)
            writeContent { chunks.append($0) }
            try chunks.finish()
            return try record.model(content: "")
        }
    }

    /// A revision's content, its pieces joined in order.
    static func content(ofRevision id: Int64, _ db: Database) throws -> String {
        let pieces = try String.fetchAll(
            db, sql: "SELECT text FROM revision_chunk WHERE revision_id = ? ORDER BY seq", arguments: [id])
        return pieces.count == 1 ? pieces[0] : pieces.joined()
    }

    static func model(_ record: RevisionRecord, withContent: Bool, _ db: Database) throws -> Revision {
        try record.model(content: withContent ? content(ofRevision: record.id ?? 0, db) : "")
    }

    /// Every revision of a manifest, oldest (number 1) first; `withContent: false` leaves each
    /// `content` empty (listing them need not read megabytes each).
    public func revisions(manifest: String, withContent: Bool = true) throws -> [Revision] {
        try read { db in
            try RevisionRecord.fetchAll(
                db, sql: "SELECT * FROM revision WHERE manifest = ? ORDER BY number", arguments: [manifest]
            ).map { try Self.model($0, withContent: withContent, db) }
        }
    }

    /// One revision by manifest and number, or nil.
    public func revision(manifest: String, number: Int) throws -> Revision? {
        try read { db in
            try RevisionRecord.fetchOne(
                db, sql: "SELECT * FROM revision WHERE manifest = ? AND number = ?", arguments: [manifest, number]
            ).map { try Self.model($0, withContent: true, db) }
        }
    }

    /// One revision by its row id (`Revision.id`, as audit rows and runs refer to it), or nil;
    /// `withContent: false` leaves `content` empty.
    public func revision(id: Int64, withContent: Bool = true) throws -> Revision? {
        try read { db in
            try RevisionRecord.fetchOne(db, sql: "SELECT * FROM revision WHERE id = ?", arguments: [id])
                .map { try Self.model($0, withContent: withContent, db) }
        }
    }

    /// The highest-numbered revision of a manifest, or nil if it has none.
    public func latestRevision(manifest: String) throws -> Revision? {
        try read { db in try Self.latestRecord(db, manifest: manifest).map { try Self.model($0, withContent: true, db) } }
    }

    /// The row id of the highest-numbered revision of a manifest (`Revision.id`), or nil; reads
    /// no content.
    public func latestRevisionID(manifest: String) throws -> Int64? {
        try read { db in
            try Int64.fetchOne(
                db, sql: "SELECT id FROM revision WHERE manifest = ? ORDER BY number DESC LIMIT 1", arguments: [manifest])
        }
    }

    /// The revision of `manifest` that drift, the daemon and `drain` treat as desired: the
    /// revision of its last successful run; else (nothing recorded a successful run, e.g. after
    /// an adopt or an import) its latest revision not marked failed. A revision whose apply
    /// failed is never the applied one. The one home of this rule.
    public func appliedRevision(manifest: String) throws -> Revision? {
        try read { db in
            let succeeded = try Int64.fetchOne(
                db,
                sql: """
                    SELECT revision_id FROM apply_run
                    WHERE manifest = ? AND status = 'succeeded' AND revision_id IS NOT NULL
                    ORDER BY started_at DESC, id DESC LIMIT 1
                    """, arguments: [manifest])
            let record: RevisionRecord?
            if let succeeded {
                record = try RevisionRecord.fetchOne(db, sql: "SELECT * FROM revision WHERE id = ?", arguments: [succeeded])
            } else {
                record = try RevisionRecord.fetchOne(
                    db,
                    sql: "SELECT * FROM revision WHERE manifest = ? AND failed_at IS NULL ORDER BY number DESC LIMIT 1",
                    arguments: [manifest])
            }
            return try record.map { try Self.model($0, withContent: true, db) }
        }
    }

    /// Marks revisions failed (their apply was refused by the kernel), or clears the mark (a
    /// later apply of the same revision succeeded).
    public func markRevisions(_ ids: [Int64], failed: Bool) throws {
        guard !ids.isEmpty else { return }
        let at: Int64? = failed ? Timestamp.micros(now) : nil
        try write { db in
            for id in ids {
                try db.execute(sql: "UPDATE revision SET failed_at = ? WHERE id = ?", arguments: [at, id])
            }
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

/// Stores a revision's content as `revision_chunk` rows of about `Store.revisionChunkBytes`,
/// from pieces of any size. A row ends on a UTF-8 character boundary, so that each row is valid
/// text on its own.
private struct RevisionChunkWriter {
    let db: Database
    let revision: Int64
    private var buffer: [UInt8] = []
    private var seq = 0
    /// The first error; later pieces are dropped and `finish` throws it.
    private var error: (any Error)?

    init(db: Database, revision: Int64) {
        self.db = db
        self.revision = revision
        buffer.reserveCapacity(Store.revisionChunkBytes + 4096)
    }

    mutating func append(_ piece: UnsafeRawBufferPointer) {
        guard error == nil else { return }
        buffer.append(contentsOf: piece)
        while buffer.count > Store.revisionChunkBytes {
            // Cut before the last character that starts at or before the limit: a character is
            // never split (a UTF-8 continuation byte is 0b10xxxxxx).
            var cut = Store.revisionChunkBytes
            while cut > 0 && buffer[cut] & 0xC0 == 0x80 { cut -= 1 }
            if cut == 0 { cut = buffer.count }  // not UTF-8: stored as it is
            write(buffer[..<cut])
            buffer.removeFirst(cut)
        }
    }

    mutating func finish() throws {
        // Always one row, even for empty content: a revision without rows would read as "".
        if error == nil && (!buffer.isEmpty || seq == 0) { write(buffer[...]) }
        buffer = []
        if let error { throw error }
    }

    private mutating func write(_ bytes: ArraySlice<UInt8>) {
        do {
            try db.execute(
                sql: "INSERT INTO revision_chunk (revision_id, seq, text) VALUES (?, ?, ?)",
                arguments: [revision, seq, String(decoding: bytes, as: UTF8.self)])
            seq += 1
        } catch {
            self.error = error
        }
    }
}
