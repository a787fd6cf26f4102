import LVSInterop
import LVSModel
import LVSTestSupport
import Testing

@Suite("ipvsadm -Sn formatting")
struct IPVSAdmSaveTests {
    static func a(_ s: String) -> IPAddress { IPAddress(s) ?? .v4(0) }
    static func r(_ s: String) -> RealServer.ID { RealServer.ID(s) ?? RealServer.ID(address: .v4(0), port: 0) }
    static func live(_ entries: [(VirtualService, [RealServer])]) -> LiveTable {
        LiveTable(services: entries.map { LiveService(service: $0.0, realServers: $0.1.map { LiveRealServer(server: $0) }) })
    }

    @Test("the ipvs-netlink.md §9.1 example, verified against ipvsadm in the lab guest")
    func docExample() {
        let table = Self.live([
            (VirtualService(id: .address(.tcp, Self.a("192.0.2.10"), port: 80)), [
                RealServer(id: Self.r("10.0.0.11:8080"), forwarding: .masquerade, weight: 1),
                RealServer(id: Self.r("10.0.0.12:8080"), forwarding: .masquerade, weight: 0),
            ]),
            (VirtualService(id: .address(.tcp, Self.a("192.0.2.10"), port: 443), scheduler: .sh, flags: [.persistent, .sched1, .sched2], timeout: 360), [
                RealServer(id: Self.r("10.0.0.11:443"), weight: 100),
                RealServer(id: Self.r("10.9.0.7:443"), forwarding: .tunnel, weight: 1, tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .checksum)),
            ]),
            (VirtualService(id: .address(.udp, Self.a("192.0.2.53"), port: 53), scheduler: .rr, flags: [.onePacket]), [
                RealServer(id: Self.r("10.0.0.21:53"), forwarding: .masquerade, weight: 1),
            ]),
            (VirtualService(id: .address(.tcp, Self.a("2001:db8::10"), port: 80), scheduler: .mh, flags: [.sched1]), [
                RealServer(id: Self.r("10.1.0.5:80"), forwarding: .tunnel, weight: 1),
                RealServer(id: Self.r("[2001:db8:1::11]:80"), weight: 1),
            ]),
            (VirtualService(id: .fwmark(7, .ipv4), scheduler: .rr, flags: [.persistent], timeout: 300, netmask: 0xffff_ff00), [
                RealServer(id: Self.r("10.0.0.31:0"), weight: 1),
            ]),
            (VirtualService(id: .fwmark(8, .ipv6)), []),
        ])
        #expect(IPVSAdmSave.format(table) == IPVSAdmSamples.saveExample)
    }

    @Test("an empty table prints nothing")
    func empty() {
        #expect(IPVSAdmSave.format(LiveTable()) == "")
    }

    @Test("addresses more than 2^31 apart sort the way ipvsadm's int subtraction sorts them")
    func addressWrapAround() {
        let table = Self.live([
            (VirtualService(id: .address(.tcp, Self.a("10.0.0.1"), port: 80)), [
                RealServer(id: Self.r("10.0.0.5:80")), RealServer(id: Self.r("192.168.0.1:80")),
                RealServer(id: Self.r("10.0.0.5:79")),
            ]),
            (VirtualService(id: .address(.tcp, Self.a("200.0.0.1"), port: 80)), []),
            (VirtualService(id: .address(.tcp, Self.a("220.0.0.1"), port: 80)), []),
        ])
        // 10.0.0.1 - 200.0.0.1 wraps to a positive int: 200.0.0.1 and 220.0.0.1 sort first.
        // 192.168.0.1 sorts before 10.0.0.5 for the same reason.
        #expect(IPVSAdmSave.format(table) == """
            -A -t 200.0.0.1:80 -s wlc
            -A -t 220.0.0.1:80 -s wlc
            -A -t 10.0.0.1:80 -s wlc
            -a -t 10.0.0.1:80 -r 192.168.0.1:80 -g -w 1
            -a -t 10.0.0.1:80 -r 10.0.0.5:79 -g -w 1
            -a -t 10.0.0.1:80 -r 10.0.0.5:80 -g -w 1

            """)
    }

    @Test("firewall marks of 2^31 and more print negative and sort before address services")
    func largeFirewallMarks() {
        let table = Self.live([
            (VirtualService(id: .address(.udp, Self.a("192.0.2.1"), port: 53)), []),
            (VirtualService(id: .fwmark(1, .ipv4)), []),
            (VirtualService(id: .fwmark(3_000_000_000, .ipv6)), []),
        ])
        #expect(IPVSAdmSave.format(table) == """
            -A -f -1294967296 -6 -s wlc
            -A -u 192.0.2.1:53 -s wlc
            -A -f 1 -s wlc

            """)
    }

    @Test("-M only for persistent services with a non-default netmask; --pe, -o and -b in ipvsadm's order")
    func serviceOptions() {
        let table = Self.live([
            (VirtualService(id: .address(.tcp, Self.a("192.0.2.1"), port: 1), netmask: 0xffff_ff00), []),
            (VirtualService(id: .address(.tcp, Self.a("192.0.2.1"), port: 2), flags: [.persistent], timeout: 1), []),
            (VirtualService(id: .address(.tcp, Self.a("2001:db8::1"), port: 3), scheduler: .rr, flags: [.persistent, .sched3], timeout: 600, netmask: 64), []),
            (VirtualService(id: .address(.udp, Self.a("192.0.2.1"), port: 5060), scheduler: .sh, flags: [.onePacket, .sched3], persistenceEngine: "sip"), []),
            (VirtualService(id: .address(.sctp, Self.a("192.0.2.1"), port: 9), scheduler: .mh, flags: [.persistent, .sched2], timeout: 5, netmask: 0, persistenceEngine: "sip"), []),
        ])
        #expect(IPVSAdmSave.format(table) == """
            -A -t 192.0.2.1:1 -s wlc
            -A -t 192.0.2.1:2 -s wlc -p 1
            -A -u 192.0.2.1:5060 -s sh --pe sip -o -b 
            -A --sctp-service 192.0.2.1:9 -s mh -p 5 -M 0.0.0.0 --pe sip -b mh-port
            -A -t [2001:db8::1]:3 -s rr -p 600 -M 64 -b flag-3

            """)
    }

    @Test("forwarding switches, tunnel options, weights; thresholds are not saved")
    func realServerOptions() {
        let svc = VirtualService(id: .address(.tcp, Self.a("192.0.2.1"), port: 80))
        let table = Self.live([(svc, [
            RealServer(id: Self.r("10.0.0.1:80"), forwarding: .local, weight: 2_147_483_647, upperThreshold: 9, lowerThreshold: 3),
            RealServer(id: Self.r("10.0.0.2:80"), forwarding: .tunnel, tunnel: TunnelSettings(type: .gre, checksum: .checksum)),
            RealServer(id: Self.r("10.0.0.3:80"), forwarding: .tunnel, tunnel: TunnelSettings(type: .gre)),
            RealServer(id: Self.r("10.0.0.4:80"), forwarding: .tunnel, tunnel: TunnelSettings(type: .gue, port: 1, checksum: .remoteChecksum)),
            RealServer(id: Self.r("10.0.0.5:80"), forwarding: .directRoute, tunnel: TunnelSettings(type: .gue, port: 1)),
            RealServer(id: Self.r("[2001:db8::9]:80"), forwarding: .tunnel, weight: 0),
        ])])
        #expect(IPVSAdmSave.format(table) == """
            -A -t 192.0.2.1:80 -s wlc
            -a -t 192.0.2.1:80 -r 10.0.0.1:80 -g -w 2147483647
            -a -t 192.0.2.1:80 -r 10.0.0.2:80 -i -w 1 --tun-type gre --tun-csum
            -a -t 192.0.2.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type gre --tun-nocsum
            -a -t 192.0.2.1:80 -r 10.0.0.4:80 -i -w 1 --tun-type gue --tun-port 1 --tun-remcsum
            -a -t 192.0.2.1:80 -r 10.0.0.5:80 -g -w 1
            -a -t 192.0.2.1:80 -r [2001:db8::9]:80 -i -w 0 --tun-type ipip

            """)
    }

    @Test("the merge sort is glibc's: with a cyclic comparison the input order decides")
    func cyclicComparison() {
        // 10 < 100 < 200 < 10 under ipvsadm's comparator: no total order exists. The LiveTable order
        // (10, 100, 200) goes through glibc's merge: [10] + merge([100], [200]) → 10, 100, 200.
        let table = Self.live([
            (VirtualService(id: .address(.tcp, Self.a("10.0.0.1"), port: 80)), []),
            (VirtualService(id: .address(.tcp, Self.a("200.0.0.1"), port: 80)), []),
            (VirtualService(id: .address(.tcp, Self.a("100.0.0.1"), port: 80)), []),
        ])
        #expect(IPVSAdmSave.format(table) == """
            -A -t 10.0.0.1:80 -s wlc
            -A -t 100.0.0.1:80 -s wlc
            -A -t 200.0.0.1:80 -s wlc

            """)
    }

    @Test("IPv6 addresses compare word by word with the same wrap-around")
    func ipv6Order() {
        let table = Self.live([
            (VirtualService(id: .address(.tcp, Self.a("fd00::1"), port: 80)), []),
            (VirtualService(id: .address(.tcp, Self.a("2001:db8::1"), port: 80)), []),
            (VirtualService(id: .address(.tcp, Self.a("2001:db8::ffff:ffff:1"), port: 80)), []),
        ])
        // 0x20010db8 - 0xfd000000 is positive as an int: fd00:: sorts first.
        #expect(IPVSAdmSave.format(table) == """
            -A -t [fd00::1]:80 -s wlc
            -A -t [2001:db8::1]:80 -s wlc
            -A -t [2001:db8::ffff:ffff:1]:80 -s wlc

            """)
    }
}
