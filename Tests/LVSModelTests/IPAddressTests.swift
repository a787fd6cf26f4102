import LVSModel
import Testing

@Suite struct IPAddressTests {
    struct Case: Sendable, CustomStringConvertible {
        let input: String
        let canonical: String?
        var description: String { input }
    }

    @Test(arguments: [
        Case(input: "10.0.0.1", canonical: "10.0.0.1"),
        Case(input: "255.255.255.255", canonical: "255.255.255.255"),
        Case(input: "010.0.0.1", canonical: nil),
        Case(input: "10.0.0", canonical: nil),
        Case(input: "10.0.0.256", canonical: nil),
        Case(input: "2001:db8::1", canonical: "2001:db8::1"),
        Case(input: "2001:0db8:0000:0000:0000:0000:0000:0001", canonical: "2001:db8::1"),
        Case(input: "::", canonical: "::"),
        Case(input: "::1", canonical: "::1"),
        Case(input: "fe80::", canonical: "fe80::"),
        Case(input: "1:0:0:1:0:0:0:1", canonical: "1:0:0:1::1"),
        Case(input: "1:0:1:0:1:0:1:0", canonical: "1:0:1:0:1:0:1:0"),
        Case(input: "::ffff:10.1.2.3", canonical: "::ffff:10.1.2.3"),
        Case(input: "2001:db8::1::2", canonical: nil),
        Case(input: "2001:db8:::1", canonical: nil),
        Case(input: ":1", canonical: nil),
        Case(input: "1:2:3:4:5:6:7:8:9", canonical: nil),
        Case(input: "example.com", canonical: nil),
    ])
    func parseAndFormat(_ c: Case) {
        #expect(IPAddress(c.input)?.description == c.canonical)
    }

    @Test func serviceIDRoundTrip() {
        for text in ["tcp/10.0.0.1:80", "udp/[2001:db8::1]:53", "sctp/192.0.2.1:9", "fwmark/7", "fwmark/8/ipv6"] {
            #expect(VirtualService.ID(text)?.description == text)
        }
        #expect(VirtualService.ID("fwmark/0") == nil)
        #expect(VirtualService.ID("icmp/1.2.3.4:1") == nil)
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
