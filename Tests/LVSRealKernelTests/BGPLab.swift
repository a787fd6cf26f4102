import Dispatch
import Foundation
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Directors behind a router's ECMP, each announcing VIPs over BGP with BIRD 2 as lvsctl
/// configures it (issue #16): the set-up `BGPTests` and `BGPFaultTests` share. In the lab
/// guest, as root:
///
/// - router `r` (10.20.0.1 on the director LAN, 10.40.0.1 on the client LAN) runs BIRD with
///   `merge paths` into its kernel table, peers with d1–d3 (those not started stay down) and
///   hashes flows on ports (multipath hash policy 1);
/// - directors dN (10.20.0.N+1), each with its own store and CLI directory; the VIPs on `lo`
///   unless told otherwise;
/// - DR real servers r1 (10.20.0.11) and r2 (10.20.0.12) answer HTTP with their name (and echo
///   on 8080);
/// - the client (10.40.0.50) talks to the VIPs through the router.
final class BGPLab {
    static let vip1 = "10.10.0.100", vip2 = "10.10.0.101"

    /// web1 (10.10.0.100:80 → r1, r2), web2 (10.10.0.101:80 → r2) and echo (10.10.0.100:8080),
    /// all `mh` with sloppyTcp; `bgpExtra` is spliced into the bgp section (e.g. `, "vipDevice": "lo"`).
    static func manifest(bgpExtra: String = "") -> String {
        """
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
                 "drain": {"seconds": 2}\(bgpExtra)}}
        """
    }

    static let routerConfig = """
        router id 10.20.0.1;
        protocol device {}
        protocol kernel { ipv4 { import none; export all; }; merge paths on; }
        template bgp directors { local as 65000; hold time 9; ipv4 { import all; export none; }; }
        protocol bgp d1 from directors { neighbor 10.20.0.2 as 65001; }
        protocol bgp d2 from directors { neighbor 10.20.0.3 as 65001; }
        protocol bgp d3 from directors { neighbor 10.20.0.4 as 65001; }
        """

    let lab: LabNetwork
    let router: LabHost
    let client: LabHost
    let servers: [LabHost]
    let directors: [Director]
    private(set) var routerBird: BackgroundProcess?
    var routerSocket: String { "\(lab.directory.path)/router.ctl" }

    /// - Parameters:
    ///   - directors: how many (d1, d2, … at most 3: the router peers with three).
    ///   - vipsOnLo: put both VIPs on each director's `lo` (false: a test that lets lvsctl do it).
    init(prefix: String, directors count: Int = 3, vipsOnLo: Bool = true) throws {
        precondition((1...3).contains(count))
        Self.exclusive.wait()
        do {
            lab = try LabNetwork(prefix: prefix)
        } catch {
            Self.exclusive.signal()
            throw error
        }
        do {
            let lan = try lab.bridge("lan"), clients = try lab.bridge("cl")
            router = try lab.host("r", lan.port("10.20.0.1/24"), clients.port("10.40.0.1/24"), forwarding: true)
            // Hash on ports as well as addresses, so one client's connections spread over the
            // directors; DR answers come back from the VIP through the router: no reverse-path filter.
            try router.sysctl(
                "net.ipv4.fib_multipath_hash_policy=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.eth1.rp_filter=0")
            client = try lab.host("c", clients.port("10.40.0.50/24"), gateway: "10.40.0.1")
            var servers: [LabHost] = []
            for (name, address) in [("r1", "10.20.0.11"), ("r2", "10.20.0.12")] {
                let h = try lab.host(name, lan.port("\(address)/24"), gateway: "10.20.0.1")
                try h.makeDRRealServer(vips: [Self.vip1, Self.vip2])
                _ = try h.startHTTPServer(name)
                _ = try h.startEchoServer("\(name)-echo", port: 8080)
                servers.append(h)
            }
            self.servers = servers
            var directors: [Director] = []
            for i in 0..<count {
                let name = "d\(i + 1)", address = "10.20.0.\(i + 2)"
                let h = try lab.host(name, lan.port("\(address)/24"))
                // The VIPs are local (IPVS receives them) but never answered for over ARP: the
                // router reaches them through BGP's next hops only.
                if vipsOnLo { try h.makeDRRealServer(vips: [Self.vip1, Self.vip2]) }
                directors.append(try Director(name: name, address: address, host: h))
            }
            self.directors = directors
            try Self.routerConfig.write(toFile: "\(lab.directory.path)/router.conf", atomically: true, encoding: .utf8)
            try startRouterBird()
        } catch {
            lab.close()
            Self.exclusive.signal()
            throw error
        }
    }

    /// One BGP lab at a time in this process. BGP keeps real-time promises (hold time 9 s, BIRD's
    /// timers, the health checks' 1 s), and the guest has two emulated CPUs: two of these labs at
    /// once (BGPTests beside BGPFaultTests, eight BIRDs and daemons) starved them until hold
    /// timers expired and a request waited 12.9 s and was reset. Other suites may still run
    /// beside one lab, as they did before.
    private static let exclusive = DispatchSemaphore(value: 1)
    private var closed = false

    /// Ends the lab (every process in it) and lets the next BGP lab start; call it exactly once
    /// (`defer`).
    func close() {
        guard !closed else { return }
        closed = true
        lab.close()
        Self.exclusive.signal()
    }

    func startRouterBird() throws {
        let dir = lab.directory.path
        routerBird = try router.spawn(
            "bird-router-\(UInt32.random(in: 0...UInt32.max))",
            ["bird", "-f", "-c", "\(dir)/router.conf", "-s", routerSocket, "-P", "\(dir)/router.pid"])
    }

