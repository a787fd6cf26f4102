import Foundation
import GRDB
import LVSModel

extension Store {
    // MARK: Apply runs

    /// Starts an apply run (status `running`) and returns it; pass its id to audit rows.
    /// A run left `running` by a process that ended is closed by `InterruptedRuns` (LVSReconciler),
    /// which resolves its intent rows against the kernel first.
    public func beginRun(
        manifest: String?, revision: Revision? = nil, origin: ChangeOrigin, author: String
    ) throws -> ApplyRun {
        let now = Timestamp.micros(self.now)
        return try write { db in
            if let manifest { try Self.ensureManifest(db, name: manifest, at: now) }
            var record = ApplyRunRecord(
                id: nil, startedAt: now, finishedAt: nil, manifest: manifest, revisionId: revision?.id,
                origin: origin.rawValue, author: author, status: ApplyRun.Status.running.rawValue, error: nil)
            try record.insert(db)
            record.id = db.lastInsertedRowID
            return try record.model()
        }
    }

    /// Marks a run finished with `status` (not `.running`) and an optional error text.
    /// - Throws: ``StoreError/notFound(_:)`` for an unknown run id.
    @discardableResult
    public func finishRun(_ id: Int64, status: ApplyRun.Status, error: String? = nil) throws -> ApplyRun {
        precondition(status != .running, "finishRun needs a final status")
        let now = Timestamp.micros(self.now)
        return try write { db in
            guard var record = try ApplyRunRecord.fetchOne(db, key: id) else {
                throw StoreError.notFound("apply run \(id)")
            }
            record.finishedAt = max(now, record.startedAt)
            record.status = status.rawValue
            record.error = error
            try record.update(db)
            return try record.model()
        }
    }

    /// One apply run by id, or nil.
    public func run(_ id: Int64) throws -> ApplyRun? {
        try read { db in try ApplyRunRecord.fetchOne(db, key: id)?.model() }
    }

    /// Apply runs, newest first, optionally of one manifest.
    public func runs(manifest: String? = nil, limit: Int? = nil) throws -> [ApplyRun] {
        try read { db in
            var sql = "SELECT * FROM apply_run"
            var arguments: StatementArguments = []
            if let manifest {
                sql += " WHERE manifest = ?"
                arguments += [manifest]
            }
            sql += " ORDER BY started_at DESC, id DESC"
            if let limit {
                sql += " LIMIT ?"
                arguments += [max(0, limit)]
            }
            return try ApplyRunRecord.fetchAll(db, sql: sql, arguments: arguments).map { try $0.model() }
        }
    }

    // MARK: Audit

    /// Appends audit rows in one transaction: either all are stored or none.
    /// - Returns: the entries with their `id` filled in, in the given order.
    @discardableResult
    public func appendAudit(_ entries: [AuditEntry]) throws -> [AuditEntry] {
        let ids = try appendAuditRows(entries)
        return zip(entries, ids).map { entry, id in
            var copy = entry
            copy.id = id
            copy.at = Timestamp.normalized(entry.at)
            return copy
        }
    }

    /// Stores audit rows in one transaction, like ``appendAudit(_:)``, and returns only their ids
    /// (consecutive, in the order of `entries`): the apply path writes rows by the hundred
    /// thousand and keeps nothing of them but the ids.
    public func appendAuditRows(_ entries: [AuditEntry]) throws -> Range<Int64> {
        try write { db in
            // Many rows per statement, and what consecutive rows share (the run, the revision,
            // the result, the kernel call's duration…) bound once per statement: per statement
            // and per bound value, GRDB and SQLite do work that dominated an apply of 100 000
            // changes. Each row binds only its own six values.
            //
            // Rows come grouped by service: format each service's name once per run of rows.
            var lastService: (id: VirtualService.ID, value: DatabaseValue)? = nil
            func serviceValue(_ id: VirtualService.ID?) -> DatabaseValue {
                guard let id else { return .null }
                if let last = lastService, last.id == id { return last.value }
                let value = id.description.databaseValue
                lastService = (id, value)
                return value
            }
            var first: Int64? = nil
            var values: [DatabaseValue] = []
            var start = 0
            while start < entries.count {
                // The longest run of rows from `start` that share the per-statement values.
                let shared = AuditShared(entries[start])
                var end = start + 1
                while end < entries.count && end - start < Self.auditRowsPerInsert && AuditShared(entries[end]) == shared {
                    end += 1
                }
                let insert = try db.cachedStatement(sql: Self.auditInsertSQL(rows: end - start))
                values.removeAll(keepingCapacity: true)
                values.reserveCapacity(AuditShared.columns.count + (end - start) * Self.auditRowColumns.count)
                shared.append(to: &values)
                for entry in entries[start..<end] {
                    values.append(Timestamp.micros(entry.at).databaseValue)
                    values.append(entry.action.databaseValue)
                    values.append(serviceValue(entry.service))
                    values.append(entry.realServer?.description.databaseValue ?? .null)
                    values.append(entry.before.databaseValue)
                    values.append(entry.after.databaseValue)
                }
                try insert.execute(arguments: StatementArguments(values))
                // One writer at a time and no deletes in between: the rows got consecutive ids.
                if first == nil { first = db.lastInsertedRowID - Int64(end - start) + 1 }
                start = end
            }
            let from = first ?? 0
            return from..<(from + Int64(entries.count))
        }
    }

    /// Rows per multi-row INSERT (at most 8 + 256 × 6 values, well under SQLite's 32 766 variables).
    static let auditRowsPerInsert = 256

