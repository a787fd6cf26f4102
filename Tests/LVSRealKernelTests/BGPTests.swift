import Foundation
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Three directors behind a router's ECMP, each announcing the VIPs over BGP with BIRD 2 as
/// lvsctl configures it (issue #16). In the lab guest, as root:
///
/// - router `r` (10.20.0.1 on the director LAN, 10.40.0.1 on the client LAN) runs BIRD with
///   `merge paths` into its kernel table and hashes flows on ports (multipath hash policy 1);
/// - directors d1–d3 (10.20.0.2–4) each have the VIPs on `lo`, their own store, `lvsctl run
///   --node dN` and BIRD started from the config lvsctl rendered;
/// - DR real servers r1 (10.20.0.11) and r2 (10.20.0.12) answer HTTP with their name;
/// - the client (10.40.0.50) talks to the VIPs through the router.
///
/// web1 (10.10.0.100:80 → r1, r2) and web2 (10.10.0.101:80 → r2), both `mh` with sloppyTcp.
@Suite("BGP: directors behind ECMP, announced by lvsctl through BIRD")
struct BGPTests {
    static let vip1 = "10.10.0.100", vip2 = "10.10.0.101"
    static let manifest = """
        {"apiVersion": "lvsctl/v1", "name": "site",
         "settings": {"sloppyTcp": true},
         "services": [
           {"name": "web1", "protocol": "tcp", "address": "10.10.0.100", "port": 80, "scheduler": "mh", "forwarding": "dr",
            "healthCheck": {"type": "http", "path": "/healthz", "interval": 1, "connectTimeout": 1},
            "realServers": [{"address": "10.20.0.11"}, {"address": "10.20.0.12"}]},
           {"name": "web2", "protocol": "tcp", "address": "10.10.0.101", "port": 80, "scheduler": "mh", "forwarding": "dr",
            "healthCheck": {"type": "http", "path": "/healthz", "interval": 1, "connectTimeout": 1},
            "realServers": [{"address": "10.20.0.12"}]},
           {"name": "echo", "protocol": "tcp", "address": "10.10.0.100", "port": 8080, "scheduler": "mh", "forwarding": "dr",
            "realServers": [{"address": "10.20.0.11"}, {"address": "10.20.0.12"}]}],
         "bgp": {"localAS": 65001, "routerId": {"d1": "10.20.0.2", "d2": "10.20.0.3", "d3": "10.20.0.4"},
                 "peers": [{"address": "10.20.0.1", "as": 65000, "holdTime": 9}],
                 "drain": {"seconds": 2}}}
        """

    static let routerConfig = """
        router id 10.20.0.1;
        protocol device {}
        protocol kernel { ipv4 { import none; export all; }; merge paths on; }
        template bgp directors { local as 65000; hold time 9; ipv4 { import all; export none; }; }
        protocol bgp d1 from directors { neighbor 10.20.0.2 as 65001; }
        protocol bgp d2 from directors { neighbor 10.20.0.3 as 65001; }
        protocol bgp d3 from directors { neighbor 10.20.0.4 as 65001; }
        """

    /// One director: its namespace, store, daemon and BIRD.
    final class Director {
        let name: String
        let address: String
        let host: LabHost
        let cli: CLIRunner
        var daemon: BackgroundProcess?
        var bird: BackgroundProcess?
        var birdConfig: String { cli.directory.appendingPathComponent("bird.conf").path }
        var birdSocket: String { cli.directory.appendingPathComponent("bird.ctl").path }
        var notes: String { cli.directory.appendingPathComponent("notes.txt").path }

        init(name: String, address: String, host: LabHost) throws {
            self.name = name
            self.address = address
            self.host = host
            cli = try CLIRunner(fakeKernel: false)
        }

        func lvsctl(_ args: [String]) throws -> CLIRunner.Result { try cli.run(args + ["--netns", host.name]) }

