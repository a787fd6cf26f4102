import Foundation
import LVSTestSupport
import LVSVRRP
import Testing

/// The director pair end to end (#14), in the lab guest: two directors d1 and d2 in namespaces on
/// one bridge, each with its own database, run directory, keepalived config and pid file; one
/// manifest applied with `lvsctl apply --node d1` / `--node d2`; keepalived 2.2.7 `-P` started by
/// the test on the files lvsctl rendered; two DR real servers and a client.
///
/// What is proven: d1 becomes master and the VIP serves HTTP from both real servers; `ipvsadm -Sn`
/// stays byte-identical while keepalived starts, reloads and stops; an established TCP connection
/// (a line every 100 ms) survives link-down of the master and the failback with the sync daemons
/// in the manifest, and breaks without them; a priority change is one planned change to the
/// rendered config, reloads keepalived and moves no VIP; a missing interface and a keepalived that
/// is not running are refused before anything is written.
@Suite("Director pair: rendered keepalived config, failover and connection sync", .serialized)
struct DirectorPairTests {
    static let vip = "10.78.0.100"

    /// The manifest: HTTP on VIP:80 and an echo service on VIP:8080 (both wrr over r1 and r2,
    /// DR), one VRRP instance with d1 preferred.
    static func manifest(sync: Bool = true, interface: String = "eth0", d1Priority: Int = 150, d2Priority: Int = 100) -> String {
        let daemons = sync
            ? #""syncDaemons": [{"state": "master", "interface": "eth0", "syncId": 7}, {"state": "backup", "interface": "eth0", "syncId": 7}]"#
            : #""syncDaemons": []"#
        return """
            {"apiVersion": "lvsctl/v1", "name": "pair",
             "services": [
               {"name": "web", "protocol": "tcp", "address": "\(vip)", "port": 80, "scheduler": "wrr", "forwarding": "dr",
                "realServers": [{"address": "10.78.0.11", "port": 80}, {"address": "10.78.0.12", "port": 80}]},
               {"name": "echo", "protocol": "tcp", "address": "\(vip)", "port": 8080, "scheduler": "wrr", "forwarding": "dr",
                "realServers": [{"address": "10.78.0.11", "port": 8080}, {"address": "10.78.0.12", "port": 8080}]}],
             "settings": {\(daemons)},
             "vrrp": {"instances": [
               {"name": "VI_1", "interface": "\(interface)", "virtualRouterId": 61, "advertInterval": 1,
                "addresses": ["\(vip)/24"], "priority": {"d1": \(d1Priority), "d2": \(d2Priority)}, "preempt": true}]}}
            """
    }

    /// One director: its namespace, its own lvsctl files and its keepalived.
    final class Director {
        let node: String
        let host: LabHost
        let cli: CLIRunner
        let dir: String
        var keepalived: BackgroundProcess?

        init(_ node: String, host: LabHost, scratch: String) throws {
            self.node = node
            self.host = host
            dir = "\(scratch)/\(node)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            cli = try CLIRunner(fakeKernel: false)
            cli.commonArguments = ["--netns", host.name]
        }

        var paths: DirectorPaths {
            DirectorPaths(runDirectory: "\(dir)/run", keepalivedConfig: "\(dir)/etc/keepalived.conf", keepalivedPIDFile: "\(dir)/keepalived.pid")
        }
        var config: String { paths.keepalivedConfig }
        var pidFile: String { paths.keepalivedPIDFile }
        var directorArguments: [String] {
            ["--node", node, "--run-dir", paths.runDirectory, "--keepalived-config", config, "--keepalived-pid-file", pidFile]
        }

        @discardableResult
        func lvsctl(_ arguments: [String]) throws -> CLIRunner.Result { try cli.run(arguments + directorArguments) }

        func startKeepalived() throws {
            keepalived = try LabKeepalived.start(on: host, node: node, paths: paths)
        }

        func stopKeepalived() throws {
            if let k = keepalived { _ = try k.stop(SIGTERM, timeout: 30) }
            keepalived = nil
        }

        var keepalivedLog: String { keepalived?.log ?? "" }

