import Foundation

/// Timestamps are stored as integer microseconds since the Unix epoch (UTC).
enum Timestamp {
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// Rounds a date to the stored precision, so values read back compare equal to values written.
    static func normalized(_ date: Date) -> Date { self.date(micros(date)) }
}
