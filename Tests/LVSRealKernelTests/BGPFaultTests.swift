import Foundation
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The fault paths of issue #16 with real BIRD 2, in the lab of ``BGPLab``: BIRD stopped on a
/// director, a config BIRD's parser refuses, the router's BIRD down; and the rule that an
/// announced address must be on the director (or on the declared `bgp.vipDevice`).
@Suite("BGP faults: BIRD down, a config BIRD refuses, a peer down, VIPs not on the director", .serialized)
struct BGPFaultTests {
    static let vip1 = BGPLab.vip1, vip2 = BGPLab.vip2

    /// Two directors. d1 suffers the faults; d2 keeps serving throughout.
    @Test func birdStoppedRefusedConfigAndPeerDown() throws {
        let site = try BGPLab(prefix: "bgpf", directors: 2)
        defer { site.close() }
        let d1 = site.directors[0], d2 = site.directors[1]
        func diagnostics() -> String { site.diagnostics() }
        try site.applyAndStart(BGPLab.manifest())
        try waitFor("two next hops for both VIPs", timeout: 180, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1) == ["10.20.0.2", "10.20.0.3"] && site.nextHops(Self.vip2) == ["10.20.0.2", "10.20.0.3"]
        }
        let table = try d1.host.ipvsadmSave()
        #expect(table.contains("-A -t \(Self.vip1):80 -s mh"), "\(table)")

