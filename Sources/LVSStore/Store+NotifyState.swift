import Foundation
import GRDB

extension Store {
    // MARK: Notification states

    /// The last state reported per notification subject (`REALSERVER tcp/10.0.0.1:80/10.0.0.11:80`
    /// → `DOWN`), for the daemon's notifier to start from after a restart.
    public func notifyStates() throws -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT subject, state FROM notify_state")
            while let row = try rows.next() { out[row[0]] = row[1] }
            return out
        }
    }

    /// Records that `subject` was reported in `state`.
    public func setNotifyState(subject: String, state: String, at: Date? = nil) throws {
        let sentAt = Timestamp.micros(at ?? now)
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO notify_state (subject, state, sent_at) VALUES (?, ?, ?)
                    ON CONFLICT (subject) DO UPDATE SET state = excluded.state, sent_at = excluded.sent_at
                    """,
                arguments: [subject, state, sentAt])
        }
    }
}
