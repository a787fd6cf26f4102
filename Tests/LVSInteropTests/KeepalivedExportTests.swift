import Foundation
import LVSModel
import Testing

@testable import LVSInterop

/// `lvsctl export --format keepalived`: keepalived.conf text that `import keepalived` reads back
/// into the same manifest.
@Suite struct KeepalivedExportTests {
    func roundTrip(_ state: DesiredState) throws -> (text: String, exported: [Diagnostic], back: KeepalivedImport) {
        let out = KeepalivedExport.format(state, source: "test.json")
        let back = KeepalivedImporter.importText(out.text, file: "/virtual/exported.conf", manifestName: state.manifest)
        return (out.text, out.diagnostics, back)
    }

    func rs(_ a: String, _ port: UInt16, _ f: ForwardingMethod = .directRoute, weight: UInt32 = 1, check: HealthCheck? = nil) -> RealServerSpec {
        RealServerSpec(server: RealServer(id: RealServer.ID(address: v4(a), port: port), forwarding: f, weight: weight), healthCheck: check)
    }

    /// Every importer fixture is a fixed point: import → export → import gives the same state.
    @Test(arguments: ["seed-two-vip-dr.conf", "seed-mixed-dr-tun.conf"])
    func importedFixturesRoundTrip(_ fixture: String) throws {
        let first = KeepalivedImporter.importFile(path: fixturePath(fixture), manifestName: "m")
        let state = try #require(first.state)
        let (text, exported, back) = try roundTrip(state)
        #expect(exported.isEmpty, "\(exported)")
        #expect(back.diagnostics.isEmpty, "\(back.diagnostics)\n\(text)")
        #expect(back.state == state, "\(text)")
    }

