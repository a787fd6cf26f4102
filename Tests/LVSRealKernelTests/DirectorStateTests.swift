import Foundation
import LVSManifest
import LVSModel
import LVSTestSupport
import LVSVRRP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two directors of a pair, each with its own store, run directory, config and `lvsctl run`,
/// and keepalived 2.2.7 in VRRP-only mode (`-P`) on the config rendered from one manifest; DR
/// real servers r1 and r2 serve both VIPs; a client sends traffic.
///
/// `lvsctl apply --node` renders each director's keepalived config (with `--no-reload`: keepalived
/// starts after it); everything else goes through the CLI.
/// keepalived is started as every pair suite starts it (``LabKeepalived``).
final class DirectorPairLab: @unchecked Sendable {
    static let vipA = "10.77.1.100"
    static let vipB = "10.77.1.101"
    /// Second addresses of each sync group (a group of one instance is refused): no service
    /// uses them (a validation warning); they show that a group moves as one.
    static let vipA2 = "10.77.1.102"
    static let vipB2 = "10.77.1.103"

    let net: LabNetwork
    let dir: URL
    var directors: [String: LabHost] = [:]
    var runners: [String: CLIRunner] = [:]
    var client: LabHost!
    var realServers: [String: LabHost] = [:]
    var daemons: [String: BackgroundProcess] = [:]
    var daemonConfigs: [String: String] = [:]
    var starts: [String: Int] = [:]
    let metricsBase = 20470 + Int(getpid() % 400)

    static func manifest() -> String {
        let rs = #"[{"address": "10.77.1.11"}, {"address": "10.77.1.12"}]"#
        let check = #""healthCheck": {"type": "tcp", "interval": 1, "retry": 2, "connectTimeout": 2}"#
        return """
            {"apiVersion": "lvsctl/v1", "name": "pair",
             "services": [
               {"name": "a-http", "protocol": "tcp", "address": "\(vipA)", "port": 80, "scheduler": "rr", "forwarding": "dr",
                \(check), "realServers": \(rs)},
               {"name": "a-echo", "protocol": "tcp", "address": "\(vipA)", "port": 8080, "scheduler": "rr", "forwarding": "dr",
                \(check), "realServers": \(rs.replacingOccurrences(of: "\"}", with: "\", \"port\": 8080}"))},
               {"name": "b-http", "protocol": "tcp", "address": "\(vipB)", "port": 80, "scheduler": "rr", "forwarding": "dr",
                \(check), "realServers": \(rs)}],
             "settings": {
               "syncDaemons": [{"state": "master", "interface": "eth0", "syncId": 7}, {"state": "backup", "interface": "eth0", "syncId": 7}],
               "syncThreshold": [3, 50], "backupOnly": false},
             "vrrp": {
               "instances": [
                 {"name": "VI_A", "interface": "eth0", "virtualRouterId": 61, "advertInterval": 1, "addresses": ["\(vipA)/24"],
                  "priority": {"d1": 150, "d2": 100}, "preempt": true},
                 {"name": "VI_B", "interface": "eth0", "virtualRouterId": 62, "advertInterval": 1, "addresses": ["\(vipB)/24"],
                  "priority": {"d1": 100, "d2": 150}, "preempt": true},
                 {"name": "VI_A2", "interface": "eth0", "virtualRouterId": 63, "advertInterval": 1, "addresses": ["\(vipA2)/24"],
                  "priority": {"d1": 150, "d2": 100}, "preempt": true},
                 {"name": "VI_B2", "interface": "eth0", "virtualRouterId": 64, "advertInterval": 1, "addresses": ["\(vipB2)/24"],
                  "priority": {"d1": 100, "d2": 150}, "preempt": true}],
               "syncGroups": [{"name": "G_A", "instances": ["VI_A", "VI_A2"]}, {"name": "G_B", "instances": ["VI_B", "VI_B2"]}],
               "maintenanceInstances": ["VI_A", "VI_A2", "VI_B", "VI_B2"]}}
            """
    }

