import Foundation
import LVSBGP
import LVSModel
import Testing

private let site = BGPConfig(
    localAS: 65001, routerID: ["d1": .v4(0x0a14_0002), "d2": .v4(0x0a14_0003)],
    peers: [BGPPeer(address: .v4(0x0a14_0001), asn: 65000, holdTime: 9)])

/// Runs BIRD's own parser (`bird -p`) on a rendered config: the test fails if BIRD would refuse it.
private func birdParses(_ text: String) throws -> (ok: Bool, output: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-bird-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("bird.conf")
    try text.write(to: file, atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/sbin/bird")
    p.arguments = ["-p", "-c", file.path]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    // bird2 is a test dependency (Makefile DEB_PACKAGES): a missing bird fails here, loudly.
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus == 0, out)
}

@Suite("BIRD config rendering")
struct BirdConfigTests {
    @Test func announcedAndDrainingRoutesAndOnePeer() throws {
        let text = BirdConfig.render(site, node: "d1", routes: [
            VIPRoute(address: .v4(0x0a0a_0065), preference: .draining),
            VIPRoute(address: .v4(0x0a0a_0064), preference: .normal),
        ], source: "manifest site")
        #expect(text == """
            # Rendered by lvsctl for node d1 from manifest site. Do not edit: lvsctl rewrites it.
            router id 10.20.0.2;

            protocol device {
            }

            protocol static lvsctl_vips4 {
              ipv4;
              route 10.10.0.100/32 blackhole;
              route 10.10.0.101/32 blackhole { bgp_med = 1000; bgp_community.add((65535, 0)); };
            }

            protocol bgp peer_10_20_0_1 {
              local as 65001;
              neighbor 10.20.0.1 as 65000;
              hold time 9;
              ipv4 { import none; export where proto = "lvsctl_vips4"; };
            }

            """)
        let parsed = try birdParses(text)
        #expect(parsed.ok, "\(parsed.output)")
    }

    @Test func nothingAnnouncedStillParses() throws {
        let text = BirdConfig.render(site, node: "d2", routes: [], source: "manifest site")
        #expect(text.contains("router id 10.20.0.3;"))
        #expect(!text.contains("route "))
        #expect(!text.contains("lvsctl_vips6"))
        let parsed = try birdParses(text)
        #expect(parsed.ok, "\(parsed.output)")
    }

    @Test func ipv6PasswordsBFDAndNoGracefulShutdownParse() throws {
        var bgp = site
        bgp.peers = [
            BGPPeer(address: .v4(0x0a14_0001), asn: 65000, password: "s3cret", holdTime: 30, bfd: true),
            BGPPeer(address: try #require(IPAddress("fd00::1")), asn: 65000),
        ]
        bgp.drain = BGPDrain(med: 500, gracefulShutdown: false, seconds: 3)
        let text = BirdConfig.render(bgp, node: "d1", routes: [
            VIPRoute(address: try #require(IPAddress("fd00:10::100")), preference: .draining),
            VIPRoute(address: .v4(0x0a0a_0064), preference: .normal),
        ], source: "manifest site")
        #expect(text.contains("route fd00:10::100/128 blackhole { bgp_med = 500; };"))
        #expect(text.contains("password \"s3cret\";"))
        #expect(text.contains("bfd on;"))
        #expect(text.contains("protocol bfd {"))
        #expect(text.contains("protocol bgp peer_fd00__1 {"))
        #expect(text.contains("ipv6 { import none; export where proto = \"lvsctl_vips6\"; };"))
        let parsed = try birdParses(text)
        #expect(parsed.ok, "\(parsed.output)")
    }

    @Test func renderingIsStableWhateverTheRouteOrder() {
        let a = VIPRoute(address: .v4(1), preference: .normal), b = VIPRoute(address: .v4(2), preference: .draining)
        #expect(BirdConfig.render(site, node: "d1", routes: [a, b], source: "m")
            == BirdConfig.render(site, node: "d1", routes: [b, a], source: "m"))
    }

    @Test func showProtocolsParses() {
        let text = """
            BIRD 2.0.12 ready.
            Name       Proto      Table      State  Since         Info
            device1    Device     ---        up     12:01:02.345
            lvsctl_vips4 Static   master4    up     12:01:02.345
            peer_10_20_0_1 BGP    ---        up     12:01:05.001  Established
            peer_10_20_0_9 BGP    ---        start  2026-12-07 12:01:02  Active        Socket: Connection refused
            """
        let p = BirdProtocolStatus.parse(text)
        #expect(p.map(\.name) == ["device1", "lvsctl_vips4", "peer_10_20_0_1", "peer_10_20_0_9"])
        #expect(p[2].isEstablished && p[2].proto == "BGP")
        #expect(!p[3].isEstablished)
        #expect(p[3].info == "Active Socket: Connection refused")
        #expect(p[3].state == "start")
    }
}

@Suite("BIRD control")
struct BirdControlTests {
    @Test func aBrokenConfigIsRejectedWithItsLine() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-bird-\(UUID().uuidString).conf").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "router id 10.0.0.1;\nprotocol device {\n}\nprotocol bogus {\n}\n".write(toFile: file, atomically: true, encoding: .utf8)
        do {
            try await BirdControl().check(file: file)
            Issue.record("bird -p accepted a broken file")
        } catch let e as BirdControl.Failure {
            guard case .rejected(let f, let output) = e else { Issue.record("\(e)"); return }
            #expect(f == file)
            #expect(output.contains("\(file):4:"), "\(output)")
            #expect(e.description.contains("\(file) is unchanged and BIRD keeps its routes"), "\(e)")
        }
        try "router id 10.0.0.1;\nprotocol device {\n}\n".write(toFile: file, atomically: true, encoding: .utf8)
        try await BirdControl().check(file: file)
    }

    @Test func birdNotRunningIsNamed() async throws {
        let control = BirdControl(socket: "/nonexistent/bird.ctl")
        await #expect(throws: BirdControl.Failure.self) { try await control.configure(file: "/nonexistent/bird.conf") }
        do {
            _ = try await control.protocols()
        } catch let e as BirdControl.Failure {
            guard case .notRunning(let socket, _) = e else { Issue.record("\(e)"); return }
            #expect(socket == "/nonexistent/bird.ctl")
            #expect(e.description.contains("--bird-socket"))
        }
    }
}
