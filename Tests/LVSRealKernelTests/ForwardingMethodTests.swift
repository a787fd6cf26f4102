import Foundation
import LVSTestSupport
import Testing

/// Real HTTP traffic through DR, TUN and NAT, the director configured only with `lvsctl apply`
/// and the real servers only with `lvsctl realserver` (see `ForwardingLab` for the network).
@Suite struct ForwardingMethodTests {
    /// 400 requests, each on a new connection, with wrr 3:1: every server answers and the split
    /// is 3:1 within ±10%.
    func expectWeightedSplit(_ lab: ForwardingLab) throws {
        let split = try lab.requests(400)
        let r1 = split["r1"] ?? 0, r2 = split["r2"] ?? 0
        print("\(lab.method.rawValue): 400 requests with wrr 3:1 → r1 \(r1), r2 \(r2), other \(split["other"] ?? 0)")
        #expect(r1 + r2 == 400, "every request answered by a real server: \(split)")
        #expect(r1 > 0 && r2 > 0, "both real servers reached: \(split)")
        let ratio = Double(r1) / Double(max(r2, 1))
        #expect(ratio >= 2.7 && ratio <= 3.3, "r1:r2 = \(ratio), want 3 ± 10%: \(split)")
    }

    /// Sets up both real servers with `lvsctl realserver up` and checks `status` before and after.
    func realServersUp(_ lab: ForwardingLab, mode: String) throws {
        for n in [1, 2] {
            let before = try lab.realServerCommand(n, ["status", "--vip", ForwardingLab.vip, "--mode", mode])
            #expect(before.status == 2, "status before up reports the missing pieces: \(before)")
            #expect(before.stdout.contains("MISSING  \(ForwardingLab.vip)/32 on \(mode == "dr" ? "lo" : "tunl0")"), "\(before)")
            let up = try lab.realServerCommand(n, ["up", "--vip", ForwardingLab.vip, "--mode", mode])
            #expect(up.status == 0, "\(up)")
            let after = try lab.realServerCommand(n, ["status", "--vip", ForwardingLab.vip, "--mode", mode])
            #expect(after.status == 0, "\(after)")
        }
    }

    @Test func directRouting() throws {
        let lab = try ForwardingLab(.dr)
        defer { lab.close() }
        let applied = try lab.lvsctl(["apply", "-f", try lab.manifest(name: "dr", scheduler: "wrr", weights: [3, 1])])
        #expect(applied.status == 0, "\(applied)")
        #expect(try lab.ipvsadm("-Sn").contains("-a -t 10.10.0.100:80 -r 10.10.0.11:80 -g -w 3"))
        // Without the VIP on the real servers, DR traffic goes nowhere: lvsctl realserver is what makes it work.
        let unanswered = try lab.requests(2, timeout: 2)
        #expect(unanswered["r1"] == nil && unanswered["r2"] == nil, "\(unanswered)")
        try realServersUp(lab, mode: "dr")
        try expectWeightedSplit(lab)
    }

    @Test func ipipTunnel() throws {
        let lab = try ForwardingLab(.tunnel)
        defer { lab.close() }
        let applied = try lab.lvsctl(["apply", "-f", try lab.manifest(name: "tun", scheduler: "wrr", weights: [3, 1])])
        #expect(applied.status == 0, "\(applied)")
        #expect(try lab.ipvsadm("-Sn").contains("-a -t 10.10.0.100:80 -r 10.10.0.11:80 -i -w 3"))
        let unanswered = try lab.requests(2, timeout: 2)
        #expect(unanswered["r1"] == nil && unanswered["r2"] == nil, "\(unanswered)")
        try realServersUp(lab, mode: "tunnel")
        try expectWeightedSplit(lab)
    }

