import Foundation
import GRDB
import LVSModel

/// The outcome of one kernel write, for the intent row stored before it was sent.
public struct IntentOutcome: Hashable, Sendable {
    /// The audit row (its intent).
    public var id: Int64
    /// `.applied` or `.failed`.
    public var result: AuditEntry.Result
    public var errno: Int32?
    public var kernelError: String?
    public var durationMicroseconds: Int64

    public init(id: Int64, result: AuditEntry.Result, errno: Int32? = nil, kernelError: String? = nil, durationMicroseconds: Int64) {
        precondition(result != .planned, "an outcome is applied or failed")
        self.id = id
        self.result = result
        self.errno = errno
        self.kernelError = kernelError
        self.durationMicroseconds = durationMicroseconds
    }
}

extension Store {
    // MARK: Intent before writing
    //
    // An apply stores an audit row for every kernel write it plans (result `planned`) before the
    // first write, in the transaction that begins its run, and marks the rows with their
    // outcomes as the kernel answers, one transaction per batch. What must stay true: at every
    // moment, a kernel write that may have been sent has a row, `planned` or with its outcome.

    /// Records the outcomes of kernel writes whose intent rows are stored, in one transaction.
    ///
    /// Only the result, errno, kernel error and duration change (not `at`, the time the write
    /// was planned: the columns the indexes hold stay put, so a mark costs a row update). Runs
    /// of consecutive ids with the same plain outcome are one statement each.
    public func markOutcomes(_ outcomes: [IntentOutcome]) throws {
        guard !outcomes.isEmpty else { return }
        try write { db in
            var start = 0
            while start < outcomes.count {
                let first = outcomes[start]
                var end = start + 1
                if first.errno == nil && first.kernelError == nil {
                    while end < outcomes.count, outcomes[end].id == outcomes[end - 1].id + 1,
                        outcomes[end].result == first.result, outcomes[end].errno == nil,
                        outcomes[end].kernelError == nil,
                        outcomes[end].durationMicroseconds == first.durationMicroseconds
                    {
                        end += 1
                    }
                }
                try db.execute(
                    sql: """
                        UPDATE audit SET result = ?, errno = ?, kernel_error = ?, duration_us = ?
                        WHERE id BETWEEN ? AND ? AND result = 'planned'
                        """,
                    arguments: [
                        first.result.rawValue, first.errno, first.kernelError, max(0, first.durationMicroseconds),
                        first.id, outcomes[end - 1].id,
                    ])
                start = end
            }
        }
    }

    /// Deletes intent rows (still `planned`) of writes that were never sent: the audit has one
    /// row per write that reached the kernel, and these did not.
    /// - Returns: how many rows were deleted.
    @discardableResult
    public func deletePlanned(_ ids: [Int64]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try write { db in
            var deleted = 0
            var start = 0
            let sorted = ids.sorted()
            while start < sorted.count {
                var end = start + 1
                while end < sorted.count, sorted[end] == sorted[end - 1] + 1 { end += 1 }
                try db.execute(
                    sql: "DELETE FROM audit WHERE id BETWEEN ? AND ? AND result = 'planned'",
                    arguments: [sorted[start], sorted[end - 1]])
                deleted += db.changesCount
                start = end
            }
            return deleted
        }
    }

    /// Deletes the intent rows of `runID` still `planned` (at the end of a run: writes never sent).
    @discardableResult
    public func deletePlanned(runID: Int64) throws -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM audit WHERE run_id = ? AND result = 'planned'", arguments: [runID])
            return db.changesCount
        }
    }

    /// The intent rows of a run still `planned`, oldest first.
    public func plannedRows(runID: Int64) throws -> [AuditEntry] {
        try audit(AuditFilter(runID: runID, result: .planned, order: .oldestFirst))
    }

    /// Runs still `running`, oldest first: in progress in another process (it holds the writer
    /// lock), or interrupted (nobody holds it).
    public func runningRuns() throws -> [ApplyRun] {
        try read { db in
            try ApplyRunRecord.fetchAll(db, sql: "SELECT * FROM apply_run WHERE status = 'running' ORDER BY id")
                .map { try $0.model() }
        }
    }

    /// Whether any run is still `running` (one indexed-free lookup on a small table; cheap
    /// enough for every command).
    public func hasRunningRun() throws -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM apply_run WHERE status = 'running')") ?? false }
    }

    /// Closes an interrupted run as failed with `error`. Only for a caller that holds the writer
    /// lock and has resolved the run's intent rows.
    public func closeInterrupted(_ id: Int64, error: String) throws {
        let now = Timestamp.micros(self.now)
        try write { db in
            try db.execute(
                sql: """
                    UPDATE apply_run SET status = 'failed', finished_at = max(?, started_at), error = ?
                    WHERE id = ? AND status = 'running'
                    """,
                arguments: [now, error, id])
        }
    }
}