    init() throws {
        net = try LabNetwork(prefix: "ds")
        dir = net.directory
        do {
            let lan = try net.bridge("lan")
            for (n, a) in [("d1", "10.77.1.2"), ("d2", "10.77.1.3")] {
                directors[n] = try net.host(n, lan.port("\(a)/24"), forwarding: true)
            }
            client = try net.host("c", lan.port("10.77.1.50/24"))
            for (n, a) in [("r1", "10.77.1.11"), ("r2", "10.77.1.12")] {
                let h = try net.host(n, lan.port("\(a)/24"))
                try h.makeDRRealServer(vips: [Self.vipA, Self.vipB])
                realServers[n] = h
                _ = try h.startHTTPServer(n, checkedFrom: directors["d1"])
                _ = try h.startEchoServer(n + "-echo", port: 8080, checkedFrom: directors["d1"])
            }
        } catch {
            net.close()
            throw error
        }
    }

    func runDir(_ node: String) -> String { dir.appendingPathComponent("run-\(node)").path }
    func paths(_ node: String) -> DirectorPaths {
        DirectorPaths(
            runDirectory: runDir(node), keepalivedConfig: dir.appendingPathComponent("keepalived-\(node).conf").path,
            keepalivedPIDFile: runDir(node) + "/keepalived.pid")
    }
    func notesPath(_ node: String) -> String { dir.appendingPathComponent("notes-\(node).txt").path }
    func metricsPort(_ node: String) -> Int { metricsBase + (node == "d1" ? 0 : 1) }

