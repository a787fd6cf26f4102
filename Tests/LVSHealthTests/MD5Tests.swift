import LVSHealth
import Testing

@Suite struct MD5Tests {
    struct Vector: Sendable, CustomStringConvertible {
        var input: String
        var hex: String
        var description: String { "\"\(input.prefix(20))\"" }
    }

    /// The test suite of RFC 1321, appendix A.5.
    @Test(arguments: [
        Vector(input: "", hex: "d41d8cd98f00b204e9800998ecf8427e"),
        Vector(input: "a", hex: "0cc175b9c0f1b6a831c399e269772661"),
        Vector(input: "abc", hex: "900150983cd24fb0d6963f7d28e17f72"),
        Vector(input: "message digest", hex: "f96b697d7cb7938d525a2f31aaf161d0"),
        Vector(input: "abcdefghijklmnopqrstuvwxyz", hex: "c3fcd3d76192e4007dfb496cca67e13b"),
        Vector(
            input: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            hex: "d174ab98d277d9f5a5611c2c9f419d9f"),
        Vector(input: String(repeating: "1234567890", count: 8), hex: "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func rfc1321(_ v: Vector) {
        #expect(MD5.hex(Array(v.input.utf8)) == v.hex)
    }

    @Test func paddingBoundaries() {
        // 55, 56 and 64 bytes straddle the padding boundary; expected values from md5sum(1).
        #expect(MD5.hex(Array(repeating: 0x61, count: 55)) == "ef1772b6dff9a122358552954ad0df65")
        #expect(MD5.hex(Array(repeating: 0x61, count: 56)) == "3b0c8ac703f828b04c6c197006d17218")
        #expect(MD5.hex(Array(repeating: 0x61, count: 64)) == "014842d480b571495a4a0363793f7367")
    }
}