        func holdsVIP() throws -> Bool {
            try host.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).contains(" \(DirectorPairTests.vip)/")
        }
    }

    /// The lab: bridge, directors, DR real servers with HTTP and echo servers, a client.
    final class Lab {
        let net: LabNetwork
        let d1: Director
        let d2: Director
        let client: LabHost
        let manifestPath: String

        init(manifest: String) throws {
            net = try LabNetwork(prefix: "dp")
            do {
                let lan = try net.bridge("lan")
                let scratch = net.directory.path
                d1 = try Director("d1", host: try net.host("d1", lan.port("10.78.0.2/24")), scratch: scratch)
                d2 = try Director("d2", host: try net.host("d2", lan.port("10.78.0.3/24")), scratch: scratch)
                client = try net.host("c", lan.port("10.78.0.50/24"))
                for (name, address) in [("r1", "10.78.0.11/24"), ("r2", "10.78.0.12/24")] {
                    let r = try net.host(name, lan.port(address))
                    try r.makeDRRealServer(vips: [DirectorPairTests.vip])
                    _ = try r.startHTTPServer(name, port: 80)
                    _ = try r.startEchoServer(name, port: 8080)
                }
                manifestPath = "\(scratch)/pair.json"
                try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)
            } catch {
                net.close()
                throw error
            }
        }

        func close() {
            try? d1.stopKeepalived()
            try? d2.stopKeepalived()
            net.close()
        }

        var diagnostics: String {
            [d1, d2].map { d in
                "--- \(d.node) keepalived:\n\(d.keepalived?.logTail(40) ?? "(not running)")\n--- \(d.node) eth0: "
                    + ((try? d.host.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])) ?? "?")
                    + "\n--- \(d.node) ipvsadm -Lcn:\n" + ((try? d.host.ipvsadm(["-Lcn"])) ?? "?")
            }.joined(separator: "\n")
        }

        /// Applies the manifest on both directors (keepalived not running yet: `--no-reload`).
        func bootstrap() throws {
            for d in [d1, d2] {
                let r = try d.lvsctl(["apply", "-f", manifestPath, "--no-reload"])
                #expect(r.status == 0, "\(d.node): \(r)")
                #expect(r.stdout.contains("+ write keepalived config \(d.config)"), "\(r)")
            }
        }

        func startPair() throws {
            try d1.startKeepalived()
            try d2.startKeepalived()
            try waitFor("d1 to hold the VIP and d2 not", timeout: 90, diagnostics: diagnostics) {
                try d1.holdsVIP() && !d2.holdsVIP()
            }
        }
    }

    // MARK: - Tests

    /// keepalived not running, keepalived not installed, a missing interface: refused, nothing written (IPVS empty, no
    /// file), then the bootstrap with `--no-reload`, d1 master, HTTP from both real servers,
    /// `ipvsadm -Sn` unchanged through keepalived's start, a reload and its stop, and a priority
    /// change that is one planned change, a reload, and no VIP move.
    @Test func renderApplyReloadAndPriorityChange() throws {
        let lab = try Lab(manifest: Self.manifest())
        defer { lab.close() }
        let (d1, d2) = (lab.d1, lab.d2)

        // keepalived is not running: refused before any write, with how to start it.
        let refused = try d1.lvsctl(["apply", "-f", lab.manifestPath])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("keepalived is not running") && refused.stderr.contains("--no-reload"), "\(refused)")
        #expect(try d1.host.ipvsadmSave().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: d1.config))

        // keepalived not installed (hidden by /dev/null in a private mount namespace): refused,
        // naming the package, nothing written.
        let hidden = try d1.cli.exec([
            "unshare", "--mount", "sh", "-c", "mount --bind /dev/null \"$(command -v keepalived)\" && exec \"$@\"", "sh",
            CLIRunner.binary, "apply", "-f", lab.manifestPath, "--no-reload",
        ] + d1.cli.commonArguments + d1.directorArguments)
        #expect(hidden.status == 1, "\(hidden)")
        #expect(hidden.stderr.contains("keepalived is not installed") && hidden.stderr.contains("apt-get install keepalived"), "\(hidden)")
        #expect(try d1.host.ipvsadmSave().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: d1.config))

        // A VRRP interface that does not exist in d1's namespace: the JSON path, nothing written.
        let bad = "\(lab.net.directory.path)/bad.json"
        try Self.manifest(interface: "eth9").write(toFile: bad, atomically: true, encoding: .utf8)
        for command in ["plan", "apply"] {
            let r = try d1.lvsctl([command, "-f", bad] + (command == "apply" ? ["--no-reload"] : []))
            #expect(r.status == 1, "\(command): \(r)")
            #expect(r.stderr.contains("vrrp.instances[0].interface: interface 'eth9' does not exist"), "\(command): \(r)")
        }
        #expect(try d1.host.ipvsadmSave().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: d1.config))

        // Bootstrap: both directors, then keepalived on the rendered files.
        try lab.bootstrap()
        for d in [d1, d2] {
            let text = try String(contentsOfFile: d.config, encoding: .utf8)
            #expect(text.contains("priority \(d.node == "d1" ? 150 : 100)") && !text.contains("virtual_server") && !text.contains("lvs_sync_daemon"))
            #expect(try d.lvsctl(["plan", "-f", lab.manifestPath, "--detailed-exitcode"]).status == 0, "an unchanged render plans nothing")
            #expect(try d.lvsctl(["drift"]).status == 0)
            let history = try d.cli.run(["history"]).stdout
            #expect(history.split(separator: "\n").filter { $0.contains("create-keepalived-config") }.count == 1, "\(history)")
        }
        let before = (try d1.host.ipvsadmSave(), try d2.host.ipvsadmSave())
        #expect(before.0.contains("-A -t \(Self.vip):80 -s wrr") && before.0 == before.1)

        try lab.startPair()
        #expect(try (d1.host.ipvsadmSave(), d2.host.ipvsadmSave()) == before, "keepalived -P started: IPVS untouched")

        // HTTP through the VIP, from both real servers.
        var seen = Set<String>()
        try waitFor("HTTP through the VIP from r1 and r2", timeout: 60, diagnostics: lab.diagnostics) {
            let r = try lab.client.curl("http://\(Self.vip)/")
            if r.status == 0 { seen.insert(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return seen.contains { $0.contains("r1") } && seen.contains { $0.contains("r2") }
        }

        // A priority change that keeps d1 ahead: one change, to the rendered config; a reload;
        // no VIP moves; d2's render is unchanged.
        try Self.manifest(d1Priority: 140).write(toFile: lab.manifestPath, atomically: true, encoding: .utf8)
        let plan = try d1.lvsctl(["plan", "-f", lab.manifestPath])
        let planned = plan.stdout.split(separator: "\n").filter { $0.hasPrefix("  +") || $0.hasPrefix("  ~") || $0.hasPrefix("  -") }
        #expect(planned == ["  ~ rewrite keepalived config \(d1.config): vrrp_instance VI_1 priority 150 → 140; keepalived is reloaded"], "\(plan)")
        let json = try d1.lvsctl(["plan", "-f", lab.manifestPath, "-o", "json"])
        #expect(json.stdout.contains("configFileChanged") && json.stdout.contains("updateKeepalivedConfig"), "\(json)")
        #expect(try d2.lvsctl(["plan", "-f", lab.manifestPath, "--detailed-exitcode"]).status == 0, "d2's render did not change")

        let reloadsBefore = d1.keepalivedLog.components(separatedBy: "Reloading").count
        let d2MasterBefore = d2.keepalivedLog.components(separatedBy: "Entering MASTER STATE").count
        let applied = try d1.lvsctl(["apply", "-f", lab.manifestPath])
        #expect(applied.status == 0, "\(applied)")
        try waitFor("d1's keepalived to reload", timeout: 60, diagnostics: lab.diagnostics) {
            d1.keepalivedLog.components(separatedBy: "Reloading").count > reloadsBefore
        }
        try waitFor("d1's keepalived to run with priority 140", timeout: 60, diagnostics: lab.diagnostics) {
            try String(contentsOfFile: d1.config, encoding: .utf8).contains("priority 140")
                && d1.keepalivedLog.components(separatedBy: "Reloading").count > reloadsBefore
        }
        // Over three advert intervals after the reload: d1 keeps the VIP, d2 never became master.
        let watchUntil = Date().addingTimeInterval(4)
        while Date() < watchUntil {
            #expect(try d1.holdsVIP() && !d2.holdsVIP(), "the VIP moved on a reload that keeps d1 ahead\n\(lab.diagnostics)")
            Thread.sleep(forTimeInterval: 0.25)
        }
        #expect(d2.keepalivedLog.components(separatedBy: "Entering MASTER STATE").count == d2MasterBefore, "\(lab.diagnostics)")
        #expect(try (d1.host.ipvsadmSave(), d2.host.ipvsadmSave()) == before, "keepalived reloaded: IPVS untouched")
        #expect(try d1.lvsctl(["drift"]).status == 0)
        let history = try d1.cli.run(["history"]).stdout
        #expect(history.split(separator: "\n").filter { $0.contains("update-keepalived-config") }.count == 1, "\(history)")

        // A hand edit is drift; drift --fix rewrites it (and reloads).
        let text = try String(contentsOfFile: d1.config, encoding: .utf8)
        try text.replacingOccurrences(of: "priority 140", with: "priority 90").write(toFile: d1.config, atomically: true, encoding: .utf8)
        let drift = try d1.lvsctl(["drift"])
        #expect(drift.status == 2 && drift.stdout.contains("keepalivedConfig \(d1.config): vrrp_instance VI_1 priority: expected 140, live 90"), "\(drift)")
        #expect(try d1.lvsctl(["drift", "--fix"]).status == 0)
        #expect(try d1.lvsctl(["drift"]).status == 0)

        // keepalived stops: IPVS untouched.
        try d1.stopKeepalived()
        try d2.stopKeepalived()
        #expect(try (d1.host.ipvsadmSave(), d2.host.ipvsadmSave()) == before, "keepalived stopped: IPVS untouched")
    }

    /// The established connection across link-down of the master and the failback: with both
    /// sync daemons on both directors every line is echoed; without sync daemons it breaks.
    @Test(arguments: [true, false])
    func connectionAcrossFailover(sync: Bool) throws {
        let lab = try Lab(manifest: Self.manifest(sync: sync))
        defer { lab.close() }
        let (d1, d2) = (lab.d1, lab.d2)
        try lab.bootstrap()
        try lab.startPair()

        let scratch = lab.net.directory.path
        let log = "\(scratch)/echo-pongs.log", stop = "\(scratch)/echo-client.stop"
        _ = try lab.client.spawn("echo-client", [
            LabScripts.python, LabScripts.path("echo_client.py"), "\(Self.vip):8080", log, stop, "0.1", "30",
        ])
        func lines() -> [Substring] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        }
        func pongs() -> Int { lines().filter { $0.hasPrefix("pong ") }.count }
        func failed() -> Bool { lines().contains { $0.hasPrefix("error") } }
        let diagnostics = { "client:\n\(lines().suffix(8).joined(separator: "\n"))\n\(lab.diagnostics)" }

        try waitFor("the echo connection to run", timeout: 60, diagnostics: diagnostics()) { pongs() >= 20 }
        if sync {
            // The entry is on d2 once d1's master sync daemon sent it (3 packets, then a flush).
            try waitFor("d2 to hold the synced connection", timeout: 60, diagnostics: diagnostics()) {
                try d2.host.ipvsadm(["-Lcn"]).contains("\(Self.vip):8080")
            }
        }

        // The master's link goes down: d2 takes over.
        let atFailover = pongs()
        try d1.host.check(["ip", "link", "set", "eth0", "down"])
        try waitFor("d2 to hold the VIP", timeout: 60, diagnostics: diagnostics()) { try d2.holdsVIP() }
        if !sync {
            try waitFor("the connection to break on d2 (no synced entry)", timeout: 60, diagnostics: diagnostics()) { failed() }
            #expect(!lines().contains { $0 == "closed" } || failed())
            return
        }
        try waitFor("lines echoed through d2", timeout: 90, diagnostics: diagnostics()) { failed() || pongs() >= atFailover + 30 }
        #expect(!failed(), "\(diagnostics())")

        // The failback: d1's link comes back and it preempts.
        let atFailback = pongs()
        try d1.host.check(["ip", "link", "set", "eth0", "up"])
        try waitFor("d1 to hold the VIP again and d2 not", timeout: 90, diagnostics: diagnostics()) {
            try d1.holdsVIP() && !d2.holdsVIP()
        }
        try waitFor("lines echoed through d1 again", timeout: 90, diagnostics: diagnostics()) { failed() || pongs() >= atFailback + 30 }
        #expect(!failed(), "\(diagnostics())")

        // Every line echoed, in order, on the one connection.
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        try waitFor("the client to close", timeout: 30, diagnostics: diagnostics()) { lines().last == "closed" }
        let numbers = lines().filter { $0.hasPrefix("pong ") }.compactMap { Int($0.dropFirst(5)) }
        #expect(numbers == Array(1...numbers.count), "a line was lost")
        #expect(lines().filter { $0.hasPrefix("connected") }.count == 1)
        for d in [d1, d2] { #expect(try d.lvsctl(["drift"]).status == 0, "\(d.node)") }
    }
}
