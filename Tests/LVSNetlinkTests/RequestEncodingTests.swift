import LVSKernel
import LVSModel
import LVSNetlink
import Testing

/// Golden bytes of every request kind, built with libnl and a placeholder family id 0x20 (no
/// socket, no kernel). Sequence number and port stay 0: the sender fills them in. The expected
/// bytes were derived by hand from ipvs-netlink.md §1 and §3 (attribute numbers, byte orders).
@Suite("IPVS request encoding")
struct RequestEncodingTests {
    static let family: UInt16 = 0x20
    static func a(_ s: String) -> IPAddress { IPAddress(s) ?? .v4(0) }
    static func r(_ s: String) -> RealServer.ID { RealServer.ID(s) ?? RealServer.ID(address: .v4(0), port: 0) }
    static let web = VirtualService.ID.address(.tcp, a("192.0.2.10"), port: 80)

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var write: KernelWrite
        var expected: String
        var description: String { name }
    }

    /// The identity nest of tcp/192.0.2.10:80, shared by the real-server requests.
    static let webNest = """
        24000180                            # nla len 36, NESTED | SERVICE
        06000100 02000000                   # AF 2
        06000200 06000000                   # PROTOCOL 6
        08000300 c000020a                   # ADDR 192.0.2.10
        06000400 00500000                   # PORT be16 80
        """

    static let cases: [Case] = [
        Case(
            name: "NEW_SERVICE tcp IPv4 (the verified example of ipvs-netlink.md §1)",
            write: .createService(VirtualService(id: .address(.tcp, a("10.0.0.1"), port: 80))),
            expected: """
                5c000000 20000000 00000000 00000000 # nlmsghdr len 92, type 0x20, flags 0, seq 0, pid 0
                01010000                            # genl cmd 1 NEW_SERVICE, version 1
                48000180                            # nla len 72, NESTED | SERVICE
                06000100 02000000                   # AF 2
                06000200 06000000                   # PROTOCOL 6
                08000300 0a000001                   # ADDR 10.0.0.1 (4 bytes)
                06000400 00500000                   # PORT be16 80
                08000600 776c6300                   # SCHED_NAME "wlc"
                0c000700 00000000 ffffffff          # FLAGS {0, mask all}
                08000800 00000000                   # TIMEOUT 0
                08000900 ffffffff                   # NETMASK 255.255.255.255
                """),
        Case(
            name: "NEW_SERVICE tcp IPv6 with prefix length",
            write: .createService(VirtualService(
                id: .address(.tcp, a("2001:db8::10"), port: 443), scheduler: .mh, flags: [.persistent, .sched1],
                timeout: 600, netmask: 64)),
            expected: """
                68000000 20000000 00000000 00000000 # len 104
                01010000                            # NEW_SERVICE
                54000180                            # SERVICE nest, len 84
                06000100 0a000000                   # AF 10
                06000200 06000000                   # PROTOCOL 6
                14000300 20010db8 00000000 00000000 00000010 # ADDR 2001:db8::10 (16 bytes)
                06000400 01bb0000                   # PORT be16 443
                07000600 6d680000                   # SCHED_NAME "mh" + pad
                0c000700 09000000 ffffffff          # FLAGS PERSISTENT|SCHED1, mask all
                08000800 58020000                   # TIMEOUT 600
                08000900 40000000                   # NETMASK prefix 64, host order
                """),
        Case(
            name: "NEW_SERVICE fwmark with IPv4 netmask",
            write: .createService(VirtualService(
                id: .fwmark(7, .ipv4), scheduler: .rr, flags: [.persistent], timeout: 300, netmask: 0xffff_ff00)),
            expected: """
                4c000000 20000000 00000000 00000000 # len 76
                01010000                            # NEW_SERVICE
                38000180                            # SERVICE nest, len 56
                06000100 02000000                   # AF 2
                08000500 07000000                   # FWMARK 7
                07000600 72720000                   # SCHED_NAME "rr"
                0c000700 01000000 ffffffff          # FLAGS PERSISTENT
                08000800 2c010000                   # TIMEOUT 300
                08000900 ffffff00                   # NETMASK bytes 255.255.255.0
                """),
        Case(
            name: "NEW_SERVICE udp with persistence engine",
            write: .createService(VirtualService(
                id: .address(.udp, a("192.0.2.30"), port: 5060), scheduler: .lc, flags: [.persistent], timeout: 360,
                persistenceEngine: "sip")),
            expected: """
                64000000 20000000 00000000 00000000 # len 100
                01010000                            # NEW_SERVICE
                50000180                            # SERVICE nest, len 80
                06000100 02000000                   # AF 2
                06000200 11000000                   # PROTOCOL 17
                08000300 c000021e                   # ADDR 192.0.2.30
                06000400 13c40000                   # PORT be16 5060
                07000600 6c630000                   # SCHED_NAME "lc"
                08000b00 73697000                   # PE_NAME "sip"
                0c000700 01000000 ffffffff          # FLAGS PERSISTENT
                08000800 68010000                   # TIMEOUT 360
                08000900 ffffffff                   # NETMASK
                """),
        Case(
            name: "SET_SERVICE sends the same full description",
            write: .updateService(VirtualService(id: .fwmark(7, .ipv4), scheduler: .rr, flags: [.persistent], timeout: 300, netmask: 0xffff_ff00)),
            expected: """
                4c000000 20000000 00000000 00000000
                02010000                            # SET_SERVICE
                38000180
                06000100 02000000 08000500 07000000 07000600 72720000
                0c000700 01000000 ffffffff 08000800 2c010000 08000900 ffffff00
                """),
        Case(
            name: "NEW_DEST direct routing",
            write: .addRealServer(web, RealServer(id: r("10.0.0.11:80"), forwarding: .directRoute, weight: 1)),
            expected: """
                8c000000 20000000 00000000 00000000 # len 140
                05010000                            # NEW_DEST
                \(webNest)
                54000280                            # nla len 84, NESTED | DEST
                08000100 0a00000b                   # ADDR 10.0.0.11
                06000200 00500000                   # PORT be16 80
                06000b00 02000000                   # ADDR_FAMILY 2
                08000300 03000000                   # FWD_METHOD 3 DROUTE
                08000400 01000000                   # WEIGHT 1
                08000500 00000000                   # U_THRESH 0
                08000600 00000000                   # L_THRESH 0
                05000d00 00000000                   # TUN_TYPE 0 (u8 + pad)
                06000e00 00000000                   # TUN_PORT 0
                06000f00 00000000                   # TUN_FLAGS 0
                """),
        Case(
            name: "NEW_DEST NAT with port mapping and thresholds",
            write: .addRealServer(web, RealServer(id: r("10.0.0.12:8080"), forwarding: .masquerade, weight: 0, upperThreshold: 100, lowerThreshold: 10)),
            expected: """
                8c000000 20000000 00000000 00000000
                05010000
                \(webNest)
                54000280
                08000100 0a00000c                   # ADDR 10.0.0.12
                06000200 1f900000                   # PORT be16 8080
                06000b00 02000000                   # ADDR_FAMILY 2
                08000300 00000000                   # FWD_METHOD 0 MASQ
                08000400 00000000                   # WEIGHT 0
                08000500 64000000                   # U_THRESH 100
                08000600 0a000000                   # L_THRESH 10
                05000d00 00000000 06000e00 00000000 06000f00 00000000
                """),
        Case(
            name: "NEW_DEST GUE tunnel with port and checksum",
            write: .addRealServer(web, RealServer(id: r("10.0.0.14:80"), forwarding: .tunnel, weight: 2, tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .checksum))),
            expected: """
                8c000000 20000000 00000000 00000000
                05010000
                \(webNest)
                54000280
                08000100 0a00000e 06000200 00500000 06000b00 02000000
                08000300 02000000                   # FWD_METHOD 2 TUNNEL
                08000400 02000000                   # WEIGHT 2
                08000500 00000000 08000600 00000000
                05000d00 01000000                   # TUN_TYPE 1 GUE
                06000e00 17c00000                   # TUN_PORT be16 6080
                06000f00 01000000                   # TUN_FLAGS 1 CSUM
                """),
        Case(
            name: "SET_DEST GRE tunnel with checksum",
            write: .updateRealServer(web, RealServer(id: r("10.0.0.15:80"), forwarding: .tunnel, weight: 3, tunnel: TunnelSettings(type: .gre, checksum: .checksum))),
            expected: """
                8c000000 20000000 00000000 00000000
                06010000                            # SET_DEST
                \(webNest)
                54000280
                08000100 0a00000f 06000200 00500000 06000b00 02000000
                08000300 02000000 08000400 03000000 08000500 00000000 08000600 00000000
                05000d00 02000000                   # TUN_TYPE 2 GRE
                06000e00 00000000                   # TUN_PORT 0
                06000f00 01000000                   # TUN_FLAGS 1 CSUM
                """),
        Case(
            name: "NEW_DEST of another family (IPv6 behind an IPv4 service)",
            write: .addRealServer(web, RealServer(id: r("[2001:db8:1::5]:80"), forwarding: .tunnel, weight: 7)),
            expected: """
                98000000 20000000 00000000 00000000 # len 152
                05010000
                \(webNest)
                60000280                            # DEST nest, len 96
                14000100 20010db8 00010000 00000000 00000005 # ADDR 2001:db8:1::5
                06000200 00500000                   # PORT 80
                06000b00 0a000000                   # ADDR_FAMILY 10
                08000300 02000000 08000400 07000000 08000500 00000000 08000600 00000000
                05000d00 00000000 06000e00 00000000 06000f00 00000000
                """),
        Case(
            name: "DEL_SERVICE: identity only",
            write: .deleteService(web),
            expected: """
                38000000 20000000 00000000 00000000 # len 56
                03010000                            # DEL_SERVICE
                \(webNest)
                """),
        Case(
            name: "DEL_DEST: both identities, with ADDR_FAMILY",
            write: .deleteRealServer(web, r("10.0.0.11:80")),
            expected: """
                54000000 20000000 00000000 00000000 # len 84
                07010000                            # DEL_DEST
                \(webNest)
                1c000280                            # DEST nest, len 28
                08000100 0a00000b 06000200 00500000 06000b00 02000000
                """),
        Case(
            name: "SET_CONFIG: three timeouts, 0 = unchanged",
            write: .setTimeouts(Timeouts(tcp: 10, tcpFin: 0, udp: 30)),
            expected: """
                2c000000 20000000 00000000 00000000 # len 44
                0c010000                            # SET_CONFIG (12)
                08000400 0a000000                   # TIMEOUT_TCP 10
                08000500 00000000                   # TIMEOUT_TCP_FIN 0
                08000600 1e000000                   # TIMEOUT_UDP 30
                """),
        Case(
            name: "NEW_DAEMON with every attribute",
            write: .startSyncDaemon(SyncDaemon(state: .backup, interface: "dummy0", syncID: 5, maxLength: 1400, group: a("239.1.2.3"), port: 9000, ttl: 3)),
            expected: """
                54000000 20000000 00000000 00000000 # len 84
                09010000                            # NEW_DAEMON
                40000380                            # nla len 64, NESTED | DAEMON
                08000100 02000000                   # STATE 2 backup
                0b000200 64756d6d 79300000          # MCAST_IFN "dummy0"
                08000300 05000000                   # SYNC_ID 5
                06000400 78050000                   # SYNC_MAXLEN 1400
                08000500 ef010203                   # MCAST_GROUP 239.1.2.3, network order
                06000700 28230000                   # MCAST_PORT 9000, host order
                05000800 03000000                   # MCAST_TTL 3
                """),
        Case(
            name: "NEW_DAEMON with kernel defaults and an IPv6 group",
            write: .startSyncDaemon(SyncDaemon(state: .master, interface: "eth0", group: a("ff02::1:2"))),
            expected: """
                48000000 20000000 00000000 00000000 # len 72
                09010000
                34000380                            # DAEMON nest, len 52
                08000100 01000000                   # STATE 1 master
                09000200 65746830 00000000          # MCAST_IFN "eth0"
                08000300 00000000                   # SYNC_ID 0
                14000600 ff020000 00000000 00000000 00010002 # MCAST_GROUP6
                """),
        Case(
            name: "DEL_DAEMON: state only",
            write: .stopSyncDaemon(.backup),
            expected: """
                20000000 20000000 00000000 00000000 # len 32
                0a010000                            # DEL_DAEMON (10)
                0c000380 08000100 02000000          # DAEMON { STATE 2 }
                """),
        Case(
            name: "ZERO of one service",
            write: .zeroCounters(.fwmark(9, .ipv6)),
            expected: """
                28000000 20000000 00000000 00000000 # len 40
                10010000                            # ZERO (16)
                14000180 06000100 0a000000 08000500 09000000 # SERVICE { AF 10, FWMARK 9 }
                """),
        Case(
            name: "FLUSH",
            write: .flush,
            expected: """
                14000000 20000000 00000000 00000000 # len 20
                11010000                            # FLUSH (17)
                """),
    ]

    @Test("write requests", arguments: cases)
    func writeRequest(_ c: Case) throws {
        let got = try IPVSRequest.forWrite(c.write, family: Self.family).bytes
        let want = hex(c.expected)
        #expect(got == want, "\n got: \(dump(got))\nwant: \(dump(want))")
    }

    @Test("read requests: dumps carry NLM_F_DUMP, GET_DEST carries the service")
    func readRequests() throws {
        #expect(try IPVSRequest.dumpServices(family: 0x20).bytes == hex("14000000 20000003 00000000 00000000 04010000"))
        #expect(try IPVSRequest.dumpDaemons(family: 0x20).bytes == hex("14000000 20000003 00000000 00000000 0b010000"))
        #expect(try IPVSRequest.getConfig(family: 0x20).bytes == hex("14000000 20000000 00000000 00000000 0d010000"))
        #expect(try IPVSRequest.getInfo(family: 0x20).bytes == hex("14000000 20000000 00000000 00000000 0f010000"))
        #expect(try IPVSRequest.dumpDests(Self.web, family: 0x20).bytes == hex("38000000 20000003 00000000 00000000 08010000\n" + Self.webNest))
        #expect(try IPVSRequest.getService(Self.web, family: 0x20).bytes == hex("38000000 20000000 00000000 00000000 04010000\n" + Self.webNest))
    }

    @Test("firewall mark 0 is refused before anything is sent")
    func fwmarkZero() {
        for w: KernelWrite in [
            .createService(VirtualService(id: .fwmark(0, .ipv4))), .deleteService(.fwmark(0, .ipv6)),
            .addRealServer(.fwmark(0, .ipv4), RealServer(id: Self.r("10.0.0.1:0"))), .zeroCounters(.fwmark(0, .ipv4)),
        ] {
            #expect(throws: KernelError.self) { try IPVSRequest.forWrite(w, family: 0x20) }
            do {
                _ = try IPVSRequest.forWrite(w, family: 0x20)
            } catch {
                #expect(error.code == .invalidArgument && error.errno == 0 && error.write == w)
            }
        }
    }
}
