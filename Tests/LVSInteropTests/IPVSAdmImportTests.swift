import LVSModel
import LVSTestSupport
import Testing

@testable import LVSInterop

@Suite struct IPVSAdmImportTests {
    static let docExample = IPVSAdmSamples.saveExample

    @Test func docExampleParsesToExactModelValues() throws {
        let r = IPVSAdmImport.parse(Self.docExample, file: "save.txt", manifestName: "saved")
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics)")
        let state = try #require(r.state)
        #expect(state.manifest == "saved")
        let s = state.services
        #expect(s.count == 6)
        #expect(s[0].service == VirtualService(id: .address(.tcp, v4("192.0.2.10"), port: 80), scheduler: .wlc))
        #expect(s[0].realServers.map(\.server) == [
            RealServer(id: RealServer.ID(address: v4("10.0.0.11"), port: 8080), forwarding: .masquerade, weight: 1),
            RealServer(id: RealServer.ID(address: v4("10.0.0.12"), port: 8080), forwarding: .masquerade, weight: 0),
        ])
        #expect(s[1].service == VirtualService(
            id: .address(.tcp, v4("192.0.2.10"), port: 443), scheduler: .sh, flags: [.persistent, .sched1, .sched2], timeout: 360))
        #expect(s[1].realServers.map(\.server) == [
            RealServer(id: RealServer.ID(address: v4("10.0.0.11"), port: 443), forwarding: .directRoute, weight: 100),
            RealServer(id: RealServer.ID(address: v4("10.9.0.7"), port: 443), forwarding: .tunnel, weight: 1,
                       tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .checksum)),
        ])
        #expect(s[2].service == VirtualService(id: .address(.udp, v4("192.0.2.53"), port: 53), scheduler: .rr, flags: [.onePacket]))
        let v6 = try #require(IPAddress("2001:db8::10"))
        #expect(s[3].service == VirtualService(id: .address(.tcp, v6, port: 80), scheduler: .mh, flags: [.sched1]))
        #expect(s[3].service.netmask == 128)
        #expect(s[3].realServers[0].server.tunnel == TunnelSettings(type: .ipip))
        #expect(s[3].realServers[1].server.id.address == IPAddress("2001:db8:1::11"))
        #expect(s[4].service == VirtualService(id: .fwmark(7, .ipv4), scheduler: .rr, flags: [.persistent], timeout: 300, netmask: 0xffff_ff00))
        #expect(s[4].realServers[0].server.id.port == 0)
        #expect(s[5].service == VirtualService(id: .fwmark(8, .ipv6), scheduler: .wlc))
        #expect(s[5].service.netmask == 128)
        #expect(s.map(\.name) == ["vs-192-0-2-10-80", "vs-192-0-2-10-443", "vs-192-0-2-53-53", "vs-2001-db8--10-80", "fwmark-7", "fwmark-8-ipv6"])
    }

    @Test func defaultsLongOptionsAndRestoreScriptLines() throws {
        let text = """
            # saved by hand
            ipvsadm -C

            ipvsadm --add-service --tcp-service 192.0.2.1:80 --persistent
            /sbin/ipvsadm -at 192.0.2.1:80 -r 10.0.0.1
            ipvsadm --add-server --tcp-service=192.0.2.1:80 --real-server 10.0.0.2:8080 --gatewaying --weight 5 --u-threshold 100 --l-threshold 10
            ipvsadm -A --sctp-service 192.0.2.2:3868 --scheduler rr
            ipvsadm -a --sctp-service 192.0.2.2:3868 -r 10.0.0.3 --masquerading
            ipvsadm --set 3600 120 300
            """
        let r = IPVSAdmImport.parse(text, file: "restore.sh", manifestName: "m")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let state = try #require(r.state)
        let a = state.services[0]
        #expect(a.service.scheduler == .wlc)
        #expect(a.service.timeout == 360)
        #expect(a.service.flags == [.persistent])
        #expect(a.realServers[0].server == RealServer(id: RealServer.ID(address: v4("10.0.0.1"), port: 80)))
        // -g forces the service port; a warning says so.
        #expect(a.realServers[1].server == RealServer(
            id: RealServer.ID(address: v4("10.0.0.2"), port: 80), weight: 5, upperThreshold: 100, lowerThreshold: 10))
        #expect(r.diagnostics.warnings.contains { $0.line == 6 && $0.message.contains("forces 80") })
        #expect(r.diagnostics.warnings.contains { $0.line == 2 && $0.message.contains("-C") })
        let b = state.services[1]
        #expect(b.service.id == .address(.sctp, v4("192.0.2.2"), port: 3868))
        #expect(b.realServers[0].server == RealServer(id: RealServer.ID(address: v4("10.0.0.3"), port: 3868), forwarding: .masquerade))
        #expect(state.settings.timeouts == Timeouts(tcp: 3600, tcpFin: 120, udp: 300))
    }

    struct Bad: CustomStringConvertible, Sendable {
        var text: String
        var line: Int
        var fragment: String
        var description: String { text }
    }

    static let bad: [Bad] = [
        Bad(text: "-A -t web.example:80 -s rr", line: 1, fragment: "ipvsadm -Sn"),
        Bad(text: "-A -t 192.0.2.1:http", line: 1, fragment: "not a number"),
        Bad(text: "# c\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -g", line: 2, fragment: "not defined on an earlier line"),
        Bad(text: "-A -t 192.0.2.1:80 --frobnicate", line: 1, fragment: "unknown option"),
        Bad(text: "-A -t 192.0.2.1:80 -s", line: 1, fragment: "needs a value"),
        Bad(text: "-A -t 192.0.2.1:80\n-A -t 192.0.2.1:80", line: 2, fragment: "added twice"),
        Bad(text: "-A -t 192.0.2.1:80\n-a -t 192.0.2.1:80 -r 10.0.0.1 -w 70000", line: 2, fragment: "invalid -w"),
        Bad(text: "-A -t 192.0.2.1:80\n-a -t 192.0.2.1:80 -r 10.0.0.1 -m --tun-type gue", line: 2, fragment: "need -i"),
        Bad(text: "-A -t 192.0.2.1:80\n-a -t 192.0.2.1:80 -r 10.0.0.1 -i --tun-type gue", line: 2, fragment: "needs --tun-port"),
        Bad(text: "-A -t 192.0.2.1:80\n-a -t 192.0.2.1:80 -r 10.0.0.1 -i --tun-type gre --tun-remcsum", line: 2, fragment: "not valid for gre"),
        Bad(text: "-A -t 192.0.2.1:80 -o", line: 1, fragment: "only for UDP"),
        Bad(text: "-A -t 192.0.2.1:80 -s rr -b sh-port", line: 1, fragment: "needs -s sh"),
        Bad(text: "-A -t 192.0.2.1:0 -s rr", line: 1, fragment: "zero port"),
        Bad(text: "-A -t 192.0.2.1:80 -p 99999999", line: 1, fragment: "persistence timeout"),
        Bad(text: "-A -t 192.0.2.1:80 -p -M 255.0.255.x", line: 1, fragment: "netmask"),
        Bad(text: "-A -t 192.0.2.1:80\n-a -t 192.0.2.1:80 -r [2001:db8::1]:80 -g", line: 2, fragment: "another address family"),
        Bad(text: "-A -f 0", line: 1, fragment: "invalid fwmark"),
        Bad(text: "-A -t 192.0.2.1:80 -u 192.0.2.1:80", line: 1, fragment: "more than one service"),
        Bad(text: "-s rr", line: 1, fragment: "no command"),
        Bad(text: "-D -t 192.0.2.1:80", line: 1, fragment: "not part of a saved table"),
        Bad(text: "--set 1 2", line: 1, fragment: "three values"),
        Bad(text: "-A -t [2001:db8::1:80", line: 1, fragment: "missing ']'"),
        Bad(text: "-A -t 192.0.2.1:80\n-a -t 192.0.2.1:80 -r 10.0.0.1 -g -m", line: 2, fragment: "more than one forwarding"),
    ]

    @Test(arguments: bad) func malformedLinesGiveErrorsWithLineNumbers(_ c: Bad) {
        let r = IPVSAdmImport.parse(c.text, file: "bad.txt", manifestName: "m")
        #expect(r.state == nil)
        #expect(r.diagnostics.errors.contains { $0.line == c.line && $0.description.contains(c.fragment) && $0.file == "bad.txt" },
                "\(r.diagnostics.map(\.description))")
    }
}