    /// A manifest using everything keepalived.conf can say comes back unchanged.
    @Test func everyExpressibleFeatureRoundTrips() throws {
        var http = HealthCheck(type: .http, port: 8081, path: "/health check", statusCodes: [200, 201, 202, 301, 404],
                               digest: "9e107d9d372bb6826bd81d3542a419d6", host: "www.example.com",
                               connectTimeout: 2.5, retry: 3, delayBeforeRetry: 0.25, interval: 10, alpha: true)
        http.rise = 1
        let tcp = HealthCheck(type: .tcp, connectTimeout: 3, retry: 4, delayBeforeRetry: 3, interval: 6)
        let https = HealthCheck(type: .https, path: "/", statusCodes: Array(200...299), insecureSkipVerify: true,
                                connectTimeout: 5, retry: 2, delayBeforeRetry: 3, interval: 6)
        let exec = HealthCheck(type: .exec, command: ["/usr/local/bin/check", "--port", "53"], connectTimeout: 7, retry: 1,
                               delayBeforeRetry: 1, interval: 15)
        var nat = VirtualService(id: .address(.tcp, v4("192.168.50.10"), port: 80), scheduler: .wrr,
                                 flags: [.persistent], timeout: 600, netmask: 0xffff_ff00)
        nat.persistenceEngine = nil
        var natRS = [rs("10.77.0.11", 8080, .masquerade, weight: 3, check: http), rs("10.77.0.12", 8080, .masquerade, weight: 1, check: tcp)]
        natRS[0].server.upperThreshold = 100
        natRS[0].server.lowerThreshold = 10
        var gue = rs("10.77.1.13", 443, .tunnel, weight: 2)
        gue.server.tunnel = TunnelSettings(type: .gue, port: 6080, checksum: .remoteChecksum)
        var gre = rs("10.77.1.14", 443, .tunnel, weight: 5)
        gre.server.tunnel = TunnelSettings(type: .gre, checksum: .checksum)
        let v6mark = IPAddress("2001:db8::20")!
        let state = DesiredState(manifest: "full", services: [
            ServiceSpec(name: "vs-192-168-50-10-80", service: nat, realServers: natRS,
                        sorryServer: RealServer(id: RealServer.ID(address: v4("10.77.0.99"), port: 8080), forwarding: .masquerade),
                        quorum: 2, hysteresis: 1, inhibitOnFailure: true),
            ServiceSpec(name: "vs-192-168-50-10-443", service: VirtualService(id: .address(.tcp, v4("192.168.50.10"), port: 443), scheduler: .lc),
                        realServers: [rs("10.77.1.12", 443, weight: 1), gue, gre], healthCheck: https),
            ServiceSpec(name: "vs-192-168-50-10-53", service: VirtualService(id: .address(.udp, v4("192.168.50.10"), port: 53), scheduler: .rr, flags: [.onePacket]),
                        realServers: [rs("10.77.0.11", 53, .masquerade)], healthCheck: exec),
            ServiceSpec(name: "fwmark-7-ipv6", service: VirtualService(id: .fwmark(7, .ipv6), scheduler: .sh, flags: [.sched1, .sched2]),
                        realServers: [RealServerSpec(server: RealServer(id: RealServer.ID(address: v6mark, port: 0), weight: 2))]),
            ServiceSpec(name: "vs-192-168-50-11-5060", service: VirtualService(
                            id: .address(.udp, v4("192.168.50.11"), port: 5060), scheduler: .wlc, flags: [.persistent], timeout: 30,
                            persistenceEngine: "sip"),
                        realServers: [rs("10.77.0.21", 5060), rs("10.77.0.22", 5060)]),
        ])
        let (text, exported, back) = try roundTrip(state)
        #expect(exported.isEmpty, "\(exported)")
        #expect(back.diagnostics.filter { $0.severity == .error }.isEmpty, "\(back.diagnostics)\n\(text)")
        let got = try #require(back.state, "\(text)")
        for (a, b) in zip(got.services, state.services) { #expect(a == b, "\(text)") }
        #expect(got == state, "\(text)")
        // Spot checks of the keepalived spelling.
        #expect(text.contains("    persistence_granularity 255.255.255.0\n"))
        #expect(text.contains("        lvs_method TUN type gue port 6080 remcsum\n"))
        #expect(text.contains("            status_code 200-202 301 404\n"))
        #expect(text.contains("            path \"/health check\"\n"))
        #expect(text.contains("        misc_path \"/usr/local/bin/check --port 53\"\n"))
        #expect(text.contains("    sh-fallback\n    sh-port\n"))
        #expect(text.contains("    ip_family inet6\n"))
    }

    @Test func demoManifestText() {
        let check = HealthCheck(type: .tcp, port: 80)
        let state = DesiredState(manifest: "demo", services: [
            ServiceSpec(name: "web", service: VirtualService(id: .address(.tcp, v4("10.10.0.100"), port: 80), scheduler: .wrr),
                        realServers: [rs("10.10.0.11", 80, weight: 3), rs("10.10.0.12", 80, weight: 1)], healthCheck: check),
        ])
        let out = KeepalivedExport.format(state, source: "demo.json")
        #expect(out.diagnostics.isEmpty)
        #expect(out.text == """
            ! keepalived.conf virtual_server blocks exported by lvsctl from demo
            ! (lvsctl import keepalived reads them back; VRRP, global_defs and notify are not part of it)

            ! web
            virtual_server 10.10.0.100 80 {
                lb_algo wrr
                lb_kind DR
                protocol TCP
                real_server 10.10.0.11 80 {
                    weight 3
                    TCP_CHECK {
                        connect_timeout 5
                        retry 1
                        delay_before_retry 1
                        delay_loop 6
                    }
                }
                real_server 10.10.0.12 80 {
                    weight 1
                    TCP_CHECK {
                        connect_timeout 5
                        retry 1
                        delay_before_retry 1
                        delay_loop 6
                    }
                }
            }

            """)
        // Read back: the same service, the check hoisted to the service again (port 80 is the
        // real servers' own, so it comes back unset).
        let back = KeepalivedImporter.importText(out.text, manifestName: "demo")
        var expected = state
        expected.services[0].name = "vs-10-10-0-100-80"
        expected.services[0].healthCheck?.port = nil
        #expect(back.state == expected)
    }

    @Test func whatKeepalivedCannotSayIsReported() {
        var check = HealthCheck(type: .https, path: "/", statusCodes: [200], insecureSkipVerify: false)
        check.rise = 3
        check.fall = 3  // retry 2 in keepalived's terms; the check's own retry says 1
        var spec = ServiceSpec(name: "web", service: VirtualService(id: .address(.tcp, v4("10.0.0.1"), port: 443)),
                               realServers: [rs("10.0.0.11", 443, check: check)], drainTimeout: 60)
        spec.healthCheck = nil
        let empty = ServiceSpec(name: "empty", service: VirtualService(id: .address(.tcp, v4("10.0.0.2"), port: 80)))
        var state = DesiredState(manifest: "lossy", services: [spec, empty])
        state.settings.timeouts = Timeouts(tcp: 900, tcpFin: 120, udp: 300)
        let out = KeepalivedExport.format(state, source: "lossy.json")
        let messages = out.diagnostics.map { "\($0.path): \($0.message)" }
        #expect(out.diagnostics.allSatisfy { $0.severity == .warning && $0.file == "lossy.json" })
        #expect(messages.contains { $0.hasPrefix("settings: global settings") })
        #expect(messages.contains { $0.hasPrefix("services[0].drainTimeout: service web: keepalived has no drain timeout") })
        #expect(messages.contains { $0.hasPrefix("services[0].realServers[0].healthCheck.rise: ") && $0.contains("rise 3") })
        #expect(messages.contains { $0.hasPrefix("services[0].realServers[0].healthCheck.fall: ") })
        #expect(messages.contains { $0.hasPrefix("services[0].realServers[0].healthCheck: SSL_GET never verifies") })
        #expect(messages.contains { $0.hasPrefix("services[1]: service empty (tcp/10.0.0.2:80) has no real servers") })
        #expect(!out.text.contains("10.0.0.2"))
    }

    @Test func secondsAreWrittenAsKeepalivedReadsThem() {
        #expect(KeepalivedExport.seconds(3) == "3")
        #expect(KeepalivedExport.seconds(0.25) == "0.25")
        #expect(KeepalivedExport.seconds(1.000001) == "1.000001")
        #expect(KeepalivedExport.seconds(0) == "0")
    }
}