    @Test func masqueradingWithPortMapping() throws {
        let lab = try ForwardingLab(.nat)
        defer { lab.close() }
        let applied = try lab.lvsctl(["apply", "-f", try lab.manifest(name: "nat", scheduler: "wrr", weights: [3, 1])])
        #expect(applied.status == 0, "\(applied)")
        #expect(try lab.ipvsadm("-Sn") == """
            -A -t 10.10.0.100:80 -s wrr
            -a -t 10.10.0.100:80 -r 192.168.100.11:8080 -m -w 3
            -a -t 10.10.0.100:80 -r 192.168.100.12:8080 -m -w 1

            """)
        try expectWeightedSplit(lab)
    }

    /// With a persistence timeout one client sticks to one real server, although rr with equal
    /// weights alternates without it.
    @Test func persistenceKeepsAClientOnOneServer() throws {
        let lab = try ForwardingLab(.dr)
        defer { lab.close() }
        try realServersUp(lab, mode: "dr")
        let plain = try lab.lvsctl(["apply", "-f", try lab.manifest(name: "sticky", scheduler: "rr", weights: [1, 1])])
        #expect(plain.status == 0, "\(plain)")
        let alternating = try lab.requests(20)
        #expect(alternating["r1"] == 10 && alternating["r2"] == 10, "rr without persistence alternates: \(alternating)")

        let sticky = try lab.lvsctl(["apply", "-f", try lab.manifest(name: "sticky", scheduler: "rr", weights: [1, 1], persistence: 600)])
        #expect(sticky.status == 0, "\(sticky)")
        #expect(try lab.ipvsadm("-Sn").contains("-A -t 10.10.0.100:80 -s rr -p 600"))
        let split = try lab.requests(100)
        print("persistence 600 s, rr 1:1: 100 requests → \(split)")
        #expect(split.count == 1 && split.values.first == 100, "one client, one real server: \(split)")
    }

    /// `realserver down` takes back exactly what `up` did, and traffic stops reaching the servers.
    @Test func realServerDownRestoresTheServer() throws {
        let lab = try ForwardingLab(.tunnel)
        defer { lab.close() }
        let ns = lab.realServer(1)
        func snapshot() throws -> String {
            try lab.sh("""
                ip -n \(ns) -o addr show; ip -n \(ns) -o link show tunl0 | grep -o 'state [A-Z]*\\|<[^>]*>'; \
                for f in all/arp_ignore all/arp_announce lo/arp_ignore lo/arp_announce all/rp_filter tunl0/rp_filter; do \
                echo "$f=$(ip netns exec \(ns) cat /proc/sys/net/ipv4/conf/$f)"; done
                """)
        }
        // A different starting point from the wanted one: strict reverse-path filtering on tunl0.
        try lab.sh("ip netns exec \(ns) sysctl -qw net.ipv4.conf.tunl0.rp_filter=1 net.ipv4.conf.all.rp_filter=2")
        // eth0 gets its IPv6 link-local address once the link has carrier, and it stays "tentative"
        // until duplicate address detection ends (up to ~2 s later): the snapshot must not catch
        // the address half-way, or "after" differs from "before" by the kernel's doing.
        try lab.sh("""
            for i in $(seq 100); do \
            [ -n "$(ip -n \(ns) -6 -o addr show dev eth0 scope link)" ] && [ -z "$(ip -n \(ns) -o addr show tentative)" ] && exit 0; \
            sleep 0.1; done; echo 'eth0 link-local address missing or tentative after 10 s' >&2; exit 1
            """)
        let before = try snapshot()
        let up = try lab.realServerCommand(1, ["up", "--vip", ForwardingLab.vip, "--mode", "tunnel"])
        #expect(up.status == 0, "\(up)")
        #expect(up.stdout.contains("set net.ipv4.conf.tunl0.rp_filter = 0 (was 1)"), "\(up)")
        #expect(up.stdout.contains("brought tunl0 up"), "\(up)")
        #expect(try lab.sh("ip -n \(ns) -o addr show dev tunl0").contains("inet 10.10.0.100/32"))
        let again = try lab.realServerCommand(1, ["up", "--vip", ForwardingLab.vip, "--mode", "tunnel"])
        #expect(again.status == 0 && again.stdout.hasPrefix("No changes"), "\(again)")
        let down = try lab.realServerCommand(1, ["down"])
        #expect(down.status == 0, "\(down)")
        let after = try snapshot()
        #expect(after == before, "before up:\n\(before)\nafter down:\n\(after)")
        #expect(!FileManager.default.fileExists(atPath: lab.stateFile(1)))
        let status = try lab.realServerCommand(1, ["status", "--vip", ForwardingLab.vip, "--mode", "tunnel"])
        #expect(status.status == 2, "\(status)")
    }

    @Test func clearErrors() throws {
        let lab = try ForwardingLab(.dr)
        defer { lab.close() }
        let bad = try lab.realServerCommand(1, ["up", "--vip", "10.10.0.300"])
        #expect(bad.status == 1 && bad.stderr.contains("--vip '10.10.0.300' is not an IPv4 or IPv6 address"), "\(bad)")
        let missing = try lab.cli.run(["realserver", "status", "--vip", ForwardingLab.vip, "--netns", "no-such-ns-\(lab.id)"])
        #expect(missing.status == 1 && missing.stderr.contains("cannot open network namespace /run/netns/no-such-ns-"), "\(missing)")
    }
}