        func startDaemon(_ extra: [String] = []) throws {
            let hook = try cli.write("hook.sh", "#!/bin/sh\necho \"$@\" >> \(notes)\n")
            chmod(hook, 0o755)
            let config = try cli.write("daemon.json", """
                { "interval": 2, "jitter": 0, "metricsAddress": "",
                  "notify": { "exec": { "path": "\(hook)", "timeout": 5 } } }
                """)
            daemon = try host.spawn("daemon-\(name)", [
                CLIRunner.binary, "run", "--config", config, "--node", name, "--run-dir", cli.directory.path,
                "--bird-config", birdConfig, "--bird-socket", birdSocket,
            ] + extra, environment: cli.environment)
        }

        /// SIGTERM; the daemon's exit status.
        func stopDaemon() -> Int32? {
            guard let d = daemon else { return nil }
            d.signal(SIGTERM)
            let status = d.wait(timeout: 90)
            daemon = nil
            return status
        }

        func startBird() throws {
            bird = try host.spawn("bird-\(name)", ["bird", "-f", "-c", birdConfig, "-s", birdSocket, "-P", birdSocket + ".pid"])
        }

        /// `lvsctl status -o json` on this director: each route's state by address, and whether
        /// each BGP session is established.
        func bgpStatus() throws -> (routes: [String: String], sessions: [String: Bool]) {
            let r = try lvsctl(["status", "-o", "json", "--node", name, "--bird-socket", birdSocket])
            #expect(r.status == 0, "\(r)")
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let bgp = try #require(doc?["bgp"] as? [String: Any], "\(r)")
            #expect(bgp["routerId"] as? String == address, "\(r)")
            var routes: [String: String] = [:]
            for route in bgp["routes"] as? [[String: Any]] ?? [] {
                if let vip = route["vip"] as? String { routes[vip] = route["state"] as? String }
            }
            var sessions: [String: Bool] = [:]
            for s in bgp["sessions"] as? [[String: Any]] ?? [] {
                if let n = s["name"] as? String { sessions[n] = s["established"] as? Bool }
            }
            if sessions.isEmpty { print("status of \(name): \(r.stdout)") }
            return (routes, sessions)
        }

        /// Connections IPVS accepted for `vip`:80 on this director (`ipvsadm -Ln --stats`).
        func connections(_ vip: String) throws -> Int {
            let out = try host.check(["ipvsadm", "-Ln", "--stats", "-t", "\(vip):80"])
            for line in out.split(separator: "\n") where line.hasPrefix("TCP") {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                if f.count > 2 { return Self.number(String(f[2])) }
            }
            return 0
        }

        /// ipvsadm's counters: `123`, `5K`, `2M`.
        static func number(_ s: String) -> Int {
            if let n = Int(s) { return n }
            let scale = ["K": 1000, "M": 1_000_000, "G": 1_000_000_000][String(s.suffix(1))] ?? 1
            return (Int(s.dropLast()) ?? 0) * scale
        }

        var log: String {
            ["daemon-\(name)", "bird-\(name)"].map { n in
                "--- \(n):\n" + ((try? String(contentsOfFile: host.network.directory.appendingPathComponent("\(n).log").path, encoding: .utf8))
                    .map { String($0.suffix(3000)) } ?? "")
            }.joined(separator: "\n") + "\n--- bird.conf:\n" + ((try? String(contentsOfFile: birdConfig, encoding: .utf8)) ?? "(none)")
        }
    }

    /// The router's next hops for `vip` (`ip route show`), sorted.
    static func nextHops(_ router: LabHost, _ vip: String) throws -> [String] {
        let out = try router.check(["ip", "-4", "route", "show", "\(vip)/32"])
        var hops: [String] = []
        let words = out.split(whereSeparator: \.isWhitespace).map(String.init)
        for (i, w) in words.enumerated() where w == "via" && i + 1 < words.count { hops.append(words[i + 1]) }
        return hops.sorted()
    }

