// Generic netlink attribute parsing (pure Swift, no libnl), shared by the reply decoders.
/// A parsed attribute stream: type → payload (the last one wins for repeated types). The flag bits
/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` are masked off; unknown types are kept and ignored.
public struct NetlinkAttributes: Hashable, Sendable {
    public var values: [UInt16: [UInt8]] = [:]

    public init(_ bytes: [UInt8]) {
        var off = 0
        while off + 4 <= bytes.count {
            let len = Int(readLE16(bytes, off))
            let type = readLE16(bytes, off + 2) & 0x3fff
            guard len >= 4, off + len <= bytes.count else { break }
            values[type] = Array(bytes[(off + 4)..<(off + len)])
            off += (len + 3) & ~3
        }
    }

    public subscript(_ type: UInt16) -> [UInt8]? { values[type] }

    func u8(_ t: UInt16) -> UInt8? { values[t].flatMap { $0.count >= 1 ? $0[0] : nil } }
    func u16(_ t: UInt16) -> UInt16? { values[t].flatMap { $0.count >= 2 ? readLE16($0, 0) : nil } }
    func u32(_ t: UInt16) -> UInt32? { values[t].flatMap { $0.count >= 4 ? readLE32($0, 0) : nil } }
    func u64(_ t: UInt16) -> UInt64? {
        values[t].flatMap { $0.count >= 8 ? UInt64(readLE32($0, 0)) | UInt64(readLE32($0, 4)) << 32 : nil }
    }
    /// A big-endian u16 (ports).
    func be16(_ t: UInt16) -> UInt16? { values[t].flatMap { $0.count >= 2 ? UInt16($0[0]) << 8 | UInt16($0[1]) : nil } }
    /// A NUL-terminated (or unterminated) string.
    func string(_ t: UInt16) -> String? {
        values[t].map { b in String(decoding: b.prefix { $0 != 0 }, as: UTF8.self) }
    }
    func nested(_ t: UInt16) -> NetlinkAttributes? { values[t].map { NetlinkAttributes($0) } }
}

@inline(__always) func readLE16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
@inline(__always) func readLE32(_ b: [UInt8], _ o: Int) -> UInt32 {
    UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
}
