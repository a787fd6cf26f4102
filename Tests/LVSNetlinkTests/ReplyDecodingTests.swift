import LVSKernel
import LVSModel
import LVSNetlink
import Testing

/// Decoding of canned kernel replies, laid out as ipvs-netlink.md §4.5, §4.6 and §15 describe them
/// (attribute order, 16-byte addresses, HASHED in the flags, STATS and STATS64 nests).
@Suite("IPVS reply decoding")
struct ReplyDecodingTests {
    static func one(_ text: String) throws -> NetlinkMessage {
        let msgs = NetlinkMessage.split(hex(text))
        try #require(msgs.count == 1)
        return msgs[0]
    }

    @Test("service with a 16-byte IPv4 address, HASHED flag, IPv4 netmask bytes and STATS64 preferred")
    func ipv4Service() throws {
        let m = try Self.one("""
            90000000 20000200 04030201 34120000 # len 144, type 0x20, NLM_F_MULTI, seq 0x01020304
            01010000                            # NEW_SERVICE
            7c000180                            # SERVICE nest, len 124
            06000100 02000000                   # AF 2
            06000200 06000000                   # PROTOCOL 6
            14000300 c000020a 00000000 00000000 00000000 # ADDR, 16 bytes
            06000400 01bb0000                   # PORT 443
            08000600 776c6300                   # SCHED_NAME wlc
            0c000700 03000000 ffffffff          # FLAGS PERSISTENT|HASHED
            08000800 2c010000                   # TIMEOUT 300
            08000900 ffffff00                   # NETMASK 255.255.255.0
            0c000a80 08000100 05000000          # STATS { CONNS 5 }
            1c000c80 0c000100 07000000 00000000 0c000400 00000000 01000000 # STATS64 { CONNS 7, INBYTES 2^32 }
            """)
        #expect(m.seq == 0x0102_0304 && m.pid == 0x1234 && m.flags == 2 && m.genlCommand == 1)
        let (svc, stats) = try IPVSReply.service(from: m)
        #expect(svc == VirtualService(
            id: .address(.tcp, .v4(0xc000_020a), port: 443), scheduler: .wlc, flags: [.persistent], timeout: 300,
            netmask: 0xffff_ff00))
        #expect(!svc.flags.contains(.hashed))
        #expect(stats.connections == 7)
        #expect(stats.inBytes == 1 << 32)
    }

    @Test("fwmark IPv6 service: prefix length in host order, no stats")
    func ipv6FwmarkService() throws {
        let m = try Self.one("""
            4c000000 20000200 01000000 00000000
            01010000
            38000180
            06000100 0a000000                   # AF 10
            08000500 08000000                   # FWMARK 8
            08000600 73656400                   # SCHED_NAME sed
            0c000700 02000000 ffffffff          # FLAGS HASHED only
            08000800 00000000                   # TIMEOUT 0
            08000900 40000000                   # NETMASK /64
            """)
        let (svc, stats) = try IPVSReply.service(from: m)
        #expect(svc == VirtualService(id: .fwmark(8, .ipv6), scheduler: .sed, netmask: 64))
        #expect(svc.flags.rawValue == 0)
        #expect(stats == IPVSStats())
    }

    @Test("service with a persistence engine")
    func serviceWithPE() throws {
        let m = try Self.one("""
            54000000 20000000 01000000 00000000 # len 84
            01010000
            40000180                            # SERVICE nest, len 64
            06000100 02000000 08000500 01000000
            07000600 72720000                   # SCHED_NAME rr
            08000b00 73697000                   # PE_NAME sip
            0c000700 07000000 ffffffff          # PERSISTENT|HASHED|ONEPACKET
            08000800 68010000 08000900 ffffffff
            """)
        let (svc, _) = try IPVSReply.service(from: m)
        #expect(svc == VirtualService(id: .fwmark(1, .ipv4), scheduler: .rr, flags: [.persistent, .onePacket], timeout: 360, persistenceEngine: "sip"))
    }

    @Test("destination of another family with tunnel attributes, connection counts and STATS64")
    func destination() throws {
        let m = try Self.one("""
            b4000000 20000200 09000000 00000000 # len 180
            05010000                            # NEW_DEST
            a0000280                            # DEST nest, len 160
            14000100 20010db8 00000000 00000000 00000005 # ADDR 2001:db8::5
            06000200 00500000                   # PORT 80
            08000300 02000000                   # FWD_METHOD tunnel
            08000400 07000000                   # WEIGHT 7
            05000d00 01000000                   # TUN_TYPE gue
            06000e00 17c00000                   # TUN_PORT 6080
            06000f00 01000000                   # TUN_FLAGS csum
            08000500 64000000                   # U_THRESH 100
            08000600 0a000000                   # L_THRESH 10
            08000700 03000000                   # ACTIVE_CONNS 3
            08000800 04000000                   # INACT_CONNS 4
            08000900 01000000                   # PERSIST_CONNS 1
            06000b00 0a000000                   # ADDR_FAMILY 10
            0c000a80 08000100 09000000          # STATS { CONNS 9 }
            1c000c80 0c000100 0a000000 00000000 0c000a00 00e40b54 02000000 # STATS64 { CONNS 10, OUTBPS 10^10 }
            """)
        let d = try IPVSReply.realServer(from: m, serviceFamily: .ipv4)
        #expect(d.server == RealServer(
            id: RealServer.ID(address: IPAddress("2001:db8::5") ?? .v4(0), port: 80), forwarding: .tunnel, weight: 7,
            upperThreshold: 100, lowerThreshold: 10, tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .checksum)))
        #expect(d.activeConnections == 3 && d.inactiveConnections == 4 && d.persistentConnections == 1)
        #expect(d.stats.connections == 10)
        #expect(d.stats.outByteRate == 10_000_000_000)
    }

    @Test("old-kernel destination: no ADDR_FAMILY, no tunnel attributes, only 32-bit STATS")
    func oldKernelDestination() throws {
        let m = try Self.one("""
            78000000 20000200 09000000 00000000 # len 120
            05010000
            64000280                            # DEST nest, len 100
            14000100 0a00000b 00000000 00000000 00000000 # ADDR 10.0.0.11
            06000200 1f900000                   # PORT 8080
            08000300 00000000                   # FWD_METHOD masq
            08000400 01000000 08000500 00000000 08000600 00000000
            08000700 00000000 08000800 00000000 08000900 00000000
            0c000a80 08000100 09000000          # STATS { CONNS 9 }
            """)
        let d = try IPVSReply.realServer(from: m, serviceFamily: .ipv4)
        #expect(d.server == RealServer(id: RealServer.ID(address: .v4(0x0a00_000b), port: 8080), forwarding: .masquerade))
        #expect(d.stats.connections == 9)
    }

    @Test("GET_CONFIG, GET_INFO and GET_DAEMON replies")
    func configInfoDaemon() throws {
        let config = try Self.one("""
            2c000000 20000000 01000000 00000000 0c010000
            08000400 84030000 08000500 78000000 08000600 2c010000 # 900 120 300
            """)
        #expect(IPVSReply.timeouts(from: config) == .kernelDefault)
        let info = try Self.one("24000000 20000000 01000000 00000000 0e010000 08000100 01020100 08000200 00100000")
        #expect(try IPVSReply.info(from: info) == KernelInfo(version: 0x010201, connectionTableSize: 4096))
        let daemon = try Self.one("""
            54000000 20000200 01000000 00000000 09010000
            40000380
            08000100 01000000                   # STATE master
            0b000200 64756d6d 79300000          # MCAST_IFN dummy0
            08000300 05000000                   # SYNC_ID 5
            06000400 c0050000                   # SYNC_MAXLEN 1472
            06000700 90220000                   # MCAST_PORT 8848, host order
            05000800 01000000                   # MCAST_TTL 1
            08000500 e0000051                   # MCAST_GROUP 224.0.0.81
            """)
        #expect(try IPVSReply.daemon(from: daemon) == SyncDaemon(
            state: .master, interface: "dummy0", syncID: 5, maxLength: 1472, group: .v4(0xe000_0051), port: 8848, ttl: 1))
    }

    @Test("a datagram with an ACK and an error answer: raw errno, sequence numbers")
    func errorsAndAcks() {
        let msgs = NetlinkMessage.split(hex("""
            24000000 02000001 05000000 99000000 00000000 14000000 20000500 05000000 99000000 # ACK of seq 5 (CAPPED)
            24000000 02000000 06000000 99000000 fdffffff 14000000 20000500 06000000 99000000 # ESRCH for seq 6
            """))
        #expect(msgs.count == 2)
        #expect(msgs[0].errorCode == 0 && msgs[0].seq == 5)
        #expect(msgs[1].errorCode == -3 && msgs[1].seq == 6)
        #expect(KernelError.fromErrno(3, write: .flush).code == .noSuchService)
    }

    @Test("malformed replies are readable errors, not crashes")
    func malformed() {
        let noSched = NetlinkMessage.split(hex("""
            24000000 20000200 01000000 00000000 01010000
            10000180 06000100 02000000 08000500 01000000
            """))
        #expect(throws: KernelError.self) { try IPVSReply.service(from: noSched[0]) }
        #expect(NetlinkMessage.split(hex("ff000000 20000000")).isEmpty)
        #expect(NetlinkMessage.split(hex("40000000 20000000 00000000 00000000 0101")).isEmpty)
    }
}