    /// HTTP requests from the client, each on a new connection: who answered (`error` counts failures).
    static func requests(_ client: LabHost, _ vip: String, _ n: Int) throws -> [String: Int] {
        let r = try client.run([LabScripts.python, LabScripts.path("http_client.py"), vip, "\(n)"])
        var tally: [String: Int] = [:]
        for pair in r.stdout.split(whereSeparator: \.isWhitespace) {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let n = Int(kv[1]) { tally[String(kv[0])] = n }
        }
        if !r.stderr.isEmpty { print("client → \(vip): \(r.stderr)") }
        return tally
    }

    @Test func ecmpAcrossThreeDirectorsMaintenanceHealthAndStop() throws {
        let lab = try LabNetwork(prefix: "bgp")
        defer { lab.close() }
        let lan = try lab.bridge("lan"), clients = try lab.bridge("cl")
        let router = try lab.host("r", lan.port("10.20.0.1/24"), clients.port("10.40.0.1/24"), forwarding: true)
        // Hash on ports as well as addresses, so one client's connections spread over the directors;
        // DR answers come back from the VIP through the router: no reverse-path filter.
        try router.sysctl(
            "net.ipv4.fib_multipath_hash_policy=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
            "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.eth1.rp_filter=0")
        let client = try lab.host("c", clients.port("10.40.0.50/24"), gateway: "10.40.0.1")
        var servers: [LabHost] = []
        for (name, address) in [("r1", "10.20.0.11"), ("r2", "10.20.0.12")] {
            let h = try lab.host(name, lan.port("\(address)/24"), gateway: "10.20.0.1")
            try h.makeDRRealServer(vips: [Self.vip1, Self.vip2])
            _ = try h.startHTTPServer(name)
            _ = try h.startEchoServer("\(name)-echo", port: 8080)
            servers.append(h)
        }
        var directors: [Director] = []
        for (i, name) in ["d1", "d2", "d3"].enumerated() {
            let address = "10.20.0.\(i + 2)"
            let h = try lab.host(name, lan.port("\(address)/24"))
            // The VIPs are local (IPVS receives them) but never answered for over ARP: the
            // router reaches them through BGP's next hops only.
            try h.makeDRRealServer(vips: [Self.vip1, Self.vip2])
            directors.append(try Director(name: name, address: address, host: h))
        }
        let scratch = lab.directory.path
        try Self.routerConfig.write(toFile: "\(scratch)/router.conf", atomically: true, encoding: .utf8)
        _ = try router.spawn("bird-router", ["bird", "-f", "-c", "\(scratch)/router.conf", "-s", "\(scratch)/router.ctl", "-P", "\(scratch)/router.pid"])
        func diagnostics() -> String {
            let routes = (try? router.check(["ip", "-4", "route"])) ?? "?"
            let protocols = (try? ProcessRunner.run(["birdc", "-s", "\(scratch)/router.ctl", "show", "protocols"]).stdout) ?? "?"
            return "router routes:\n\(routes)\nrouter protocols:\n\(protocols)\n" + directors.map(\.log).joined(separator: "\n")
        }

        for d in directors {
            let m = try d.cli.write("site.json", Self.manifest)
            let applied = try d.lvsctl(["apply", "-f", m])
            #expect(applied.status == 0, "\(d.name): \(applied)")
            try d.startDaemon()
        }
        // lvsctl renders BIRD's config before BIRD runs (its first reconfigure fails: BIRD is not
        // running yet); BIRD starts from that file, and lvsctl's next attempt takes.
        for d in directors {
            try waitFor("\(d.name)'s rendered BIRD config", timeout: 90, diagnostics: diagnostics()) {
                FileManager.default.fileExists(atPath: d.birdConfig)
            }
            try d.startBird()
        }

        // 1. All ready: three next hops for each VIP, and traffic through all three directors.
        try waitFor("three next hops for both VIPs", timeout: 180, diagnostics: diagnostics()) {
            try Self.nextHops(router, Self.vip1).count == 3 && Self.nextHops(router, Self.vip2).count == 3
        }
        #expect(try Self.nextHops(router, Self.vip1) == ["10.20.0.2", "10.20.0.3", "10.20.0.4"])
        // The router's hash spreads flows by port over the three directors (its own answer for
        // 24 client ports), and requests through the VIP succeed.
        var chosen: Set<String> = []
        for port in 40001...40024 {
            let out = try router.check([
                "ip", "route", "get", Self.vip1, "from", "10.40.0.50", "iif", "eth1", "ipproto", "tcp", "sport", "\(port)", "dport", "80",
            ])
            if let via = out.split(separator: " ").drop(while: { $0 != "via" }).dropFirst().first { chosen.insert(String(via)) }
        }
        #expect(chosen == ["10.20.0.2", "10.20.0.3", "10.20.0.4"], "the router's multipath hash picks: \(chosen)")
        let tally = try Self.requests(client, Self.vip1, 60)
        #expect(tally["error", default: 0] == 0, "\(tally)")
        #expect(tally["r1", default: 0] + tally["r2", default: 0] == 60, "\(tally)")
        // Which directors forwarded them: IPVS's connection counters, which the kernel refreshes
        // from its per-CPU counters on its rate estimator's tick (every 2 s, later in a starved
        // guest), so read once they account for the 60 connections. Every director took some.
        var perDirector: [String: Int] = [:]
        try waitFor("the directors' counters to account for 60 connections", timeout: 30, diagnostics: "\(perDirector)") {
            for d in directors { perDirector[d.name] = try d.connections(Self.vip1) }
            return perDirector.values.reduce(0, +) >= 60
        }
        print("connections per director: \(perDirector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        #expect(perDirector.values.allSatisfy { $0 > 0 }, "new connections through all three directors: \(perDirector)")
        // status: both routes announced ("ready"), the session with the router established.
        let (routes, sessions) = try directors[0].bgpStatus()
        #expect(routes == [Self.vip1: "announced", Self.vip2: "announced"], "\(routes)")
        #expect(sessions == ["peer_10_20_0_1": true], "\(sessions)")

        // 2. Maintenance on d3: its routes drain, then go; traffic keeps flowing through d1 and d2.
        let on = try directors[2].cli.run(["maintenance", "on", "--node", "d3", "--run-dir", directors[2].cli.directory.path, "-m", "kernel upgrade"])
        #expect(on.status == 0, "\(on)")
        try waitFor("d3 to leave both multipath routes", timeout: 60, diagnostics: diagnostics()) {
            try Self.nextHops(router, Self.vip1) == ["10.20.0.2", "10.20.0.3"] && Self.nextHops(router, Self.vip2) == ["10.20.0.2", "10.20.0.3"]
        }
        try waitFor("d3's routes withdrawn after the drain", timeout: 30, diagnostics: diagnostics()) {
            let history = try directors[2].cli.run(["history", "-o", "json", "--limit", "50"]).stdout
            return history.contains("bgp-withdraw")
        }
        let history = try directors[2].cli.run(["history", "-o", "json", "--limit", "50"]).stdout
        #expect(history.contains("bgp-drain"), "the drain step comes before the withdrawal: \(history)")
        let during = try Self.requests(client, Self.vip1, 30)
        #expect(during["error", default: 0] == 0, "\(during)")
        let off = try directors[2].cli.run(["maintenance", "off", "--node", "d3", "--run-dir", directors[2].cli.directory.path])
        #expect(off.status == 0, "\(off)")
        try waitFor("three next hops again", timeout: 60, diagnostics: diagnostics()) {
            try Self.nextHops(router, Self.vip1).count == 3 && Self.nextHops(router, Self.vip2).count == 3
        }
        let notes = (try? String(contentsOfFile: directors[2].notes, encoding: .utf8)) ?? ""
        #expect(notes.contains("VIP 10.10.0.100 DRAINING") && notes.contains("VIP 10.10.0.100 WITHDRAWN") && notes.contains("VIP 10.10.0.100 ANNOUNCED"), "\(notes)")

        // 2b. mh + sloppyTcp on every director: a long-lived connection survives its director's
        //     withdrawal. The router moves the flow to another director, which accepts the
        //     mid-flow packet (sloppyTcp) and picks the same real server (mh, same servers in the
        //     same order); the real server still has the TCP state, so lines keep being echoed
        //     after the router dropped the first director. Without sloppyTcp the same move breaks
        //     the connection (the other director's IPVS ignores a mid-flow packet, and its own
        //     stack has no socket for it): both are shown.
        func moveEchoFlow(sloppy: Bool) throws {
            let echoLog = "\(lab.directory.path)/echo-\(sloppy).log", echoStop = "\(lab.directory.path)/echo-\(sloppy).stop"
            _ = try client.spawn("echo-client-\(sloppy)", [
                LabScripts.python, LabScripts.path("echo_client.py"), "\(Self.vip1):8080", echoLog, echoStop, "0.1", "10",
            ])
            func echoLines() -> [Substring] { ((try? String(contentsOfFile: echoLog, encoding: .utf8)) ?? "").split(separator: "\n") }
            func pongs() -> Int { echoLines().filter { $0.hasPrefix("pong ") }.count }
            func echoFailed() -> Bool { echoLines().contains { $0.hasPrefix("error") } }
            let echoDiagnostics = { "echo client:\n\(echoLines().suffix(6).joined(separator: "\n"))\n\(diagnostics())" }
            try waitFor("the echo connection to run", timeout: 60, diagnostics: echoDiagnostics()) { echoFailed() || pongs() >= 10 }
            // The client's end of the connection (`ss`): the flow in each director's `ipvsadm -Lnc`.
            let sockets = try client.check(["ss", "-Htn", "dst", "\(Self.vip1):8080"])
            let flow = try #require(
                sockets.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("10.40.0.50:") }.map(String.init),
                "the client's echo socket: \(sockets)\n\(echoDiagnostics())")
            func carries(_ d: Director) throws -> Bool { try d.host.check(["ipvsadm", "-Lnc"]).contains(flow) }
            let carriers = try directors.filter(carries)
            #expect(carriers.count == 1, "one director holds \(flow): \(carriers.map(\.name))")
            let carrier = try #require(carriers.first, "\(echoDiagnostics())")
            let carrierAddress = carrier.address
            let moved = try carrier.cli.run([
                "maintenance", "on", "--node", carrier.name, "--run-dir", carrier.cli.directory.path, "-m", "move the echo flow",
            ])
            #expect(moved.status == 0, "\(moved)")
            try waitFor("\(carrier.name) out of \(Self.vip1)'s next hops", timeout: 60, diagnostics: echoDiagnostics()) {
                let hops = try Self.nextHops(router, Self.vip1)
                return hops.count == 2 && !hops.contains(carrierAddress)
            }
            // Counted from the moment the router no longer has the carrier: 30 lines (3 s) more,
            // each a round trip through another director, or the client's 10 s reply timeout.
            let atWithdrawal = pongs()
            try waitFor("30 lines echoed after the withdrawal, or the connection broken", timeout: 60, diagnostics: echoDiagnostics()) {
                echoFailed() || pongs() >= atWithdrawal + 30
            }
            let takers = try directors.filter { $0 !== carrier }.filter(carries).map(\.name)
            if sloppy {
                #expect(!echoFailed(), "the connection survived the move: \(echoDiagnostics())")
                #expect(!takers.isEmpty, "another director forwards the flow now: \(echoDiagnostics())")
                print("echo connection with sloppyTcp: \(carrier.name) withdrew, \(takers.joined(separator: ",")) took it over, \(pongs() - atWithdrawal) lines echoed after the withdrawal, \(pongs()) in all")
                _ = FileManager.default.createFile(atPath: echoStop, contents: nil)
                try waitFor("the echo client to close", timeout: 30, diagnostics: echoDiagnostics()) { echoLines().last == "closed" }
                #expect(!echoFailed(), "\(echoDiagnostics())")
                let numbers = echoLines().filter { $0.hasPrefix("pong ") }.compactMap { Int($0.dropFirst(5)) }
                #expect(!numbers.isEmpty && numbers == Array(1...numbers.count), "every line echoed in order on one connection")
                #expect(echoLines().filter { $0.hasPrefix("connected") }.count == 1)
            } else {
                #expect(echoFailed(), "without sloppyTcp the moved flow breaks: \(echoDiagnostics())")
                #expect(takers.isEmpty, "no other director made an entry for a mid-flow packet: \(takers)")
                print("echo connection without sloppyTcp: \(carrier.name) withdrew, \(pongs() - atWithdrawal) lines echoed after the withdrawal, then: \(echoLines().last { $0.hasPrefix("error") } ?? "no error")")
            }
            let back = try carrier.cli.run(["maintenance", "off", "--node", carrier.name, "--run-dir", carrier.cli.directory.path])
            #expect(back.status == 0, "\(back)")
            try waitFor("three next hops again after the move", timeout: 60, diagnostics: diagnostics()) {
                try Self.nextHops(router, Self.vip1).count == 3 && Self.nextHops(router, Self.vip2).count == 3
            }
        }
        try moveEchoFlow(sloppy: true)
        func applyEverywhere(_ file: String, _ text: String) throws {
            for d in directors {
                let applied = try d.lvsctl(["apply", "-f", try d.cli.write(file, text)])
                #expect(applied.status == 0, "\(d.name): \(applied)")
            }
        }
        try applyEverywhere("site-strict.json", Self.manifest.replacingOccurrences(of: #""sloppyTcp": true"#, with: #""sloppyTcp": false"#))
        for d in directors { #expect(try d.host.check(["sysctl", "-n", "net.ipv4.vs.sloppy_tcp"]).hasPrefix("0"), "\(d.name)") }
        try moveEchoFlow(sloppy: false)
        try applyEverywhere("site.json", Self.manifest)
        for d in directors { #expect(try d.host.check(["sysctl", "-n", "net.ipv4.vs.sloppy_tcp"]).hasPrefix("1"), "\(d.name)") }

        // 3. d2 cannot reach r2 (its only server for web2): d2 withdraws 10.10.0.101 only.
        _ = try directors[1].host.check(["ip", "route", "add", "prohibit", "10.20.0.12/32"])
        try waitFor("d2 to withdraw web2's VIP only", timeout: 90, diagnostics: diagnostics()) {
            try Self.nextHops(router, Self.vip2) == ["10.20.0.2", "10.20.0.4"] && Self.nextHops(router, Self.vip1).count == 3
        }
        let web2 = try Self.requests(client, Self.vip2, 20)
        #expect(web2["r2", default: 0] == 20, "\(web2)")
        let (d2Routes, _) = try directors[1].bgpStatus()
        #expect(d2Routes == [Self.vip1: "announced", Self.vip2: "withdrawn"], "\(d2Routes)")
        _ = try directors[1].host.check(["ip", "route", "del", "prohibit", "10.20.0.12/32"])
        try waitFor("d2 to announce web2 again", timeout: 90, diagnostics: diagnostics()) {
            try Self.nextHops(router, Self.vip2).count == 3
        }

        // 4. SIGTERM: d1 withdraws before it exits.
        #expect(directors[0].stopDaemon() == 0)
        // The withdrawal reached BIRD before the exit; the router needs its UPDATE and a kernel write.
        try waitFor("d1 out of both routes after its exit", timeout: 10, diagnostics: diagnostics()) {
            try Self.nextHops(router, Self.vip1) == ["10.20.0.3", "10.20.0.4"] && Self.nextHops(router, Self.vip2) == ["10.20.0.3", "10.20.0.4"]
        }

        // 5. Leave in place: a restart that does not move traffic.
        try directors[0].startDaemon(["--bgp-on-stop", "leave"])
        try waitFor("d1 back in both routes", timeout: 90, diagnostics: diagnostics()) {
            try Self.nextHops(router, Self.vip1).count == 3 && Self.nextHops(router, Self.vip2).count == 3
        }
        #expect(directors[0].stopDaemon() == 0)
        Thread.sleep(forTimeInterval: 3)
        #expect(try Self.nextHops(router, Self.vip1).count == 3, "leave-in-place keeps d1's route: \(diagnostics())")
    }
}
