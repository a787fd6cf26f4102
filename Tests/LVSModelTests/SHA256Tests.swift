import LVSModel
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    @Test func fipsVectors() {
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let twoBlocks = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(SHA256.hex(Array(twoBlocks.utf8)) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every message length from 0 to 300 bytes (each padding case, one to five blocks), pinned.
    @Test func everyLengthAroundTheBlockBoundaries() {
        var all = ""
        for n in 0...300 {
            let message = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) }
            let hex = SHA256.hex(message)
            #expect(hex.count == 64)
            #expect(SHA256.digest(message).map { String($0, radix: 16) }.count == 32)
            all += hex
            let text = String(decoding: message.map { $0 & 0x7F }, as: UTF8.self)
            #expect(SHA256.hex(text) == SHA256.hex(Array(text.utf8)))
        }
        #expect(SHA256.hex(Array(all.utf8)) == "284ead8c9cbbafd0cb341a09d1e7b0054ff2b3ab8fe48cb3ef085117f87511fb")
    }

    /// A message given in pieces hashes as the whole: every split of each length around the
    /// block boundaries into two pieces, and pieces of every size from 1 to 70 bytes.
    @Test func piecesHashAsTheWhole() {
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 200] {
            let message = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            let whole = SHA256.hex(message)
            for split in 0...n {
                var hasher = SHA256.Hasher()
                message[..<split].withUnsafeBytes { hasher.update($0) }
                message[split...].withUnsafeBytes { hasher.update($0) }
                #expect(hasher.finalizeHex() == whole, "length \(n), split at \(split)")
            }
            for size in 1...70 {
                var hasher = SHA256.Hasher()
                for start in stride(from: 0, to: n, by: size) {
                    message[start..<min(start + size, n)].withUnsafeBytes { hasher.update($0) }
                }
                #expect(hasher.finalizeHex() == whole, "length \(n), pieces of \(size)")
            }
        }
    }
}