    /// SIGTERM to the router's BIRD: its sessions close and its routes leave the router's table.
    func stopRouterBird() throws {
        if let b = routerBird { _ = try b.stop() }
        routerBird = nil
    }

    /// Applies `text` on every director (as `file` in its CLI directory), starts each daemon,
    /// waits for the config lvsctl renders before BIRD runs (its first reconfigure fails: BIRD
    /// is not running yet), and starts BIRD from that file; lvsctl's next attempt takes.
    func applyAndStart(_ text: String, file: String = "site.json") throws {
        for d in directors {
            let applied = try d.lvsctl(["apply", "-f", try d.cli.write(file, text)])
            #expect(applied.status == 0, "\(d.name): \(applied)")
            try d.startDaemon()
        }
        for d in directors {
            try waitFor("\(d.name)'s rendered BIRD config", timeout: 90, diagnostics: diagnostics()) {
                FileManager.default.fileExists(atPath: d.birdConfig)
            }
            try d.startBird()
        }
    }

    func diagnostics() -> String {
        let routes = (try? router.check(["ip", "-4", "route"])) ?? "?"
        let protocols = (try? ProcessRunner.run(["birdc", "-s", routerSocket, "show", "protocols"]).stdout) ?? "?"
        return "router routes:\n\(routes)\nrouter protocols:\n\(protocols)\n" + directors.map(\.log).joined(separator: "\n")
    }

    /// The router's next hops for `vip` (`ip route show`), sorted.
    func nextHops(_ vip: String) throws -> [String] {
        let out = try router.check(["ip", "-4", "route", "show", "\(vip)/32"])
        var hops: [String] = []
        let words = out.split(whereSeparator: \.isWhitespace).map(String.init)
        for (i, w) in words.enumerated() where w == "via" && i + 1 < words.count { hops.append(words[i + 1]) }
        return hops.sorted()
    }

    /// HTTP requests from the client, each on a new connection: who answered (`error` counts failures).
    func requests(_ vip: String, _ n: Int) throws -> [String: Int] {
        let r = try client.run([LabScripts.python, LabScripts.path("http_client.py"), vip, "\(n)"])
        var tally: [String: Int] = [:]
        for pair in r.stdout.split(whereSeparator: \.isWhitespace) {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let n = Int(kv[1]) { tally[String(kv[0])] = n }
        }
        if !r.stderr.isEmpty { print("client → \(vip): \(r.stderr)") }
        return tally
    }

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
        /// Daemons and BIRDs started so far (each gets its own log).
        private var starts = 0

        init(name: String, address: String, host: LabHost) throws {
            self.name = name
            self.address = address
            self.host = host
            cli = try CLIRunner(fakeKernel: false)
        }

        func lvsctl(_ args: [String]) throws -> CLIRunner.Result { try cli.run(args + ["--netns", host.name]) }

        var daemonLogName: String { "daemon-\(name)" }

        func startDaemon(_ extra: [String] = []) throws {
            let hook = try cli.write("hook.sh", "#!/bin/sh\necho \"$@\" >> \(notes)\n")
            chmod(hook, 0o755)
            let config = try cli.write("daemon.json", """
                { "interval": 2, "jitter": 0, "metricsAddress": "",
                  "notify": { "exec": { "path": "\(hook)", "timeout": 5 } } }
                """)
            daemon = try host.spawn(daemonLogName, [
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
            starts += 1
            bird = try host.spawn(
                starts == 1 ? "bird-\(name)" : "bird-\(name)-\(starts)",
                ["bird", "-f", "-c", birdConfig, "-s", birdSocket, "-P", birdSocket + ".pid"])
        }

        /// SIGTERM to this director's BIRD (it exits, its sessions close).
        func stopBird() throws {
            if let b = bird { _ = try b.stop() }
            bird = nil
        }

        /// `lvsctl status -o json` on this director: the `bgp` object.
        func bgpStatusDocument() throws -> [String: Any] {
            let r = try lvsctl(["status", "-o", "json", "--node", name, "--bird-socket", birdSocket])
            #expect(r.status == 0, "\(r)")
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return try #require(doc?["bgp"] as? [String: Any], "\(r)")
        }

        /// Each route's state by address, and whether each BGP session is established.
        func bgpStatus() throws -> (routes: [String: String], sessions: [String: Bool]) {
            let bgp = try bgpStatusDocument()
            #expect(bgp["routerId"] as? String == address, "\(bgp)")
            var routes: [String: String] = [:]
            for route in bgp["routes"] as? [[String: Any]] ?? [] {
                if let vip = route["vip"] as? String { routes[vip] = route["state"] as? String }
            }
            var sessions: [String: Bool] = [:]
            for s in bgp["sessions"] as? [[String: Any]] ?? [] {
                if let n = s["name"] as? String { sessions[n] = s["established"] as? Bool }
            }
            if sessions.isEmpty { print("status of \(name): \(bgp)") }
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

        /// The daemon's log so far.
        var daemonLog: String {
            (try? String(contentsOfFile: host.network.directory.appendingPathComponent("\(daemonLogName).log").path, encoding: .utf8)) ?? ""
        }

        var log: String {
            ["daemon-\(name)", "bird-\(name)"].map { n in
                "--- \(n):\n" + ((try? String(contentsOfFile: host.network.directory.appendingPathComponent("\(n).log").path, encoding: .utf8))
                    .map { String($0.suffix(3000)) } ?? "")
            }.joined(separator: "\n") + "\n--- bird.conf:\n" + ((try? String(contentsOfFile: birdConfig, encoding: .utf8)) ?? "(none)")
        }
    }
}
