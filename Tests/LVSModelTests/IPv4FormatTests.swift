import LVSModel
import Testing

@Suite struct IPv4FormatTests {
    /// The digit-by-digit formatter against the plain interpolated dotted quad, on every octet
    /// value in every position and on random addresses.
    @Test func dottedQuadMatchesInterpolation() {
        func reference(_ v: UInt32) -> String { "\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff).\(v & 0xff)" }
        var values: [UInt32] = [0, 0xffff_ffff, 0x0a00_0001, 0x6464_0a09]
        for octet in UInt32(0)...255 {
            values += [octet << 24, octet << 16 | 0x0100_0001, octet << 8, octet]
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 { values.append(rng.next()) }
        for v in values {
            #expect(IPAddress.v4(v).description == reference(v))
        }
    }
}