        // 1. BIRD on d1 stopped: its control socket answers no more. The router drops d1's
        //    routes (its session closed); lvsctl run keeps running, says which socket and what
        //    to do when it must reconfigure BIRD (maintenance changes the decision), leaves IPVS
        //    alone, and status reports BIRD as not answering.
        try d1.stopBird()
        try waitFor("d1 out of the router's routes with its BIRD stopped", timeout: 60, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1) == ["10.20.0.3"] && site.nextHops(Self.vip2) == ["10.20.0.3"]
        }
        let on = try d1.cli.run(["maintenance", "on", "--node", "d1", "--run-dir", d1.cli.directory.path, "-m", "BIRD down"])
        #expect(on.status == 0, "\(on)")
        try waitFor("d1's daemon to report BIRD not running on its socket", timeout: 60, diagnostics: diagnostics()) {
            d1.daemonLog.contains("BIRD is not running on \(d1.birdSocket)")
        }
        let notRunning = d1.daemonLog.split(separator: "\n").first { $0.contains("BIRD is not running on \(d1.birdSocket)") } ?? ""
        print("d1 with BIRD stopped logs: \(notRunning)")
        #expect(notRunning.contains("systemctl start lvsctl-bird") && notRunning.contains("--bird-socket"), "what to do: \(notRunning)")
        let down = try d1.bgpStatusDocument()
        #expect(down["sessions"] is NSNull, "\(down)")
        let sessionsError = down["sessionsError"] as? String ?? ""
        #expect(sessionsError.contains("BIRD is not running on \(d1.birdSocket)"), "status: \(down)")
        // apply does not talk to BIRD: with BIRD stopped it still makes IPVS match (here: no change).
        let reapplied = try d1.lvsctl(["apply", "-f", d1.cli.directory.appendingPathComponent("site.json").path])
        #expect(reapplied.status == 0, "\(reapplied)")
        #expect(try d1.host.ipvsadmSave() == table, "IPVS untouched while BIRD is down")
        #expect(d1.daemon?.isRunning == true, "lvsctl run keeps running: \(d1.daemonLog.suffix(2000))")
        // d2 served every request meanwhile.
        let meanwhile = try site.requests(Self.vip1, 20)
        #expect(meanwhile["error", default: 0] == 0 && meanwhile["r1", default: 0] + meanwhile["r2", default: 0] == 20, "\(meanwhile)")
        // BIRD back, from the file lvsctl kept writing; maintenance off: d1 announces again.
        let off = try d1.cli.run(["maintenance", "off", "--node", "d1", "--run-dir", d1.cli.directory.path])
        #expect(off.status == 0, "\(off)")
        try d1.startBird()
        try waitFor("d1 back in both routes after BIRD restarted", timeout: 120, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1) == ["10.20.0.2", "10.20.0.3"] && site.nextHops(Self.vip2) == ["10.20.0.2", "10.20.0.3"]
        }

        // 2. A config BIRD refuses: a link-local IPv6 peer passes lvsctl's validation, but BIRD
        //    2.0.12 needs an interface for it ("Link-local addresses require defined interface").
        //    The manifest's services are unchanged, so apply makes no kernel write; the daemon
        //    renders the new config, BIRD's parser refuses it, and the daemon logs BIRD's message
        //    with the line; bird.conf is unchanged and BIRD keeps announcing.
        let accepted = try String(contentsOfFile: d1.birdConfig, encoding: .utf8)
        let refused = BGPLab.manifest().replacingOccurrences(
            of: #"[{"address": "10.20.0.1", "as": 65000, "holdTime": 9}]"#,
            with: #"[{"address": "10.20.0.1", "as": 65000, "holdTime": 9}, {"address": "fe80::1", "as": 65000}]"#)
        #expect(refused != BGPLab.manifest())
        let applied = try d1.lvsctl(["apply", "-f", try d1.cli.write("site-refused.json", refused)])
        #expect(applied.status == 0, "lvsctl's validation accepts the peer: \(applied)")
        try waitFor("d1's daemon to report BIRD's refusal", timeout: 60, diagnostics: diagnostics()) {
            d1.daemonLog.contains("Link-local addresses require defined interface")
        }
        let log = d1.daemonLog
        print("d1's daemon on the refused config: \(log.split(separator: "\n").first { $0.contains("BIRD rejects") } ?? "")")
        #expect(log.contains("BIRD rejects the config rendered for \(d1.birdConfig)"), "\(log.suffix(3000))")
        #expect(log.contains(#"neighbor fe80::1 as 65000;"#), "the line BIRD points at is quoted: \(log.suffix(3000))")
        #expect(log.contains("is unchanged and BIRD keeps its routes"), "\(log.suffix(3000))")
        #expect(try String(contentsOfFile: d1.birdConfig, encoding: .utf8) == accepted, "bird.conf unchanged")
        #expect(!FileManager.default.fileExists(atPath: d1.birdConfig + ".new"))
        // Several passes later: still announced through d1, IPVS unchanged, daemon alive.
        Thread.sleep(forTimeInterval: 5)
        #expect(try site.nextHops(Self.vip1) == ["10.20.0.2", "10.20.0.3"], "BIRD keeps its routes: \(diagnostics())")
        #expect(try d1.host.ipvsadmSave() == table, "IPVS untouched by the refusal")
        #expect(d1.daemon?.isRunning == true)
        let (routes, sessions) = try d1.bgpStatus()
        #expect(routes == [Self.vip1: "announced", Self.vip2: "announced"], "\(routes)")
        #expect(sessions == ["peer_10_20_0_1": true], "\(sessions)")
        // The manifest put right: the text BIRD already runs, nothing to reload.
        let fixed = try d1.lvsctl(["apply", "-f", d1.cli.directory.appendingPathComponent("site.json").path])
        #expect(fixed.status == 0, "\(fixed)")

        // 3. The router's BIRD down: every session drops and the router's routes go. The directors
        //    keep their tables and their decisions, status shows the session not Established, and
        //    nothing crashes; when the router's BIRD is back, the route returns with both next hops.
        try site.stopRouterBird()
        try waitFor("no route to the VIPs on the router", timeout: 30, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1).isEmpty && site.nextHops(Self.vip2).isEmpty
        }
        for d in [d1, d2] {
            try waitFor("\(d.name)'s status to show the session down", timeout: 60, diagnostics: diagnostics()) {
                try d.bgpStatus().sessions == ["peer_10_20_0_1": false]
            }
            let doc = try d.bgpStatusDocument()
            let session = (doc["sessions"] as? [[String: Any]])?.first ?? [:]
            print("\(d.name) with the router's BIRD down: \(session)")
            #expect(!(session["info"] as? String ?? "").hasPrefix("Established"), "\(session)")
            #expect(try d.bgpStatus().routes == [Self.vip1: "announced", Self.vip2: "announced"], "the director still serves")
            #expect(d.daemon?.isRunning == true && d.bird?.isRunning == true, "\(d.log)")
        }
        #expect(try d1.host.ipvsadmSave() == table, "IPVS untouched by the peer going down")
        let started = Date()
        try site.startRouterBird()
        try waitFor("both next hops back after the router's BIRD restarted", timeout: 240, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1) == ["10.20.0.2", "10.20.0.3"] && site.nextHops(Self.vip2) == ["10.20.0.2", "10.20.0.3"]
        }
        print("routes back \(String(format: "%.1f", Date().timeIntervalSince(started))) s after the router's BIRD restarted")
        let after = try site.requests(Self.vip1, 20)
        #expect(after["error", default: 0] == 0 && after["r1", default: 0] + after["r2", default: 0] == 20, "\(after)")
        for d in [d1, d2] {
            try waitFor("\(d.name)'s status to show the session up again", timeout: 30, diagnostics: diagnostics()) {
                try d.bgpStatus().sessions == ["peer_10_20_0_1": true]
            }
        }
    }

    /// One director whose VIPs are not local. Without `vipDevice` apply refuses before any
    /// write, naming the service's JSON path and the address; with `"vipDevice": "lo"` the plan
    /// shows the additions, apply makes them (audited), and the route is announced. lvsctl run
    /// puts back an address that disappears; without `vipDevice` it withdraws such an address.
    @Test func announcedAddressesMustBeOnTheDirector() throws {
        let site = try BGPLab(prefix: "bgpv", directors: 1, vipsOnLo: false)
        defer { site.close() }
        let d1 = site.directors[0]
        func diagnostics() -> String { site.diagnostics() }
        func loAddresses() throws -> String { try d1.host.check(["ip", "-4", "addr", "show", "dev", "lo"]) }

        let plain = try d1.cli.write("site.json", BGPLab.manifest())
        let refused = try d1.lvsctl(["apply", "-f", plain])
        print("apply without the VIPs on the director: \(refused.stderr)")
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("\(plain): services[0].address: \(Self.vip1) is announced over BGP"), "\(refused)")
        #expect(refused.stderr.contains("not an address of network namespace"), "\(refused)")
        #expect(refused.stderr.contains("ip addr add \(Self.vip1)/32 dev lo") && refused.stderr.contains("\"vipDevice\": \"lo\""), "\(refused)")
        #expect(refused.stderr.contains("nothing was applied"), "\(refused)")
        #expect(try d1.host.ipvsadmSave().isEmpty, "no IPVS write")
        let plan = try d1.lvsctl(["plan", "-f", plain])
        #expect(plan.status == 1 && plan.stderr.contains("services[0].address: \(Self.vip1) is announced over BGP"), "\(plan)")

        let declared = try d1.cli.write("site-lo.json", BGPLab.manifest(bgpExtra: #", "vipDevice": "lo""#))
        let dry = try d1.lvsctl(["apply", "-f", declared, "--dry-run"])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("+ add address \(Self.vip1)/32 to lo") && dry.stdout.contains("+ add address \(Self.vip2)/32 to lo"), "\(dry)")
        #expect(try !loAddresses().contains(Self.vip1), "a dry run adds nothing")
        let applied = try d1.lvsctl(["apply", "-f", declared])
        #expect(applied.status == 0, "\(applied)")
        #expect(applied.stdout.contains("+ add address \(Self.vip1)/32 to lo"), "\(applied)")
        let lo = try loAddresses()
        #expect(lo.contains("\(Self.vip1)/32") && lo.contains("\(Self.vip2)/32"), "\(lo)")
        let audited = try d1.cli.run(["history", "-o", "json", "--limit", "50"])
        #expect(audited.stdout.contains("bgp-vip-add"), "one audit row per address added: \(audited)")
        // Applying again adds nothing (the addresses are there).
        let again = try d1.lvsctl(["apply", "-f", declared])
        #expect(again.status == 0 && !again.stdout.contains("+ add address"), "\(again)")

        try d1.startDaemon()
        try waitFor("d1's rendered BIRD config", timeout: 90, diagnostics: diagnostics()) {
            FileManager.default.fileExists(atPath: d1.birdConfig)
        }
        try d1.startBird()
        try waitFor("the route through d1", timeout: 180, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1) == ["10.20.0.2"] && site.nextHops(Self.vip2) == ["10.20.0.2"]
        }
        let served = try site.requests(Self.vip1, 10)
        #expect(served["error", default: 0] == 0 && served["r1", default: 0] + served["r2", default: 0] == 10, "\(served)")

        // An address that disappears (a reboot, an operator) is put back by lvsctl run.
        _ = try d1.host.check(["ip", "addr", "del", "\(Self.vip1)/32", "dev", "lo"])
        try waitFor("lvsctl run to put \(Self.vip1) back on lo", timeout: 30, diagnostics: diagnostics()) {
            try loAddresses().contains("\(Self.vip1)/32")
        }
        #expect(d1.daemonLog.contains("added an announced address"), "\(d1.daemonLog.suffix(2000))")

        // Without vipDevice the daemon does not put it back: it withdraws the address instead.
        let undeclared = try d1.lvsctl(["apply", "-f", plain])
        #expect(undeclared.status == 0, "the addresses are local now: \(undeclared)")
        _ = try d1.host.check(["ip", "addr", "del", "\(Self.vip2)/32", "dev", "lo"])
        try waitFor("d1 to withdraw \(Self.vip2), which it no longer holds", timeout: 60, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip2).isEmpty && site.nextHops(Self.vip1) == ["10.20.0.2"]
        }
        let routes = try d1.bgpStatusDocument()["routes"] as? [[String: Any]] ?? []
        let vip2Route = routes.first { $0["vip"] as? String == Self.vip2 } ?? [:]
        #expect(vip2Route["state"] as? String == "withdrawn", "\(routes)")
        #expect((vip2Route["reason"] as? String ?? "").contains("not on this director"), "\(routes)")
        #expect(try !loAddresses().contains("\(Self.vip2)/32"), "not put back without vipDevice")
        _ = try d1.host.check(["ip", "addr", "add", "\(Self.vip2)/32", "dev", "lo"])
        try waitFor("d1 to announce \(Self.vip2) again", timeout: 60, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip2) == ["10.20.0.2"]
        }
    }
}
