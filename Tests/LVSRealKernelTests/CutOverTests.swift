import Foundation
import LVSManifest
import LVSModel
import LVSTestSupport
import LVSVRRP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The cut-over from a running keepalived to lvsctl, as README.md ("Cutting over from
/// keepalived") documents it, with traffic through both VIPs the whole time.
///
/// keepalived 2.2.7 in full mode (VRRP and checkers) runs the seed's two-VIP config (a sync group
/// of two instances, nopreempt, PASS authentication, four DR virtual servers with TCP_CHECKs,
/// one with the seed's 80/443 port typo), adapted to the lab's addresses, on director d1. A
/// client holds one TCP connection through VIP 1 port 443, sending a line every 100 ms, and two
/// loops make HTTP requests to both VIPs, each on a new connection. Then the documented steps:
/// import from the config, `apply --take-over` (no kernel write), freeze and kill keepalived (it
/// releases nothing), start keepalived `-P` on the config rendered from the manifest. At the end
/// lvsctl owns the same table (`ipvsadm -Sn` identical, plan empty, drift 0), no request failed,
/// every line was echoed, and the VIPs never left d1 (a /32 copy on lo holds them while keepalived
/// -P starts: it removes its VIPs at start and adds them back as master).
@Suite("Cut-over from a running keepalived")
struct CutOverTests {
    static let vip1 = "10.10.0.100"
    static let vip2 = "10.10.0.101"

    /// The seed's keepalived.conf (LVS-DR, two VIPs in one sync group) with the lab's addresses.
    static func seedConfig() -> String {
        func vs(_ vip: String, _ port: Int, realServers: [(String, Int)], checkPort: Int) -> String {
            var s = "virtual_server \(vip) \(port) {\ndelay_loop 6\nlb_algo rr\nlb_kind DR\nprotocol TCP\n"
            for (rs, rport) in realServers {
                s += "real_server \(rs) \(rport) {\nweight 100\nTCP_CHECK {\nconnect_timeout 3\nretry 3\ndelay_before_retry 3\nconnect_port \(checkPort)\n}\n}\n"
            }
            return s + "}\n"
        }
        func instance(_ name: String, _ vrid: Int, _ vip: String) -> String {
            """
            vrrp_instance \(name) {
            state BACKUP
            interface eth0
            virtual_router_id \(vrid)
            priority 100
            advert_int 1
            nopreempt
            authentication {
            auth_type PASS
            auth_pass 1111
            }
            virtual_ipaddress {
            \(vip)/24 dev eth0
            }
            }

            """
        }
        let rs = [("10.10.0.11", 80), ("10.10.0.12", 80)]
        return """
            vrrp_sync_group GOP {
            group {
            VI_PRI_CONNECT
            VI_PRI_AUTH
            }
            }

            """
            + instance("VI_PRI_CONNECT", 128, vip1)
            + vs(vip1, 80, realServers: rs, checkPort: 80)
            // The seed's typo: a real server on port 80 in the 443 service; keepalived (and the
            // import) use 443, the service port, for DR.
            + vs(vip1, 443, realServers: [("10.10.0.11", 443), ("10.10.0.12", 80)], checkPort: 443)
            + instance("VI_PRI_AUTH", 129, vip2)
            + vs(vip2, 80, realServers: rs, checkPort: 80)
            + vs(vip2, 443, realServers: [("10.10.0.11", 443), ("10.10.0.12", 443)], checkPort: 443)
    }

    @Test func cutOverUnderTraffic() throws {
        let lab = try LabNetwork(prefix: "cut")
        defer { lab.close() }
        let lan = try lab.bridge("lan")
        let d1 = try lab.host("d1", lan.port("10.10.0.1/24"), forwarding: true)
        let client = try lab.host("c", lan.port("10.10.0.50/24"))
        let realServers = try [1, 2].map { try lab.host("r\($0)", lan.port("10.10.0.1\($0)/24")) }
        for (n, r) in zip([1, 2], realServers) {
            try r.makeDRRealServer(vips: [Self.vip1, Self.vip2])
            _ = try r.startHTTPServer("r\(n)", port: 80, checkedFrom: d1)
            _ = try r.startEchoServer("r\(n)", port: 443, checkedFrom: d1)
        }
        let dir = lab.directory.path
        let conf = "\(dir)/keepalived.conf"
        try Self.seedConfig().write(toFile: conf, atomically: true, encoding: .utf8)

        let cli = try CLIRunner(fakeKernel: false)
        cli.commonArguments = ["--netns", d1.name]
        func file(_ name: String) -> String { (try? String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8)) ?? "" }
        func diagnostics() -> String {
            "ipvsadm -Ln:\n\((try? d1.ipvsadm(["-Ln"])) ?? "?")\naddresses:\n\((try? d1.check(["ip", "-4", "-o", "addr"])) ?? "?")\n"
                + "--- keepalived (old):\n\(file("keepalived-old.log").suffix(3000))\n--- keepalived -P:\n\(file("keepalived-vrrp.log").suffix(3000))\n"
                + "--- echo client:\n\(file("echo.log").suffix(2000))\n--- http:\n\(file("http-1.log").suffix(1000))\n\(file("http-2.log").suffix(1000))\n"
                + "--- http errors:\n\(file("http-loop-1.log").suffix(2000))\n\(file("http-loop-2.log").suffix(2000))\n--- vips:\n\(file("vips.log").suffix(1000))"
        }
        func vipsOnD1() throws -> Int {
            let out = try d1.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
            return [Self.vip1, Self.vip2].filter { out.contains(" \($0)/24") }.count
        }

        // 1. keepalived as it runs today: VRRP and checkers, programming IPVS itself.
        _ = try d1.spawn("keepalived-old", [
            "keepalived", "-f", conf, "-n", "-l", "-D",
            "-p", "\(dir)/ka.pid", "-c", "\(dir)/kc.pid", "-r", "\(dir)/kr.pid",
        ])
        try waitFor("keepalived to hold both VIPs and program 4 services with 2 real servers each", timeout: 120, diagnostics: diagnostics()) {
            let table = try d1.ipvsadmSave()
            return try vipsOnD1() == 2 && table.split(separator: "\n").filter { $0.hasPrefix("-a ") }.count == 8
        }
        let before = try d1.ipvsadmSave()

        // 2. Traffic through both VIPs, for the whole cut-over: a long-lived connection (a line
        //    every 100 ms), HTTP requests on new connections, and a record of the VIPs on d1.
        _ = try client.spawn("echo-client", [
            LabScripts.python, LabScripts.path("echo_client.py"), "\(Self.vip1):443", "\(dir)/echo.log", "\(dir)/stop", "0.1",
        ])
        for (n, vip) in [(1, Self.vip1), (2, Self.vip2)] {
            _ = try client.spawn("http-loop-\(n)", [
                "sh", "-c",
                "while [ ! -e \(dir)/stop ]; do \(LabScripts.python) \(LabScripts.path("http_client.py")) \(vip) 5 >> \(dir)/http-\(n).log; done",
            ])
        }
        _ = try d1.spawn("vips", [
            "sh", "-c",
            "while [ ! -e \(dir)/stop ]; do echo $(ip -4 -o addr show | grep -o -e ' \(Self.vip1)/' -e ' \(Self.vip2)/' | sort -u | wc -l); sleep 0.1; done",
        ])
        func pongs() -> Int { file("echo.log").split(separator: "\n").filter { $0.hasPrefix("pong ") }.count }
        func httpBatches() -> Int { file("http-1.log").split(separator: "\n").count + file("http-2.log").split(separator: "\n").count }
        try waitFor("traffic through both VIPs", timeout: 60, diagnostics: diagnostics()) { pongs() >= 10 && httpBatches() >= 2 }

        // 3. Import from the config (never from the live table).
        let site = "\(dir)/site.json"
        // (import reads files only: no --netns, so not through `cli.run`.)
        let imported = try cli.exec([CLIRunner.binary, "import", "keepalived", conf, "--node", "d1", "--name", "site", "--out", site])
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.stderr.contains("differs from the virtual server port 443"), "\(imported)")

        // 4. Without --take-over the services are foreign: refused, and the output says why.
        let refused = try cli.run(["apply", "-f", site, "--node", "d1", "--run-dir", dir, "--keepalived-config", "\(dir)/lvsctl-keepalived.conf", "--no-reload"])
        #expect(refused.status == 1, "\(refused)")
        #expect(!refused.stdout.contains("No changes. The IPVS table matches"), "\(refused)")
        #expect((refused.stdout + refused.stderr).contains("--take-over"), "\(refused)")

        // 5. plan and apply --take-over: lvsctl owns the four services; nothing is written.
        //    The manifest has the vrrp section: this director's files are in the scratch directory,
        //    and the apply writes the VRRP-only keepalived config there (--no-reload: the old
        //    keepalived runs until step 6). That file is the plan's one change.
        let director = ["--node", "d1", "--run-dir", dir, "--keepalived-config", "\(dir)/lvsctl-keepalived.conf",
                        "--keepalived-pid-file", "\(dir)/kp.pid"]
        let plan = try cli.run(["plan", "-f", site, "--take-over", "--detailed-exitcode"] + director)
        #expect(plan.status == 2, "\(plan)")
        #expect(plan.stdout.contains("Taken over"), "\(plan)")
        #expect(plan.stdout.contains("keepalived config"), "\(plan)")
        let apply = try cli.run(["apply", "-f", site, "--take-over", "--no-reload", "-o", "json"] + director)
        #expect(apply.status == 0, "\(apply)")
        let doc = try JSONSerialization.jsonObject(with: Data(apply.stdout.utf8)) as? [String: Any]
        #expect(doc?["kernelWrites"] as? Int == 0, "\(apply)")
        #expect(try d1.ipvsadmSave() == before)

        // 6. keepalived goes without releasing anything: frozen, then killed (its stop path would
        //    delete the services and the VIPs), and keepalived -P starts on the VRRP-only config
        //    rendered from the manifest: it removes the VIPs, waits the master-down interval and
        //    adds them back as master. IPVS is never touched; the lo copies bridge the gap.
        let rendered = file("lvsctl-keepalived.conf")
        #expect(rendered.contains("vrrp_instance") && !rendered.contains("virtual_server"), "\(rendered)")
        // What `lvsctl run` and `lvsctl maintenance` keep in the track files (no daemon runs here).
        for track in ["maintenance", "readiness"] { try "0\n".write(toFile: "\(dir)/\(track)", atomically: true, encoding: .utf8) }
        try ProcessRunner.check(["mkfifo", "\(dir)/vrrp.fifo"])
        _ = try lab.spawn("fifo", in: nil, ["cat", "\(dir)/vrrp.fifo"])
        let pids = ["ka.pid", "kc.pid", "kr.pid"].map { file($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(pids.allSatisfy { Int($0) != nil }, "\(pids)")
        // keepalived -P removes the VIPs it is configured with when it starts (BACKUP init) and
        // adds them back as master a master-down interval later (~3.6 s); meanwhile d1, a router,
        // answered new connections with "No route to host" (2 of 180 requests failed, measured).
        // A /32 copy of each VIP on lo keeps them local to d1 (IPVS keeps serving) until then.
        for vip in [Self.vip1, Self.vip2] { _ = try d1.check(["ip", "addr", "add", "\(vip)/32", "dev", "lo"]) }
        try ProcessRunner.check(["kill", "-STOP", pids[0]])
        try ProcessRunner.check(["kill", "-KILL", pids[1], pids[2]])
        try ProcessRunner.check(["kill", "-KILL", pids[0]])
        _ = try d1.spawn("keepalived-vrrp", [
            "keepalived", "-P", "-n", "-l", "-D", "-f", "\(dir)/lvsctl-keepalived.conf",
            "-p", "\(dir)/kp.pid", "-r", "\(dir)/kpr.pid",
        ])
        try waitFor("keepalived -P to be master of the sync group", timeout: 60, diagnostics: diagnostics()) {
            file("fifo.log").contains("GROUP \"GOP\" MASTER")
        }
        try waitFor("keepalived -P to put both VIPs back on eth0", timeout: 30, diagnostics: diagnostics()) { try vipsOnD1() == 2 }
        for vip in [Self.vip1, Self.vip2] { _ = try d1.check(["ip", "addr", "del", "\(vip)/32", "dev", "lo"]) }

        // 7. Traffic went on; a little more of it on the new arrangement.
        let pongsAtCutOver = pongs()
        let batchesAtCutOver = httpBatches()
        try waitFor("more traffic after the cut-over", timeout: 60, diagnostics: diagnostics()) {
            pongs() >= pongsAtCutOver + 20 && httpBatches() >= batchesAtCutOver + 2
        }
        try Data().write(to: URL(fileURLWithPath: "\(dir)/stop"))
        try waitFor("the echo client to close", timeout: 30, diagnostics: diagnostics()) { file("echo.log").contains("closed") }

        // lvsctl owns the same table, with nothing pending and no drift.
        #expect(try d1.ipvsadmSave() == before)
        let again = try cli.run(["plan", "-f", site, "--detailed-exitcode"] + director)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("No changes"), "\(again)")
        let drift = try cli.run(["drift"] + director)
        #expect(drift.status == 0, "\(drift)")

        // No failed request, no lost line.
        let echo = file("echo.log").split(separator: "\n")
        #expect(!echo.contains { $0.hasPrefix("error") }, "\(diagnostics())")
        let numbers = echo.filter { $0.hasPrefix("pong ") }.compactMap { Int($0.dropFirst(5)) }
        #expect(numbers == Array(1...max(1, numbers.count)), "\(diagnostics())")
        let tallies = (file("http-1.log") + file("http-2.log")).split(separator: "\n")
        let errors = tallies.flatMap { $0.split(separator: " ") }.filter { $0.hasPrefix("error=") }.compactMap { Int($0.dropFirst(6)) }.reduce(0, +)
        let answered = tallies.flatMap { $0.split(separator: " ") }.filter { $0.hasPrefix("r1=") || $0.hasPrefix("r2=") }.compactMap { Int($0.dropFirst(3)) }.reduce(0, +)
        print("cut-over: \(numbers.count) lines echoed, \(answered) HTTP requests answered, \(errors) failed")
        #expect(errors == 0, "\(diagnostics())")
        #expect(answered >= 20, "\(diagnostics())")
        // The VIPs never left d1 (on eth0, or on lo while keepalived -P started).
        let samples = file("vips.log").split(separator: "\n").map(String.init)
        #expect(samples.count >= 10)
        #expect(samples.first == "2" && samples.last == "2", "\(diagnostics())")
        let runs = samples.reduce(into: [(String, Int)]()) { runs, s in
            if runs.last?.0 == s { runs[runs.count - 1].1 += 1 } else { runs.append((s, 1)) }
        }
        let away = runs.filter { $0.0 != "2" }.map(\.1).reduce(0, +)
        print("cut-over: VIPs off d1 for \(away) samples of 0.1 s (\(runs.map { "\($0.0)×\($0.1)" }.joined(separator: " ")))")
        #expect(away == 0, "the VIPs left d1: \(runs)")
    }
}
