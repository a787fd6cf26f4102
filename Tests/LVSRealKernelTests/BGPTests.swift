import Foundation
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Three directors behind a router's ECMP, each announcing the VIPs over BGP with BIRD 2 as
/// lvsctl configures it (issue #16); the lab is ``BGPLab`` (router, client, DR real servers r1
/// and r2, directors d1–d3 with the VIPs on `lo`).
///
/// web1 (10.10.0.100:80 → r1, r2) and web2 (10.10.0.101:80 → r2), both `mh` with sloppyTcp.
@Suite("BGP: directors behind ECMP, announced by lvsctl through BIRD")
struct BGPTests {
    static let vip1 = BGPLab.vip1, vip2 = BGPLab.vip2
    static let manifest = BGPLab.manifest()
    typealias Director = BGPLab.Director

    @Test func ecmpAcrossThreeDirectorsMaintenanceHealthAndStop() throws {
        let site = try BGPLab(prefix: "bgp")
        defer { site.close() }
        let lab = site.lab, router = site.router, client = site.client, directors = site.directors
        func diagnostics() -> String { site.diagnostics() }
        try site.applyAndStart(Self.manifest)

        // 1. All ready: three next hops for each VIP, and traffic through all three directors.
        try waitFor("three next hops for both VIPs", timeout: 180, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1).count == 3 && site.nextHops(Self.vip2).count == 3
        }
        #expect(try site.nextHops(Self.vip1) == ["10.20.0.2", "10.20.0.3", "10.20.0.4"])
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
        let tally = try site.requests(Self.vip1, 60)
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
            try site.nextHops(Self.vip1) == ["10.20.0.2", "10.20.0.3"] && site.nextHops(Self.vip2) == ["10.20.0.2", "10.20.0.3"]
        }
        try waitFor("d3's routes withdrawn after the drain", timeout: 30, diagnostics: diagnostics()) {
            let history = try directors[2].cli.run(["history", "-o", "json", "--limit", "50"]).stdout
            return history.contains("bgp-withdraw")
        }
        let history = try directors[2].cli.run(["history", "-o", "json", "--limit", "50"]).stdout
        #expect(history.contains("bgp-drain"), "the drain step comes before the withdrawal: \(history)")
        let during = try site.requests(Self.vip1, 30)
        #expect(during["error", default: 0] == 0, "\(during)")
        let off = try directors[2].cli.run(["maintenance", "off", "--node", "d3", "--run-dir", directors[2].cli.directory.path])
        #expect(off.status == 0, "\(off)")
        try waitFor("three next hops again", timeout: 60, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1).count == 3 && site.nextHops(Self.vip2).count == 3
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
                let hops = try site.nextHops(Self.vip1)
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
                try site.nextHops(Self.vip1).count == 3 && site.nextHops(Self.vip2).count == 3
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
            try site.nextHops(Self.vip2) == ["10.20.0.2", "10.20.0.4"] && site.nextHops(Self.vip1).count == 3
        }
        let web2 = try site.requests(Self.vip2, 20)
        #expect(web2["r2", default: 0] == 20, "\(web2)")
        let (d2Routes, _) = try directors[1].bgpStatus()
        #expect(d2Routes == [Self.vip1: "announced", Self.vip2: "withdrawn"], "\(d2Routes)")
        _ = try directors[1].host.check(["ip", "route", "del", "prohibit", "10.20.0.12/32"])
        try waitFor("d2 to announce web2 again", timeout: 90, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip2).count == 3
        }

        // 4. SIGTERM: d1 withdraws before it exits.
        #expect(directors[0].stopDaemon() == 0)
        // The withdrawal reached BIRD before the exit; the router needs its UPDATE and a kernel write.
        try waitFor("d1 out of both routes after its exit", timeout: 10, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1) == ["10.20.0.3", "10.20.0.4"] && site.nextHops(Self.vip2) == ["10.20.0.3", "10.20.0.4"]
        }

        // 5. Leave in place: a restart that does not move traffic.
        try directors[0].startDaemon(["--bgp-on-stop", "leave"])
        try waitFor("d1 back in both routes", timeout: 90, diagnostics: diagnostics()) {
            try site.nextHops(Self.vip1).count == 3 && site.nextHops(Self.vip2).count == 3
        }
        #expect(directors[0].stopDaemon() == 0)
        Thread.sleep(forTimeInterval: 3)
        #expect(try site.nextHops(Self.vip1).count == 3, "leave-in-place keeps d1's route: \(diagnostics())")
    }
}
