// Generic netlink attribute parsing (pure Swift, no libnl), shared by the reply decoders.
import LVSModel

/// A view of an attribute stream inside a message's bytes: the last attribute of a type wins,
/// nested streams are views of the same bytes. Nothing is copied or allocated per attribute: a
/// whole-table read decodes over a hundred thousand of these.
/// The flag bits `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` are masked off; unknown types are
/// skipped. A truncated attribute ends the stream.
///
/// The stream is walked once, when the view is made: where the last attribute of each type below
/// ``indexedTypes`` starts is kept inline (every IPVS attribute type is below it), so a lookup
/// costs the same however many attributes the stream has (a real server's reply has about twenty,
/// and its decoder looks up each of them).
public struct NetlinkAttributes: Sendable {
    private let bytes: [UInt8]
    private let start: Int
    private let end: Int
    /// Offset of the last attribute of each type below `indexedTypes`; -1 when absent.
    private var offsets: InlineArray<32, Int32>

    /// Attribute types the view indexes; larger ones are found by scanning.
    static let indexedTypes = 32

    public init(_ bytes: [UInt8]) {
        self.init(bytes, start: 0, end: bytes.count)
    }

    init(_ bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.start = start
        self.end = end
        offsets = InlineArray(repeating: -1)
        var off = start
        while off + 4 <= end {
            let len = Int(readLE16(bytes, off))
            guard len >= 4, off + len <= end else { break }
            let type = Int(readLE16(bytes, off + 2) & 0x3fff)
            if type < Self.indexedTypes { offsets[type] = Int32(off) }
            off += (len + 3) & ~3
        }
    }

    /// Where the payload of the last attribute of `type` lies in `bytes`.
    private func range(_ type: UInt16) -> Range<Int>? {
        if Int(type) < Self.indexedTypes {
            let off = Int(offsets[Int(type)])
            guard off >= 0 else { return nil }
            return (off + 4)..<(off + Int(readLE16(bytes, off)))
        }
        var found: Range<Int>? = nil
        var off = start
        while off + 4 <= end {
            let len = Int(readLE16(bytes, off))
            guard len >= 4, off + len <= end else { break }
            if readLE16(bytes, off + 2) & 0x3fff == type { found = (off + 4)..<(off + len) }
            off += (len + 3) & ~3
        }
        return found
    }

    /// The payload of the last attribute of `type`, copied.
    public subscript(_ type: UInt16) -> [UInt8]? { range(type).map { Array(bytes[$0]) } }

    /// Every attribute type present, in stream order (repeats included).
    public var types: [UInt16] {
        var out: [UInt16] = []
        var off = start
        while off + 4 <= end {
            let len = Int(readLE16(bytes, off))
            guard len >= 4, off + len <= end else { break }
            out.append(readLE16(bytes, off + 2) & 0x3fff)
            off += (len + 3) & ~3
        }
        return out
    }

    func u8(_ t: UInt16) -> UInt8? { range(t).flatMap { $0.count >= 1 ? bytes[$0.lowerBound] : nil } }
    func u16(_ t: UInt16) -> UInt16? { range(t).flatMap { $0.count >= 2 ? readLE16(bytes, $0.lowerBound) : nil } }
    func u32(_ t: UInt16) -> UInt32? { u32(t, at: 0) }
    /// The u32 at byte `offset` of the payload (`ip_vs_flags` is a flags word and a mask word).
    func u32(_ t: UInt16, at offset: Int) -> UInt32? {
        range(t).flatMap { $0.count >= offset + 4 ? readLE32(bytes, $0.lowerBound + offset) : nil }
    }
    func u64(_ t: UInt16) -> UInt64? {
        range(t).flatMap { r in
            r.count >= 8 ? UInt64(readLE32(bytes, r.lowerBound)) | UInt64(readLE32(bytes, r.lowerBound + 4)) << 32 : nil
        }
    }
    /// A big-endian u16 (ports).
    func be16(_ t: UInt16) -> UInt16? {
        range(t).flatMap { $0.count >= 2 ? UInt16(bytes[$0.lowerBound]) << 8 | UInt16(bytes[$0.lowerBound + 1]) : nil }
    }
    /// A NUL-terminated (or unterminated) string.
    func string(_ t: UInt16) -> String? {
        range(t).map { r in String(decoding: bytes[r].prefix { $0 != 0 }, as: UTF8.self) }
    }
    /// An address of `family` in network byte order (IPv4 comes in the first 4 bytes of a
    /// 16-byte field).
    func address(_ t: UInt16, family: IPFamily) -> IPAddress? {
        guard let r = range(t) else { return nil }
        let o = r.lowerBound
        switch family {
        case .ipv4:
            guard r.count >= 4 else { return nil }
            return .v4(UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3]))
        case .ipv6:
            return r.count >= 16 ? IPAddress(family: .ipv6, bytes: bytes[o..<(o + 16)]) : nil
        }
    }
    func nested(_ t: UInt16) -> NetlinkAttributes? {
        range(t).map { NetlinkAttributes(bytes, start: $0.lowerBound, end: $0.upperBound) }
    }
}

extension NetlinkAttributes: Hashable {
    /// Equal when they hold the same attribute bytes.
    public static func == (a: NetlinkAttributes, b: NetlinkAttributes) -> Bool {
        a.bytes[a.start..<a.end].elementsEqual(b.bytes[b.start..<b.end])
    }
    public func hash(into h: inout Hasher) {
        for b in bytes[start..<end] { h.combine(b) }
    }
}

@inline(__always) func readLE16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
@inline(__always) func readLE32(_ b: [UInt8], _ o: Int) -> UInt32 {
    UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
}
