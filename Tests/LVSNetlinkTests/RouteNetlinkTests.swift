import Testing

@testable import LVSNetlink

/// The rtnetlink structures `lvsctl realserver` sends, byte for byte (little-endian x86-64).
@Suite struct RouteNetlinkTests {
    @Test func ifaddrmsgForAVIPOnLo() {
        // struct ifaddrmsg { family, prefixlen, flags, scope, index }: AF_INET 10.10.0.100/32 on lo.
        #expect(RouteNetlink.ifaddrmsg(family: 2, prefixLength: 32, flags: 0, index: 1) == [2, 32, 0, 0, 1, 0, 0, 0])
    }

    @Test func ifinfomsgBringingALinkUp() {
        // struct ifinfomsg { family, pad, type, index, flags, change }: index 2, IFF_UP in flags and change.
        #expect(RouteNetlink.ifinfomsg(index: 2, flags: 1, change: 1) == [0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    }

    @Test func attributesArePaddedToFourBytes() {
        var b: [UInt8] = []
        RouteNetlink.appendAttribute(&b, type: 2, [10, 10, 0, 100])
        RouteNetlink.appendAttribute(&b, type: 3, Array("lo".utf8) + [0])
        #expect(b == [8, 0, 2, 0, 10, 10, 0, 100, 7, 0, 3, 0, 0x6c, 0x6f, 0, 0])
        // Read back as an address reply's attributes are (after the 8-byte ifaddrmsg).
        let read = NetlinkAttributes([0, 0, 0, 0, 0, 0, 0, 0] + b, start: 8, end: 8 + b.count)
        #expect(read.types == [2, 3])
        #expect(read[2] == [10, 10, 0, 100] && read[3] == [0x6c, 0x6f, 0])
    }
}
