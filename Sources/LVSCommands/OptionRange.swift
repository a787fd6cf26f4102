import ArgumentParser
import LVSModel

/// The one check every numeric command-line option goes through: a finite value within the
/// option's range, or a usage error (exit 64) naming the option, the value and the range.
///
/// `nan`, `inf` and `1e300` parse as numbers; unchecked, they trapped converting to an integer
/// or a `Duration` (`--lock-timeout nan` crashed apply after its writes).
enum OptionRange {
    /// Seconds to wait for the writer lock.
    static let lockTimeout: ClosedRange<Double> = 0...86_400
    /// Seconds to wait for drains (apply --wait, drain --wait).
    static let waitTimeout: ClosedRange<Double> = 0...604_800
    /// The daemon's interval between passes.
    static let interval: ClosedRange<Double> = 0.1...86_400
    /// A duration ago (`history --since 7d`): up to 100 years.
    static let durationAgo: ClosedRange<Double> = 0...3_155_760_000
    /// The drain timeout of removed real servers (as a manifest's `drain.timeout`).
    static let drainTimeout: ClosedRange<UInt32> = 0...604_800
    static let maxRemoval: ClosedRange<Double> = 0...100
    /// Rows of history.
    static let limit: ClosedRange<Int> = 1...10_000_000

    /// `value` when it is finite and within `range`; else a usage error. `written` is the value
    /// as the operator wrote it, when that is not `value` itself (`7d` for 604800 seconds).
    @discardableResult
    static func check(
        _ value: Double, _ option: String, _ range: ClosedRange<Double>, unit: String = "seconds", written: String? = nil
    ) throws -> Double {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError(
                "\(option) \(written.map { Escaped.excerpt($0) } ?? format(value)): use \(unit) from \(format(range.lowerBound)) to \(format(range.upperBound))")
        }
        return value
    }

    @discardableResult
    static func check<T: BinaryInteger>(_ value: T, _ option: String, _ range: ClosedRange<T>, unit: String) throws -> T {
        guard range.contains(value) else {
            throw ValidationError("\(option) \(value): use \(unit) from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `30`, `0.5`, `nan`, `inf`, `1e+300`.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