    /// Applies the manifest on both directors, starts `lvsctl run` on each, then keepalived.
    func start() throws {
        let text = Self.manifest()
        let parsed = Manifest.parse(Array(text.utf8), file: "pair.json")
        let vrrp = try #require(parsed.state?.vrrp, "\(parsed.diagnostics.map(\.description))")
        for node in ["d1", "d2"] {
            let cli = try CLIRunner(fakeKernel: false)
            let p = paths(node)
            cli.environment.merge(LabKeepalived.environment(node: node, paths: p)) { $1 }
            runners[node] = cli
            let file = try cli.write("pair.json", text)
            // keepalived is not running yet: apply renders its config for this node and skips the reload.
            let applied = try lvsctl(node, ["apply", "-f", file, "-m", "pair", "--no-reload"])
            try #require(applied.status == 0, "apply on \(node): \(applied)")

            let hook = try cli.write("hook.sh", "#!/bin/sh\necho \"$@\" >> \(notesPath(node))\n")
            chmod(hook, 0o755)
            let config = try cli.write("daemon.json", """
                { "interval": 2, "jitter": 0, "metricsAddress": "127.0.0.1:\(metricsPort(node))",
                  "notify": { "exec": { "path": "\(hook)", "timeout": 5 } } }
                """)
            daemonConfigs[node] = config
            try startDaemon(node)
            try waitFor("\(node)'s daemon to create its notify FIFO", timeout: 90) {
                var st = stat()
                return lstat(p.notifyFIFO, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO
            }
            #expect(TrackFile.read(p.readinessFile) != nil, "the readiness file exists from the start")

            let rendered = try KeepalivedConfig.render(vrrp, node: node, paths: p.keepalived, manifest: "pair")
            #expect(try String(contentsOfFile: p.keepalivedConfig, encoding: .utf8) == rendered, "apply --node \(node) rendered the config")
            _ = try LabKeepalived.start(on: directors[node]!, node: node, paths: p)
        }
    }

    /// Starts (or restarts) `lvsctl run` on `node`; each start logs to its own file.
    func startDaemon(_ node: String) throws {
        starts[node, default: 0] += 1
        let name = "lvsctl-\(node)" + (starts[node]! > 1 ? "-\(starts[node]!)" : "")
        daemons[node] = try directors[node]!.spawn(
            name, [CLIRunner.binary, "run", "--config", daemonConfigs[node]!, "--log-level", "debug"],
            environment: runners[node]!.environment)
    }

    @discardableResult
    func lvsctl(_ node: String, _ args: [String]) throws -> CLIRunner.Result {
        try runners[node]!.run(args + ["--netns", directors[node]!.name])
    }

    /// The VIPs on `node`'s eth0.
    func vips(_ node: String) throws -> Set<String> {
        let out = try directors[node]!.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
        return Set([Self.vipA, Self.vipB].filter { out.contains(" \($0)/") })
    }

    /// Every address on `node`'s eth0 (`10.77.1.2`, …).
    func addresses(_ node: String) throws -> Set<String> {
        let out = try directors[node]!.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
        return Set(out.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "inet"), i + 1 < words.count else { return nil }
            return words[i + 1].split(separator: "/").first.map(String.init)
        })
    }

    /// How often keepalived (both directors) said its timers ran late: the guest is starved.
    func keepalivedLateTimers() -> Int {
        ["d1", "d2"].reduce(0) { sum, node in
            let log = (try? String(contentsOfFile: dir.appendingPathComponent("keepalived-\(node).log").path, encoding: .utf8)) ?? ""
            return sum + log.components(separatedBy: "A thread timer expired").count - 1
        }
    }

    func metrics(_ node: String) throws -> String? {
        let r = try directors[node]!.run(["curl", "-sf", "-m", "5", "http://127.0.0.1:\(metricsPort(node))/metrics"])
        return r.status == 0 ? r.stdout : nil
    }

    func metric(_ node: String, _ series: String) throws -> Double? {
        guard let text = try metrics(node) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// The exec hook's VRRP lines (`INSTANCE VI_A MASTER`).
    func hookLines(_ node: String) -> [String] {
        ((try? String(contentsOfFile: notesPath(node), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("INSTANCE ") || $0.hasPrefix("GROUP ") }
    }

    /// The audit rows of origin vrrp, oldest first, as hook lines (`INSTANCE VI_A MASTER`).
    func auditLines(_ node: String) throws -> [String] {
        let r = try lvsctl(node, ["history", "-o", "json", "--limit", "100000"])
        let rows = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        return rows.filter { $0["origin"] as? String == "vrrp" }.reversed().compactMap { row in
            guard let after = (row["after"] as? [String: Any])?["vrrp"] as? [String: Any],
                let kind = after["kind"] as? String, let name = after["name"] as? String, let state = after["state"] as? String
            else { return nil }
            return "\(kind.uppercased()) \(name) \(state.uppercased())"
        }
    }

    func status(_ node: String) throws -> [String: Any] {
        let r = try lvsctl(node, ["status", "-o", "json"])
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// The role `status -o json` shows for an instance.
    func statusRole(_ node: String, _ instance: String) throws -> String? {
        let director = try status(node)["director"] as? [String: Any]
        let instances = director?["instances"] as? [[String: Any]] ?? []
        return instances.first { $0["name"] as? String == instance }?["state"] as? String
    }

    var clientLogPath: String { dir.appendingPathComponent("client.log").path }
    var clientLog: String { (try? String(contentsOfFile: clientLogPath, encoding: .utf8)) ?? "" }
    var pongs: Int { clientLog.split(separator: "\n").filter { $0.hasPrefix("pong ") }.count }

    var diagnostics: String {
        var out = ""
        for node in ["d1", "d2"] {
            out += "--- \(node): VIPs \((try? vips(node)).map { "\($0.sorted())" } ?? "?")\n"
            out += "ipvsadm -Ln:\n\((try? directors[node]!.ipvsadm(["-Ln"])) ?? "?")\n"
            out += "hook: \(hookLines(node))\n"
            out += "readiness \(TrackFile.read(paths(node).readinessFile).map { "\($0)" } ?? "missing"), "
                + "maintenance \(TrackFile.read(paths(node).maintenanceFile).map { "\($0)" } ?? "missing")\n"
            out += "lvsctl run (tail):\n\(daemons[node]?.logTail(25) ?? "")\n"
            let ka = (try? String(contentsOfFile: dir.appendingPathComponent("keepalived-\(node).log").path, encoding: .utf8)) ?? ""
            out += "keepalived (tail):\n\(ka.split(separator: "\n").suffix(15).joined(separator: "\n"))\n"
        }
        out += "client: \(clientLog.split(separator: "\n").suffix(5))\n"
        return out
    }

    @discardableResult
    func waitFor(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws -> Double {
        try LVSTestSupport.waitFor(what, timeout: timeout, interval: 0.1, diagnostics: diagnostics, condition)
    }

    func close() {
        for d in daemons.values { d.signal(SIGTERM) }
        for d in daemons.values { _ = d.wait(timeout: 30) }
        daemons = [:]
        net.close()
    }
}

@Suite("Director pair: roles, maintenance and readiness with lvsctl run (keepalived -P)", .serialized)
struct DirectorStateTests {
    @Test func dualActiveMaintenanceTransitionsAndReadiness() throws {
        let lab = try DirectorPairLab()
        defer { lab.close() }
        try lab.start()
        let (a, b) = (DirectorPairLab.vipA, DirectorPairLab.vipB)

        // Dual-active: each sync group on the director it prefers, both VIPs answering at once.
        try lab.waitFor("VIP A on d1 only and VIP B on d2 only", timeout: 180) {
            try lab.vips("d1") == [a] && lab.vips("d2") == [b]
        }
        for vip in [a, b] {
            try lab.waitFor("HTTP through \(vip)", timeout: 30) {
                let out = try lab.client.curl("http://\(vip)/", timeout: 5).stdout
                return out == "r1\n" || out == "r2\n"
            }
        }
        // Each VIP's traffic goes through the director holding it: IPVS's connection counters,
        // read before and after five requests to each VIP. (Counted from here: at start d1 may
        // hold group B for a moment before d2 is up, and what reached it then is not this check's.)
        func conns(_ node: String, _ service: String) throws -> Int {
            let out = try lab.directors[node]!.ipvsadm(["-Ln", "--stats", "-t", service])
            let line = out.split(separator: "\n").first { $0.hasPrefix("TCP") } ?? ""
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first ?? "") ?? -1
        }
        func counters() throws -> [String: Int] {
            var out: [String: Int] = [:]
            for node in ["d1", "d2"] { for vip in [a, b] { out["\(node) \(vip)"] = try conns(node, "\(vip):80") } }
            return out
        }
        let countersBefore = try counters()
        for vip in [a, b] {
            for _ in 0..<5 { #expect(try lab.client.curl("http://\(vip)/", timeout: 5).status == 0) }
        }
        // The kernel refreshes these counters from its per-CPU ones on its rate estimator's tick
        // (every 2 s, later in a starved guest): wait for the holders' five. The first reading
        // may itself be stale (the readiness request above not yet summed: 0, then 6), so the
        // holder's count is at least five; the other director's stays at zero.
        var countersAfter = countersBefore
        func delta(_ node: String, _ vip: String) -> Int { countersAfter["\(node) \(vip)"]! - countersBefore["\(node) \(vip)"]! }
        try lab.waitFor("the connection counters to show the requests", timeout: 20) {
            countersAfter = try counters()
            return delta("d1", a) >= 5 && delta("d2", b) >= 5
        }
        #expect(delta("d1", a) >= 5 && delta("d2", a) == 0, "\(countersBefore) → \(countersAfter)\n\(lab.diagnostics)")
        #expect(delta("d2", b) >= 5 && delta("d1", b) == 0, "\(countersBefore) → \(countersAfter)\n\(lab.diagnostics)")

        // Roles: metrics, status, and no drift.
        try lab.waitFor("d1's metrics to show VI_A master and VI_B backup", timeout: 30) {
            try lab.metric("d1", #"lvsctl_vrrp_state{instance="VI_A"}"#) == 2 && lab.metric("d1", #"lvsctl_vrrp_state{instance="VI_B"}"#) == 1
        }
        try lab.waitFor("d2's metrics to show VI_B master and VI_A backup", timeout: 30) {
            try lab.metric("d2", #"lvsctl_vrrp_state{instance="VI_B"}"#) == 2 && lab.metric("d2", #"lvsctl_vrrp_state{instance="VI_A"}"#) == 1
        }
        #expect(try lab.metric("d1", "lvsctl_director_ready") == 1)
        #expect(try lab.statusRole("d1", "VI_A") == "master")
        #expect(try lab.statusRole("d2", "VI_A") == "backup")
        for node in ["d1", "d2"] {
            let drift = try lab.lvsctl(node, ["drift"])
            #expect(drift.status == 0, "drift on \(node) at start: \(drift)")
        }

        // A reload closes the notify FIFO and does not report MASTER instances again: the daemon
        // asks keepalived (its JSON state dump) and records nothing new, as nothing changed.
        let auditBefore = try lab.auditLines("d1")
        let answered = lab.daemons["d1"]!.log.components(separatedBy: "keepalived answered the state query").count
        try lab.directors["d1"]!.check(["sh", "-c", "kill -HUP $(cat \(lab.paths("d1").keepalivedPIDFile))"])
        try lab.waitFor("d1's daemon to read keepalived's state dump after the reload", timeout: 60) {
            lab.daemons["d1"]!.log.components(separatedBy: "keepalived answered the state query").count > answered
        }
        #expect(lab.daemons["d1"]!.log.contains("VI_A MASTER"), "\(lab.daemons["d1"]!.logTail(20))")
        #expect(try lab.auditLines("d1") == auditBefore, "a reload that changed nothing is no transition")
        #expect(try lab.vips("d1") == [a])

        // An established connection through VIP A (d1), synced to d2 before the failover.
        _ = try lab.client.spawn("echo-client", [
            LabScripts.python, LabScripts.path("echo_client.py"), "\(a):8080", lab.clientLogPath,
            lab.dir.appendingPathComponent("client.stop").path,
        ])
        try lab.waitFor("the client's connection to echo", timeout: 60) { lab.pongs >= 5 }
        try lab.waitFor("d2 to hold the synced connection", timeout: 60) {
            try lab.directors["d2"]!.ipvsadm(["-Lnc"]).contains("\(a):8080")
        }

        // Maintenance on d1: its group moves to d2 within 3 s; the connection survives.
        let lateBefore = lab.keepalivedLateTimers()
        let on = try lab.lvsctl("d1", ["maintenance", "on", "-m", "acceptance test"])
        let start = Date()
        #expect(on.status == 0, "\(on)")
        let moved = try lab.waitFor("VIP A to move to d2", timeout: 60) { try lab.vips("d2") == [a, b] && lab.vips("d1").isEmpty }
        let took = Date().timeIntervalSince(start)
        // The 3 s bound holds while keepalived runs on time (0.5-1.3 s measured). In a starved
        // guest keepalived itself reports its timers late ("A thread timer expired ... ago"); then
        // the time is printed, not judged: VRRP's own timing is not lvsctl's to keep.
        let late = lab.keepalivedLateTimers() - lateBefore
        if late == 0 {
            #expect(took <= 3, "VIP A moved after \(took) s (waited \(moved) s) with keepalived on time")
        } else if took > 3 {
            print("DirectorStateTests: VIP A moved after \(took) s; keepalived reported \(late) late timer(s) meanwhile (starved guest)")
        }
        try lab.waitFor("VIP A2 to follow VIP A to d2 (one sync group)", timeout: 30) {
            try lab.addresses("d2").contains(DirectorPairLab.vipA2) && !lab.addresses("d1").contains(DirectorPairLab.vipA2)
        }
        let before = lab.pongs
        try lab.waitFor("the connection to keep echoing through d2", timeout: 60) { lab.pongs >= before + 10 }
        #expect(!lab.clientLog.contains("error"), "\(lab.clientLog.suffix(300))")
        let status = try lab.lvsctl("d1", ["maintenance", "status", "-o", "json"])
        let doc = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any] ?? [:]
        #expect((doc["maintenance"] as? [String: Any])?["reason"] as? String == "acceptance test", "\(status)")
        #expect(doc["trackFileHeld"] as? Bool == true)
        try lab.waitFor("d1's VI_A in FAULT in status and metrics", timeout: 30) {
            try lab.statusRole("d1", "VI_A") == "fault" && lab.metric("d1", #"lvsctl_vrrp_state{instance="VI_A"}"#) == 3
        }
        for node in ["d1", "d2"] {
            let drift = try lab.lvsctl(node, ["drift"])
            #expect(drift.status == 0, "drift on \(node) after maintenance on: \(drift)")
        }

        // Maintenance survives a restart of d1's daemon: the track file stays 1, status still
        // says who and why, and the restarted daemon reports no role again (it seeds the roles
        // it stored and keepalived's state dump agrees with them).
        let auditInMaintenance = try lab.auditLines("d1")
        let exit = try lab.daemons["d1"]!.stop(SIGTERM, timeout: 60)
        #expect(exit == 0, "lvsctl run on d1 exited \(exit)")
        #expect(try TrackFile.read(lab.paths("d1").maintenanceFile) == true)
        try lab.startDaemon("d1")
        try lab.waitFor("the restarted daemon on d1 to answer with its metrics and read keepalived's state", timeout: 90) {
            try lab.metric("d1", "lvsctl_director_maintenance") == 1
                && lab.daemons["d1"]!.log.contains("keepalived answered the state query")
        }
        #expect(try TrackFile.read(lab.paths("d1").maintenanceFile) == true)
        #expect(try lab.vips("d2") == [a, b] && lab.vips("d1").isEmpty, "\(lab.diagnostics)")
        #expect(try lab.auditLines("d1") == auditInMaintenance, "a restart is no VRRP transition")
        let restartedStatus = try lab.status("d1")["director"] as? [String: Any]
        #expect((restartedStatus?["maintenance"] as? [String: Any])?["reason"] as? String == "acceptance test")
        let text = try lab.lvsctl("d1", ["status"])
        #expect(text.stdout.contains("maintenance ON since") && text.stdout.contains(": acceptance test"), "\(text)")
        #expect(text.stdout.contains("instance VI_A") && text.stdout.contains("group G_A"), "\(text)")

        // Maintenance off: preempt brings VIP A back to d1; the connection survives again.
        let off = try lab.lvsctl("d1", ["maintenance", "off"])
        #expect(off.status == 0, "\(off)")
        try lab.waitFor("VIP A back on d1 (preempt)", timeout: 60) { try lab.vips("d1") == [a] && lab.vips("d2") == [b] }
        let back = lab.pongs
        try lab.waitFor("the connection to keep echoing through d1", timeout: 60) { lab.pongs >= back + 10 }
        #expect(!lab.clientLog.contains("error"), "\(lab.clientLog.suffix(300))")
        for node in ["d1", "d2"] {
            let drift = try lab.lvsctl(node, ["drift"])
            #expect(drift.status == 0, "drift on \(node) after maintenance off: \(drift)")
        }

        // One audit row and exactly one hook line per transition, on each director; no role
        // reported twice in a row.
        try lab.waitFor("d1's G_A back to MASTER in its audit and hook", timeout: 30) {
            try lab.auditLines("d1").last { $0.hasPrefix("GROUP G_A") } == "GROUP G_A MASTER"
                && lab.hookLines("d1").last { $0.hasPrefix("GROUP G_A") } == "GROUP G_A MASTER"
        }
        for node in ["d1", "d2"] {
            let audit = try lab.auditLines(node)
            let hook = lab.hookLines(node)
            // The notifier runs each delivery in its own task (as keepalived forks its notify
            // scripts), so hook lines may come in another order; each transition comes once.
            #expect(audit.sorted() == hook.sorted(), "\(node): audit \(audit) vs hook \(hook)")
            var last: [String: String] = [:]
            for line in audit {
                let words = line.split(separator: " ")
                let key = "\(words[0]) \(words[1])"
                #expect(last[key] != String(words[2]), "\(node): \(line) reported twice in a row: \(audit)")
                last[key] = String(words[2])
            }
        }
        #expect(try lab.auditLines("d1").contains("INSTANCE VI_A FAULT"))
        #expect(try lab.auditLines("d2").contains("INSTANCE VI_A MASTER"))
        // A counter of this daemon's lifetime: d1's daemon was restarted in maintenance, so it
        // has seen FAULT → BACKUP → MASTER since.
        #expect(try lab.metric("d1", #"lvsctl_vrrp_transitions_total{instance="VI_A"}"#) ?? 0 >= 2)

        // Readiness: d1 cannot reach its real servers (their answers to it are dropped), so its
        // pool is down: it goes to FAULT, gives VIP A to d2 and does not take it back while so.
        try Data().write(to: lab.dir.appendingPathComponent("client.stop"))
        for r in ["r1", "r2"] { try lab.realServers[r]!.check(["ip", "route", "add", "blackhole", "10.77.1.2/32"]) }
        try lab.waitFor("d1 not ready and VIP A on d2", timeout: 90) {
            try TrackFile.read(lab.paths("d1").readinessFile) == true && lab.vips("d2") == [a, b] && lab.vips("d1").isEmpty
        }
        #expect(try lab.metric("d1", "lvsctl_director_ready") == 0)
        let held = try lab.status("d1")["director"] as? [String: Any]
        #expect(held?["readinessHeld"] as? Bool == true)
        // Several advertisement intervals: d1 (priority 150, preempt) stays out.
        let watchUntil = Date().addingTimeInterval(6)
        while Date() < watchUntil {
            #expect(try lab.vips("d1").isEmpty, "d1 took a VIP with its pool down\n\(lab.diagnostics)")
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(try lab.statusRole("d1", "VI_A") == "fault")
        // The pool comes back: d1 is ready again and preempts.
        for r in ["r1", "r2"] { try lab.realServers[r]!.check(["ip", "route", "del", "blackhole", "10.77.1.2/32"]) }
        try lab.waitFor("d1 ready again with VIP A", timeout: 90) {
            try TrackFile.read(lab.paths("d1").readinessFile) == false && lab.vips("d1") == [a] && lab.vips("d2") == [b]
        }
        for node in ["d1", "d2"] {
            let drift = try lab.lvsctl(node, ["drift"])
            #expect(drift.status == 0, "drift on \(node) after the readiness failover: \(drift)")
        }
    }
}
