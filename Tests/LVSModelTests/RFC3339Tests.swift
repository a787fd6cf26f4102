import LVSModel
import Testing

/// The one form of a time in machine output: RFC 3339 in UTC, whole seconds without a fraction,
/// milliseconds otherwise; what it writes parses back to the same text.
@Suite struct RFC3339Tests {
    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00Z"),
        (1_780_000_000, "2026-05-28T20:26:40Z"),
        (1_780_000_000.25, "2026-05-28T20:26:40.250Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (-0.5, "1969-12-31T23:59:59.500Z"),
        (4_102_444_799.999, "2099-12-31T23:59:59.999Z"),
    ])
    func writesAndReadsBack(_ t: Double, _ text: String) {
        #expect(RFC3339.string(t) == text)
        #expect(RFC3339.parse(text) == t)
        #expect(RFC3339.string(RFC3339.parse(text) ?? .nan) == text)
    }

    @Test func truncatesToTheMillisecond() {
        #expect(RFC3339.string(1_780_000_000.2509) == "2026-05-28T20:26:40.250Z")
        #expect(RFC3339.string(1_780_000_000.123) == "2026-05-28T20:26:40.123Z")
        for t in stride(from: 1_780_000_000.0, to: 1_780_000_001.0, by: 0.000_37) {
            let back = RFC3339.parse(RFC3339.string(t)) ?? .nan
            #expect(back <= t + 1e-6 && t - back < 0.001, "\(t)")
        }
    }

    @Test func readsOffsetsAndLongerFractions() {
        #expect(RFC3339.parse("2026-05-28T22:26:40+02:00") == 1_780_000_000)
        #expect(RFC3339.parse("2026-05-28T20:26:40.123456Z") == 1_780_000_000.123)
        #expect(RFC3339.parse("2026-05-28t20:26:40z") == 1_780_000_000)
    }

    @Test(arguments: ["", "2026-05-28", "2026-05-28T20:26:40", "2026-13-01T00:00:00Z", "2026-05-28T20:26:40.Z", "1780000000", "2026-05-28T20:26:40Zx"])
    func refusesAnythingElse(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
