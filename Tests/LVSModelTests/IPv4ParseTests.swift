#if canImport(Glibc)
import Glibc
#endif
import LVSModel
import Testing

/// The one-pass IPv4 parser agrees with inet_pton(3) on every string it is given.
@Suite struct IPv4ParseTests {
    static func pton(_ s: String) -> UInt32? {
        var addr = in_addr()
        guard inet_pton(AF_INET, s, &addr) == 1 else { return nil }
        return UInt32(bigEndian: addr.s_addr)
    }

    @Test func agreesWithInetPton() {
        var fixed = ["0.0.0.0", "255.255.255.255", "1.2.3.4", "01.2.3.4", "1.2.3.04", "1.2.3.0", "1.2.3", "1.2.3.4.5",
                     "1..3.4", ".1.2.3", "1.2.3.", "256.1.1.1", "1.2.3.1000", "", "....", "1.2.3.4 ", "0.00.0.0", "00.0.0.0"]
        // Seeded random strings over digits and dots (xorshift: the same cases every run).
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let alphabet = Array("0123456789..")
        for _ in 0..<20_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let length = Int(state % 16)
            var s = ""
            var r = state
            for _ in 0..<length {
                r = r &* 6364136223846793005 &+ 1442695040888963407
                s.append(alphabet[Int(r >> 33) % alphabet.count])
            }
            fixed.append(s)
        }
        for s in fixed {
            let ours: UInt32? = { if case .v4(let v)? = IPAddress(s) { return v } else { return nil } }()
            #expect(ours == Self.pton(s), "\(s)")
        }
    }
}
