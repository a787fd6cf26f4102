import Foundation
import LVSTestSupport
import Testing

/// `lvsctl status` with an applied bgp section: each announced address, the node's router id,
/// and BIRD's sessions, or why BIRD could not be asked (status itself still succeeds).
@Suite struct StatusBGPCLITests {
    static let manifest = """
        {"apiVersion": "lvsctl/v1", "name": "site",
         "settings": {"sloppyTcp": true},
         "services": [
           {"name": "web1", "protocol": "tcp", "address": "10.10.0.100", "port": 80, "scheduler": "mh", "forwarding": "dr",
            "realServers": [{"address": "10.20.0.11"}, {"address": "10.20.0.12"}]},
           {"name": "web2", "protocol": "tcp", "address": "10.10.0.101", "port": 80, "scheduler": "mh", "forwarding": "dr",
            "announce": false, "realServers": [{"address": "10.20.0.12"}]}],
         "bgp": {"localAS": 65001, "routerId": {"d1": "10.20.0.2", "d2": "10.20.0.3"},
                 "peers": [{"address": "10.20.0.1", "as": 65000}]}}
        """

    @Test func statusShowsRoutesAndSaysWhySessionsAreUnknown() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let m = try cli.write("site.json", Self.manifest)
        let applied = try cli.run(["apply", "-f", m])
        #expect(applied.status == 0, "\(applied)")
        let socket = cli.directory.appendingPathComponent("no-bird.ctl").path

        let json = try cli.run(["status", "-o", "json", "--node", "d2", "--bird-socket", socket])
        #expect(json.status == 0, "a BIRD that does not answer is reported, not an error: \(json)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(doc["formatVersion"] as? Int == 3)
        let bgp = try #require(doc["bgp"] as? [String: Any], "\(json)")
        #expect(bgp["manifest"] as? String == "site" && bgp["node"] as? String == "d2", "\(bgp)")
        #expect(bgp["routerId"] as? String == "10.20.0.3" && bgp["localAS"] as? Int == 65001, "\(bgp)")
        // web2 says announce: false; the daemon has not decided anything yet.
        let routes = try #require(bgp["routes"] as? [[String: Any]])
        #expect(routes.count == 1 && routes.first?["vip"] as? String == "10.10.0.100" && routes.first?["state"] as? String == "unknown", "\(routes)")
        #expect(bgp["sessions"] is NSNull, "\(bgp)")
        let why = try #require(bgp["sessionsError"] as? String, "\(bgp)")
        #expect(why.contains(socket) || why.contains("not installed"), "\(why)")

        let text = try cli.run(["status", "--node", "d3", "--bird-socket", socket])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("BGP d3 (bgp section of manifest site, AS 65001, no router id for this node: announcing nothing)"), "\(text)")
        #expect(text.stdout.contains("route 10.10.0.100") && text.stdout.contains("unknown (lvsctl run has not decided yet)"), "\(text)")
        #expect(text.stdout.contains("sessions unknown: "), "\(text)")

        let relative = try cli.run(["status", "--bird-socket", "bird.ctl"])
        #expect(relative.status == 64 && relative.stderr.contains("--bird-socket 'bird.ctl' must be an absolute path"), "\(relative)")
    }

    /// Without a bgp section, `bgp` is null and the text has no BGP part.
    @Test func noBGPSectionNoBGPStatus() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", CLIRunner.manifest("demo.json")]).status == 0)
        let json = try cli.run(["status", "-o", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(doc["bgp"] is NSNull, "\(json)")
        #expect(!(try cli.run(["status"]).stdout.contains("BGP")))
    }
}
