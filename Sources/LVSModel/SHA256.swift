/// SHA-256 (FIPS 180-4), for content hashes of manifests and fingerprints of live tables.
/// Small enough to keep here rather than pull a crypto package into every target.
public enum SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The 32-byte digest of `data`.
    public static func digest(_ data: [UInt8]) -> [UInt8] { data.withUnsafeBytes(digest) }

    /// The 32-byte digest of the UTF-8 of `text`, read in place (no copy of a large text).
    public static func digest(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { digest(UnsafeRawBufferPointer($0)) }
    }

    /// The 32-byte digest of `message`.
    public static func digest(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = Hasher()
        hasher.update(message)
        return hasher.finalize()
    }

    /// SHA-256 of a message given in pieces, for text written in chunks that is never whole in
    /// memory (the canonical form of a large manifest):
    ///
    ///     var hasher = SHA256.Hasher()
    ///     hasher.update(firstChunk)
    ///     hasher.update(secondChunk)
    ///     let hex = hasher.finalizeHex()
    public struct Hasher: Sendable {
        private var state = State()
        /// Bytes of an incomplete block, waiting for the next piece.
        private var pending: [UInt8] = []
        private var length: UInt64 = 0

        public init() { pending.reserveCapacity(64) }

        /// Adds the next piece of the message.
        public mutating func update(_ piece: UnsafeRawBufferPointer) {
            guard piece.count > 0 else { return }
            length &+= UInt64(piece.count)
            var offset = 0
            if !pending.isEmpty {
                let take = min(64 - pending.count, piece.count)
                pending.append(contentsOf: piece[0..<take])
                offset = take
                guard pending.count == 64 else { return }
                let block = pending
                pending.removeAll(keepingCapacity: true)
                block.withUnsafeBytes { compress($0) }
            }
            // Whole blocks are read in place; hashing the canonical form of a large manifest spent
            // most of its time copying the message when it was copied first.
            let whole = (piece.count - offset) / 64 * 64
            if whole > 0 { compress(UnsafeRawBufferPointer(rebasing: piece[offset..<offset + whole])) }
            pending.append(contentsOf: piece[(offset + whole)...])
        }

        /// The 32-byte digest of everything added.
        public mutating func finalize() -> [UInt8] {
            let bitLength = length &* 8
            var tail = pending
            tail.append(0x80)
            let end = tail.count <= 56 ? 64 : 128
            tail.append(contentsOf: repeatElement(0, count: end - tail.count))
            for i in 0..<8 { tail[end - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8)) }
            pending = []
            tail.withUnsafeBytes { compress($0) }
            var out: [UInt8] = []
            out.reserveCapacity(32)
            for word in [state.a, state.b, state.c, state.d, state.e, state.f, state.g, state.h] {
                out += [UInt8(word >> 24), UInt8((word >> 16) & 0xff), UInt8((word >> 8) & 0xff), UInt8(word & 0xff)]
            }
            return out
        }

        /// The digest as 64 lowercase hex digits.
        public mutating func finalizeHex() -> String { SHA256.hex(digest: finalize()) }

        /// Processes `blocks`, a whole number of 64-byte blocks.
        private mutating func compress(_ blocks: UnsafeRawBufferPointer) {
            k.withUnsafeBufferPointer { k in
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                    for offset in stride(from: 0, to: blocks.count, by: 64) {
                        state.compress(blocks.baseAddress! + offset, w, k)
                    }
                }
            }
        }
    }

    /// The digest as 64 lowercase hex digits.
    public static func hex(_ data: [UInt8]) -> String { hex(digest: digest(data)) }

    /// The digest of the UTF-8 of `text` as 64 lowercase hex digits.
    public static func hex(_ text: String) -> String { hex(digest: digest(text)) }

    private static func hex(digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hash value H(0)...H(7) between blocks.
    private struct State {
        var a: UInt32 = 0x6a09e667, b: UInt32 = 0xbb67ae85, c: UInt32 = 0x3c6ef372, d: UInt32 = 0xa54ff53a
        var e: UInt32 = 0x510e527f, f: UInt32 = 0x9b05688c, g: UInt32 = 0x1f83d9ab, h: UInt32 = 0x5be0cd19

        /// Processes the 64-byte block at `block`; `w` is scratch space for the message schedule.
        @inline(__always)
        mutating func compress(_ block: UnsafeRawPointer, _ w: UnsafeMutableBufferPointer<UInt32>,
                               _ k: UnsafeBufferPointer<UInt32>) {
            let w = w.baseAddress!, k = k.baseAddress!
            for i in 0..<16 {
                w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            }
            for i in 16..<64 {
                let s0 = SHA256.rotr(w[i - 15], 7) ^ SHA256.rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = SHA256.rotr(w[i - 2], 17) ^ SHA256.rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var a = self.a, b = self.b, c = self.c, d = self.d, e = self.e, f = self.f, g = self.g, hh = self.h
            for i in 0..<64 {
                let s1 = SHA256.rotr(e, 6) ^ SHA256.rotr(e, 11) ^ SHA256.rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                let s0 = SHA256.rotr(a, 2) ^ SHA256.rotr(a, 13) ^ SHA256.rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
            }
            self.a &+= a; self.b &+= b; self.c &+= c; self.d &+= d
            self.e &+= e; self.f &+= f; self.g &+= g; self.h &+= hh
        }
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
}