    /// The columns each row binds, in order.
    static let auditRowColumns = ["at", "action", "service", "real_server", "before_json", "after_json"]

    /// `INSERT … SELECT` of the shared values (bound first: their `?` come first in the text)
    /// and the rows' own values from a `VALUES` list, in order (so the ids follow `entries`).
    static func auditInsertSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: auditRowColumns.count).joined(separator: ",") + ")"
        let own = (1...auditRowColumns.count).map { "column\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO audit (\((AuditShared.columns + auditRowColumns).joined(separator: ", ")))
            SELECT \(Array(repeating: "?", count: AuditShared.columns.count).joined(separator: ", ")), \(own)
            FROM (VALUES \(Array(repeating: row, count: rows).joined(separator: ",")))
            """
    }

    /// Marks applied audit rows as `undone` after their run reversed them.
    /// - Returns: how many rows changed.
    @discardableResult
    public func markUndone(auditIDs: [Int64]) throws -> Int {
        try write { db in
            var changed = 0
            for id in auditIDs {
                try db.execute(
                    sql: "UPDATE audit SET result = 'undone' WHERE id = ? AND result = 'applied'", arguments: [id])
                changed += db.changesCount
            }
            return changed
        }
    }

    /// Audit rows matching `filter`.
    public func audit(_ filter: AuditFilter = AuditFilter()) throws -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let manifest = filter.manifest {
            conditions.append("manifest = ?")
            arguments += [manifest]
        }
        if let service = filter.service {
            conditions.append("service = ?")
            arguments += [service.description]
        }
        if let realServer = filter.realServer {
            conditions.append("real_server = ?")
            arguments += [realServer.description]
        }
        if let since = filter.since {
            conditions.append("at >= ?")
            arguments += [Timestamp.micros(since)]
        }
        if let until = filter.until {
            conditions.append("at < ?")
            arguments += [Timestamp.micros(until)]
        }
        if let runID = filter.runID {
            conditions.append("run_id = ?")
            arguments += [runID]
        }
        if let result = filter.result {
            conditions.append("result = ?")
            arguments += [result.rawValue]
        } else {
            // Intent rows are not history yet: a write in flight, or one of an interrupted run
            // that the next command resolves against the kernel.
            conditions.append("result <> 'planned'")
        }
        var sql = "SELECT * FROM audit"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += filter.order == .newestFirst ? " ORDER BY at DESC, id DESC" : " ORDER BY at ASC, id ASC"
        if let limit = filter.limit {
            sql += " LIMIT ?"
            arguments += [max(0, limit)]
        }
        let finalSQL = sql
        let finalArguments = arguments
        return try read { db in
            try AuditRecord.fetchAll(db, sql: finalSQL, arguments: finalArguments).map { try $0.model() }
        }
    }

    /// When lvsctl last changed this object: the newest `applied` audit row for the service
    /// (`realServer == nil`: rows about the service itself) or for one of its real servers.
    public func lastSet(service: VirtualService.ID, realServer: RealServer.ID? = nil) throws -> AuditEntry? {
        try read { db in
            try AuditRecord.fetchOne(
                db,
                sql: """
                    SELECT * FROM audit
                    WHERE result = 'applied' AND service = ? AND real_server IS ?
                    ORDER BY at DESC, id DESC LIMIT 1
                    """,
                arguments: [service.description, realServer?.description]
            )?.model()
        }
    }

    /// The newest `applied` audit row of every object (each service, and each real server of each
    /// service) lvsctl has changed, optionally limited to one service; sorted by service then real server.
    public func lastSetByObject(service: VirtualService.ID? = nil) throws -> [AuditEntry] {
        try read { db in
            let rows = try AuditRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM (
                        SELECT *, row_number() OVER (
                            PARTITION BY service, real_server ORDER BY at DESC, id DESC) AS rank
                        FROM audit
                        WHERE result = 'applied' AND service IS NOT NULL AND (?1 IS NULL OR service = ?1))
                    WHERE rank = 1
                    """,
                arguments: [service?.description])
            return try rows.map { try $0.model() }.sorted { a, b in
                guard let sa = a.service, let sb = b.service else { return false }
                if sa != sb { return sa < sb }
                switch (a.realServer, b.realServer) {
                case (nil, nil): return false
                case (nil, _): return true
                case (_, nil): return false
                case (let ra?, let rb?): return ra < rb
                }
            }
        }
    }
}

/// The values of an audit row that the rows of one apply mostly share, bound once per INSERT.
private struct AuditShared: Equatable {
    static let columns = ["run_id", "revision_id", "manifest", "result", "errno", "kernel_error", "duration_us", "origin"]

    var runID: Int64
    var revisionID: Int64?
    var manifest: String
    var result: AuditEntry.Result
    var errno: Int32?
    var kernelError: String?
    var durationMicroseconds: Int64
    var origin: ChangeOrigin

    init(_ e: AuditEntry) {
        runID = e.runID
        revisionID = e.revisionID
        manifest = e.manifest
        result = e.result
        errno = e.errno
        kernelError = e.kernelError
        durationMicroseconds = e.durationMicroseconds
        origin = e.origin
    }

    /// In the order of `columns`.
    func append(to values: inout [DatabaseValue]) {
        values.append(runID.databaseValue)
        values.append(revisionID.databaseValue)
        values.append(manifest.databaseValue)
        values.append(result.rawValue.databaseValue)
        values.append(errno.databaseValue)
        values.append(kernelError.databaseValue)
        values.append(durationMicroseconds.databaseValue)
        values.append(origin.rawValue.databaseValue)
    }
}
