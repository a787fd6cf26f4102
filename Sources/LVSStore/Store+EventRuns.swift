import Foundation
import GRDB

extension Store {
    /// Records a run that wrote nothing to the kernel (a VRRP role, a BGP route, a director's
    /// maintenance): `succeeded` at once, with one audit row (`applied`, no service) per entry,
    /// inside the caller's transaction so that the state it records is never stored without
    /// its audit rows.
    /// - Returns: the stored audit rows.
    static func recordEventRun(
        _ db: Database, manifest: String, author: String, origin: ChangeOrigin, at micros: Int64,
        rows: [(action: String, before: String?, after: String?)]
    ) throws -> [AuditEntry] {
        try ensureManifest(db, name: manifest, at: micros)
        try db.execute(
            sql: """
                INSERT INTO apply_run (started_at, finished_at, manifest, revision_id, origin, author, status)
                VALUES (?, ?, ?, NULL, ?, ?, 'succeeded')
                """,
            arguments: [micros, micros, manifest, origin.rawValue, author])
        let runID = db.lastInsertedRowID
        var out: [AuditEntry] = []
        for r in rows {
            try db.execute(
                sql: """
                    INSERT INTO audit (run_id, revision_id, manifest, at, action, before_json, after_json, result, duration_us, origin)
                    VALUES (?, NULL, ?, ?, ?, ?, ?, 'applied', 0, ?)
                    """,
                arguments: [runID, manifest, micros, r.action, r.before, r.after, origin.rawValue])
            out.append(AuditEntry(
                id: db.lastInsertedRowID, runID: runID, revisionID: nil, manifest: manifest, at: Timestamp.date(micros),
                action: r.action, service: nil, before: r.before, after: r.after, result: .applied, origin: origin))
        }
        return out
    }
}
