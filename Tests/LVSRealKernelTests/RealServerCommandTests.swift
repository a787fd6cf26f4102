import Foundation
import LVSTestSupport
import Testing

/// `lvsctl realserver` in a fresh namespace, checked with `ip` and `/proc/sys` (the traffic it
/// enables is in ForwardingMethodTests).
@Suite struct RealServerCommandTests {
    @Test func ipv4AndIPv6VIPsOnLoComeAndGo() throws {
        let ns = try NetworkNamespace(prefix: "lvsrs")
        defer { ns.close() }
        let cli = try CLIRunner(fakeKernel: false)
        let state = cli.directory.appendingPathComponent("state.json").path
        func realserver(_ args: [String]) throws -> CLIRunner.Result {
            try cli.run(["realserver"] + args + ["--netns", ns.name, "--state", state])
        }
        let vips = "10.10.0.100,2001:db8:10::100"
        let up = try realserver(["up", "--vip", vips])
        #expect(up.status == 0, "\(up)")
        #expect(up.stdout.contains("added 2001:db8:10::100/128 to lo"), "\(up)")
        let lo = try ns.check(["ip", "-o", "addr", "show", "dev", "lo"])
        #expect(lo.contains("inet 10.10.0.100/32"), "\(lo)")
        #expect(lo.contains("inet6 2001:db8:10::100/128"), "\(lo)")
        #expect(try ns.check(["cat", "/proc/sys/net/ipv4/conf/all/arp_ignore"]) == "1\n")
        #expect(try ns.check(["cat", "/proc/sys/net/ipv4/conf/lo/arp_announce"]) == "2\n")
        let status = try realserver(["status", "--vip", vips, "--output", "json"])
        #expect(status.status == 0, "\(status)")
        let document = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let checks = document?["checks"] as? [[String: Any]] ?? []
        #expect(checks.count == 7, "lo up, two VIPs, four ARP sysctls: \(status.stdout)")

        // Someone removes a VIP by hand: status names it, up puts it back, and only it.
        try ns.check(["ip", "addr", "del", "2001:db8:10::100/128", "dev", "lo"])
        let missing = try realserver(["status", "--vip", vips])
        #expect(missing.status == 2 && missing.stdout.contains("MISSING  2001:db8:10::100/128 on lo"), "\(missing)")
        let again = try realserver(["up", "--vip", vips])
        #expect(again.stdout == "added 2001:db8:10::100/128 to lo\nRecorded in \(state) for `lvsctl realserver down`.\n", "\(again)")

        let down = try realserver(["down"])
        #expect(down.status == 0, "\(down)")
        let after = try ns.check(["ip", "-o", "addr", "show", "dev", "lo"])
        #expect(!after.contains("10.10.0.100") && !after.contains("2001:db8:10::100"), "\(after)")
        #expect(try ns.check(["cat", "/proc/sys/net/ipv4/conf/all/arp_ignore"]) == "0\n")
    }
}
