import Foundation
import GRDB
import LVSModel

extension Store {
    /// Who owns a kernel service, or nil when no manifest does.
    public func owner(of service: VirtualService.ID) throws -> Ownership? {
        try read { db in
            try OwnershipRecord.fetchOne(
                db, sql: "SELECT * FROM ownership WHERE service = ?", arguments: [service.description]
            )?.model()
        }
    }

    /// Every ownership record, or only one manifest's, sorted by service.
    public func ownership(manifest: String? = nil) throws -> [Ownership] {
        try read { db in
            // Columns read by position from a cursor: decoding every row through Codable was
            // most of the cost of reading the owners of a large table.
            let columns = "SELECT service, manifest, revision_id, claimed_at FROM ownership"
            let rows = try manifest.map {
                try Row.fetchCursor(db, sql: columns + " WHERE manifest = ?", arguments: [$0])
            } ?? Row.fetchCursor(db, sql: columns)
            var out: [Ownership] = []
            while let row = try rows.next() {
                let record = OwnershipRecord(service: row[0], manifest: row[1], revisionId: row[2], claimedAt: row[3])
                out.append(try record.model())
            }
            return out.sorted { $0.service < $1.service }
        }
    }

    /// The owner (manifest name) of every owned service: ``ownership(manifest:)`` without the
    /// sorting and the other columns, for a planner that only looks owners up.
    public func owners() throws -> [VirtualService.ID: String] {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT service, manifest FROM ownership")
            var out: [VirtualService.ID: String] = [:]
            while let row = try rows.next() {
                out[try parseService(row[0], table: "ownership")] = row[1]
            }
            return out
        }
    }

    /// Records that `revision`'s manifest owns `services`, in one transaction.
    ///
    /// Services the manifest already owns are re-stamped with `revision`.
    /// - Throws: ``StoreError/ownedByAnotherManifest(service:owner:requested:)`` if any service
    ///   belongs to a different manifest (nothing is written then).
    public func setOwner(_ services: [VirtualService.ID], revision: Revision) throws {
        let now = Timestamp.micros(self.now)
        try write { db in
            // One read of the current owners, then multi-row upserts: per-service statements
            // were most of an apply's bookkeeping for a large table.
            var owners: [String: String] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT service, manifest FROM ownership")
            while let row = try rows.next() { owners[row[0]] = row[1] }
            let keys = services.map(\.description)
            for key in keys {
                if let existing = owners[key], existing != revision.manifest {
                    throw StoreError.ownedByAnotherManifest(service: key, owner: existing, requested: revision.manifest)
                }
            }
            var start = 0
            while start < keys.count {
                let chunk = keys[start..<min(start + 256, keys.count)]
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO ownership (service, manifest, revision_id, claimed_at) VALUES \
                    \(Array(repeating: "(?, ?, ?, ?)", count: chunk.count).joined(separator: ", "))
                    ON CONFLICT (service) DO UPDATE SET
                        manifest = excluded.manifest, revision_id = excluded.revision_id, claimed_at = excluded.claimed_at
                    """)
                var values: [(any DatabaseValueConvertible)?] = []
                values.reserveCapacity(chunk.count * 4)
                for key in chunk { values += [key, revision.manifest, revision.id, now] }
                try upsert.execute(arguments: StatementArguments(values))
                start += chunk.count
            }
        }
    }

    /// Forgets that `manifest` owns `services` (after deleting them). Services owned by another
    /// manifest are left alone.
    /// - Returns: how many ownership records were removed.
    @discardableResult
    public func removeOwner(_ services: [VirtualService.ID], manifest: String) throws -> Int {
        try write { db in
            var removed = 0
            for service in services {
                try db.execute(
                    sql: "DELETE FROM ownership WHERE service = ? AND manifest = ?",
                    arguments: [service.description, manifest])
                removed += db.changesCount
            }
            return removed
        }
    }
}
