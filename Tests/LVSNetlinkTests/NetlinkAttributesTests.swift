import Testing

@testable import LVSNetlink

/// `NetlinkAttributes` indexes the types below 32 when it is made and scans for the rest: both
/// must see the stream the same way (last attribute of a type wins, flag bits masked, a truncated
/// attribute ends the stream).
struct NetlinkAttributesTests {
    /// One attribute: length, type (little-endian), payload, padding to 4 bytes.
    static func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let len = UInt16(4 + payload.count)
        var out = [UInt8(len & 0xff), UInt8(len >> 8), UInt8(type & 0xff), UInt8(type >> 8)] + payload
        while out.count % 4 != 0 { out.append(0) }
        return out
    }

    @Test(arguments: [UInt16(1), 7, 31, 32, 33, 200])
    func lastOfATypeWinsIndexedOrNot(type: UInt16) {
        let stream = Self.attribute(type, [1, 0, 0, 0]) + Self.attribute(5, [9]) + Self.attribute(type | 0x8000, [2, 0, 0, 0])
        let attrs = NetlinkAttributes(stream)
        #expect(attrs.u32(type) == 2, "the second one, its NLA_F_NESTED bit masked off")
        #expect(attrs.u8(5) == 9)
        #expect(attrs.u32(type &+ 1) == nil)
        #expect(attrs.types == [type, 5, type])
    }

    @Test func aTruncatedAttributeEndsTheStream() {
        var stream = Self.attribute(3, [1, 0]) + Self.attribute(40, [7, 0, 0, 0])
        stream += [200, 0, 4, 0, 1, 2]  // claims 200 bytes, has 6
        let attrs = NetlinkAttributes(stream)
        #expect(attrs.u16(3) == 1)
        #expect(attrs.u32(40) == 7)
        #expect(attrs.u16(4) == nil)
        #expect(attrs.types == [3, 40])
    }

    @Test func nestedStreamsAreIndexedOnTheirOwn() {
        let inner = Self.attribute(2, [5, 0, 0, 0]) + Self.attribute(34, [6, 0, 0, 0])
        let stream = Self.attribute(2, [1, 0, 0, 0]) + Self.attribute(1 | 0x8000, inner)
        let attrs = NetlinkAttributes(stream)
        #expect(attrs.u32(2) == 1)
        #expect(attrs.nested(1)?.u32(2) == 5)
        #expect(attrs.nested(1)?.u32(34) == 6)
        #expect(attrs.nested(1)?.u32(1) == nil)
    }
}
