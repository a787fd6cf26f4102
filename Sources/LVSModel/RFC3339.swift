/// RFC 3339 timestamps in UTC (`2026-11-25T16:50:02Z`, `2026-11-25T16:50:02.250Z`): the one
/// form of a time in every machine format. Pure (no Foundation), so the planner's values can be
/// written without it.
///
/// What must stay true: whole seconds are written without a fraction, anything else with
/// milliseconds; `string(parse(string(t)))` equals `string(t)` (saved plans are digested over
/// their re-encoded text); `parse(string(t)) <= t`.
public enum RFC3339 {
    /// `t` seconds since 1970-01-01T00:00:00Z, to the millisecond, truncated (never later than
    /// `t`: a time copied from the output into `--since` still includes its own row). Floating
    /// noise below a microsecond is not truncated away.
    public static func string(_ t: Double) -> String {
        let ms = Int64((t * 1000 + 0.0005).rounded(.down))
        var seconds = ms / 1000
        var fraction = ms % 1000
        if fraction < 0 {
            fraction += 1000
            seconds -= 1
        }
        var days = seconds / 86400
        var rest = seconds % 86400
        if rest < 0 {
            rest += 86400
            days -= 1
        }
        let (y, m, d) = civil(days)
        var out = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        out += pad(rest / 3600, 2) + ":" + pad(rest / 60 % 60, 2) + ":" + pad(rest % 60, 2)
        if fraction != 0 { out += "." + pad(fraction, 3) }
        return out + "Z"
    }

    /// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`; nil for anything else.
    public static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var n: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                n = n * 10 + Int64(b[i] - 0x30)
            }
            return n
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard let y = number(0, 4), at(4, "-"), let mo = number(5, 2), at(7, "-"), let d = number(8, 2),
            at(10, "T") || at(10, "t"), let h = number(11, 2), at(13, ":"), let mi = number(14, 2), at(16, ":"),
            let s = number(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if at(i, ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset: Int64 = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-"), let oh = number(i + 1, 2), at(i + 3, ":"), let om = number(i + 4, 2) {
            offset = (oh * 60 + om) * 60 * (at(i, "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        let whole = days * 86400 + h * 3600 + mi * 60 + s - offset
        // Milliseconds, as written: a parsed value writes back the same text.
        return (Double(whole) * 1000 + (fraction * 1000).rounded()) / 1000
    }

    private static func pad(_ n: Int64, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    private static func civil(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Days since 1970-01-01 of a civil date (`days_from_civil`).
    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
