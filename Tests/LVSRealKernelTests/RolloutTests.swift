import Foundation
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A fleet for `lvsctl rollout` (issue #15): four directors d1…d4 as namespaces on one LAN, each
/// running OpenSSH's sshd (its own host key, config and port 22 on its address), a CI namespace
/// that runs `lvsctl rollout` with a client key and a known_hosts file made here, and two real
/// servers: r1 (10.30.0.21) runs an HTTP server, r2 (10.30.0.22) runs nothing (a down server).
/// d1 and d2 form a pair (d1 master, d2 backup in the inventory). Each director keeps its own
/// store (`remoteDb`); the remote lvsctl is this build's binary (the guest sees the same path).
final class RolloutLab: @unchecked Sendable {
    let net: LabNetwork
    let dir: URL
    var ci: LabHost!
    var directors: [String: LabHost] = [:]
    var sshd: [String: BackgroundProcess] = [:]
    var servers: [BackgroundProcess] = []
    let names = ["d1", "d2", "d3", "d4"]
    static let vip = "10.30.0.100"

    var inventory: String { dir.appendingPathComponent("fleet.json").path }
    func db(_ name: String) -> String { dir.appendingPathComponent("\(name).db").path }
    func address(_ name: String) -> String { "10.30.0.1\(name.dropFirst())" }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    init() throws {
        net = try LabNetwork(prefix: "ro")
        dir = net.directory
        do {
            let lan = try net.bridge("lan")
            ci = try net.host("ci", lan.port("10.30.0.5/24"))
            for n in names {
                directors[n] = try net.host(n, lan.port("\(address(n))/24"), forwarding: true)
            }
            let r1 = try net.host("r1", lan.port("10.30.0.21/24"))
            _ = try net.host("r2", lan.port("10.30.0.22/24"))
            servers.append(try r1.startHTTPServer("r1", checkedFrom: directors["d1"]))
            try makeKeys()
            for n in names { try startSSHD(n) }
            try writeInventory()
        } catch {
            close()
            throw error
        }
    }

    func close() { net.close() }

    /// Client key, one host key per director, authorized_keys and known_hosts; the ssh wrapper
    /// (`LVSCTL_SSH`) that keeps the user's own ssh_config out (`-F /dev/null`).
    func makeKeys() throws {
        try ProcessRunner.check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", path("client_key")])
        var known = ""
        for n in names {
            try ProcessRunner.check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", n, "-f", path("\(n)_host_key")])
            let pub = try String(contentsOfFile: path("\(n)_host_key.pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
            known += "\(address(n)) \(pub)\n"
        }
        try known.write(toFile: path("known_hosts"), atomically: true, encoding: .utf8)
        try String(contentsOfFile: path("client_key.pub"), encoding: .utf8).write(toFile: path("authorized_keys"), atomically: true, encoding: .utf8)
        let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8).split(separator: "\n").map { line -> String in
            var f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if f.count == 7 && f[0] == "root" {
                f[5] = dir.path
                f[6] = "/bin/sh"
            }
            return f.joined(separator: ":")
        }.joined(separator: "\n") + "\n"
        try passwd.write(toFile: path("passwd"), atomically: true, encoding: .utf8)
        try "#!/bin/sh\nexec /usr/bin/ssh -F /dev/null \"$@\"\n".write(toFile: path("ssh"), atomically: true, encoding: .utf8)
        chmod(path("ssh"), 0o755)
        chmod(path("client_key"), 0o600)
    }

    /// sshd in director `n`'s namespace, in the foreground (`-D -e`), with its own config.
    func startSSHD(_ n: String) throws {
        // The guest's /run is an empty tmpfs: sshd's privilege-separation directory is missing.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let config = """
            Port 22
            ListenAddress \(address(n))
            HostKey \(path("\(n)_host_key"))
            PidFile \(path("\(n)_sshd.pid"))
            AuthorizedKeysFile \(path("authorized_keys"))
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            PrintMotd no
            LogLevel VERBOSE

            """
        try config.write(toFile: path("\(n)_sshd_config"), atomically: true, encoding: .utf8)
        let host = directors[n]!
        // sshd runs the remote command through root's login shell; the guest's root is the
        // host's, whose bash reads ~/.bashrc under sshd (pyenv there made each login take ~40 s
        // in the emulated guest). In a mount namespace of its own, this sshd sees a passwd in
        // which root's shell is /bin/sh and its home the lab directory: a director's plain root.
        sshd[n] = try host.startServer(
            "sshd-\(n)",
            ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-ec",
             "mount --bind \"$1\" /etc/passwd; exec /usr/sbin/sshd -D -e -f \"$2\"", "sshd", path("passwd"), path("\(n)_sshd_config")],
            timeout: 90,
            readiness: "sshd of \(n) to accept a login from ci"
        ) {
            try self.ci.run(["timeout", "60"] + self.sshArguments(n) + ["true"]).status == 0
        }
    }

    func stopSSHD(_ n: String) throws {
        try sshd[n]?.stop(SIGTERM, timeout: 20)
        sshd[n] = nil
    }

    /// The options every ssh of the tests (and of the rollout) uses.
    var sshOptions: [String] {
        [
            "IdentityFile=\(path("client_key"))", "IdentitiesOnly=yes", "UserKnownHostsFile=\(path("known_hosts"))",
            "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes", "User=root",
        ]
    }

    func sshArguments(_ n: String) -> [String] {
        [path("ssh"), "-o", "BatchMode=yes", "-o", "ConnectTimeout=20"] + sshOptions.flatMap { ["-o", $0] } + [address(n)]
    }

    func writeInventory() throws {
        let inv = """
            { "apiVersion": "lvsctl/v1", "kind": "Inventory",
              "directors": [
                { "name": "d1", "ssh": "\(address("d1"))", "node": "d1", "pair": "p1", "role": "master", "remoteDb": "\(db("d1"))" },
                { "name": "d2", "ssh": "\(address("d2"))", "node": "d2", "pair": "p1", "role": "backup", "remoteDb": "\(db("d2"))" },
                { "name": "d3", "ssh": "root@\(address("d3"))", "sshPort": 22, "labels": { "site": "b" }, "remoteDb": "\(db("d3"))" },
                { "name": "d4", "ssh": "root@\(address("d4"))", "labels": { "site": "b" }, "remoteDb": "\(db("d4"))" }
              ] }
            """
        try inv.write(toFile: inventory, atomically: true, encoding: .utf8)
    }

    /// A manifest with one DR service; `down` adds r2 (nothing listens there); `healthCheck`
    /// checks the real servers over TCP every second.
    func manifest(_ file: String, weight: Int, down: Bool = false, healthCheck: Bool = false) throws -> String {
        var servers = #"{ "address": "10.30.0.21", "port": 80, "weight": \#(weight) }"#
        if down { servers += #", { "address": "10.30.0.22", "port": 80, "weight": 1 }"# }
        let check = healthCheck
            ? #""healthCheck": { "type": "tcp", "port": 80, "connectTimeout": 1, "retry": 1, "delayBeforeRetry": 1, "interval": 1 },"#
            : ""
        let text = """
            { "apiVersion": "lvsctl/v1", "name": "web",
              "services": [ { "name": "web", "protocol": "tcp", "address": "\(Self.vip)", "port": 80, "scheduler": "wrr",
                              "forwarding": "dr", \(check) "realServers": [ \(servers) ] } ] }
            """
        let p = path(file)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    var environment: [String: String] {
        var env = LabNetwork.environment
        env["LVSCTL_SSH"] = path("ssh")
        env["LVSCTL_AUTHOR"] = "ci-rollout-test"
        env.removeValue(forKey: "LVSCTL_DB")
        return env
    }

    /// `lvsctl rollout ARGS` from the CI namespace, with the lab's ssh options and remote lvsctl.
    func rolloutArguments(_ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", ci.name, CLIRunner.binary, "rollout"] + arguments
            + ["-i", inventory, "--remote-lvsctl", CLIRunner.binary] + sshOptions.flatMap { ["--ssh-option", $0] }
    }

    func rollout(_ arguments: [String]) throws -> ProcessRunner.Result {
        try ProcessRunner.run(rolloutArguments(arguments), environment: environment, timeout: .seconds(900))
    }

    /// `lvsctl ARGS --db DB` on director `n` (locally, in its namespace).
    func lvsctl(_ n: String, _ arguments: [String]) throws -> ProcessRunner.Result {
        try directors[n]!.run([CLIRunner.binary] + arguments + ["--db", db(n)])
    }

    func json(_ text: String) throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ProcessRunner.Failure(description: "not a JSON object: \(text)")
        }
        return o
    }

    func director(_ report: [String: Any], _ name: String) -> [String: Any] {
        ((report["directors"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == name } ?? [:]
    }

    func weight(_ n: String) throws -> String {
        try directors[n]!.ipvsadmSave()
    }

    /// The revisions of `web` on director `n`: (number, author, message).
    func revisions(_ n: String) throws -> [[String: Any]] {
        let r = try lvsctl(n, ["revisions", "web", "-o", "json"])
        guard r.status == 0 else { return [] }
        return (try json(r.stdout)["revisions"] as? [[String: Any]]) ?? []
    }

    var diagnostics: String {
        (names.compactMap { sshd[$0]?.logTail(10) } + [(try? names.map { "\($0): \(try directors[$0]!.ipvsadmSave())" }.joined(separator: "\n")) ?? ""])
            .joined(separator: "\n")
    }
}

@Suite(.serialized) struct RolloutTests {
    /// A weight change in batches 1, 1, 2: pair order, one audit row per change authored by the
    /// rollout, `ipvsadm -Sn` on each director shows it.
    @Test func aWeightChangeRollsOutInBatches() throws {
        let lab = try RolloutLab()
        defer { lab.close() }
        let v1 = try lab.manifest("v1.json", weight: 1)
        // The first rollout to everyone at once: the pair still goes in two batches.
        let first = try lab.rollout(["apply", "-f", v1, "--batches", "100%", "-o", "json"])
        #expect(first.status == 0, "\(first)\n\(lab.diagnostics)")
        let firstReport = try lab.json(first.stdout)
        #expect(firstReport["batches"] as? [[String]] == [["d2", "d3", "d4"], ["d1"]], "\(first.stdout)")

        // What a PR shows: every director's plan, exit 2 for changes.
        let v2 = try lab.manifest("v2.json", weight: 5)
        let plan = try lab.rollout(["plan", "-f", v2, "-o", "json"])
        #expect(plan.status == 2, "\(plan)")
        let planReport = try lab.json(plan.stdout)
        for n in lab.names {
            #expect(lab.director(planReport, n)["state"] as? String == "changesPending", "\(plan.stdout)")
        }
        let text = try lab.rollout(["plan", "-f", v2])
        #expect(text.status == 2 && text.stdout.contains("d3") && text.stdout.contains("weight 1 → 5"), "\(text)")

        let r = try lab.rollout(["apply", "-f", v2, "--batches", "1,1,2", "-o", "json"])
        #expect(r.status == 0, "\(r)\n\(lab.diagnostics)")
        let report = try lab.json(r.stdout)
        #expect(report["kind"] as? String == "rollout" && report["formatVersion"] as? Int == 1)
        #expect(report["outcome"] as? String == "converged")
        #expect(report["batches"] as? [[String]] == [["d2"], ["d1"], ["d3", "d4"]], "backup before master: \(r.stdout)")
        let id = try #require(report["id"] as? String)
        for n in lab.names {
            let d = lab.director(report, n)
            #expect(d["state"] as? String == "converged", "\(n): \(d)")
            #expect(d["revisionBefore"] as? Int == 1 && d["revisionAfter"] as? Int == 2, "\(n): \(d)")
            let gates = (d["gates"] as? [[String: Any]]) ?? []
            #expect(gates.map { $0["gate"] as? String } == ["drift", "health", "vrrp", "probe"], "\(n): \(gates)")
            #expect(gates.first?["outcome"] as? String == "passed")
            let table = try lab.weight(n)
            #expect(table.contains("-a -t 10.30.0.100:80 -r 10.30.0.21:80 -g -w 5"), "\(n): \(table)")
            // One audit row for the one change, in the revision the rollout stored, by its author.
            let revisions = try lab.revisions(n)
            let latest = try #require(revisions.first { $0["number"] as? Int == 2 })
            #expect(latest["author"] as? String == "ci-rollout-test")
            #expect((latest["message"] as? String)?.contains(id) == true, "\(latest)")
            let history = try lab.json(try lab.lvsctl(n, ["history", "-o", "json"]).stdout)
            let rows = ((history["entries"] as? [[String: Any]]) ?? []).filter { $0["action"] as? String == "update-real-server" }
            #expect(rows.count == 1, "\(n): \(rows)")
            // The audit row belongs to the rollout's revision (whose author is checked above).
            #expect(rows.first?["revision"] as? Int == 2 && rows.first?["origin"] as? String == "apply", "\(n): \(rows)")
        }
        // The backup's change (and its gates) came before the master's.
        func changedAt(_ n: String) throws -> String {
            let h = try lab.json(try lab.lvsctl(n, ["history", "-o", "json"]).stdout)
            return ((h["entries"] as? [[String: Any]]) ?? []).first { $0["action"] as? String == "update-real-server" }?["at"] as? String ?? ""
        }
        #expect(try changedAt("d2") < changedAt("d1"))
    }

    /// A real server that is down, with a health check: the canary's health gate fails, nothing
    /// after it is touched, the canary is rolled back and verified, exit 1.
    @Test func aBadChangeStopsAtTheCanaryAndRollsItBack() throws {
        let lab = try RolloutLab()
        defer { lab.close() }
        let v2 = try lab.manifest("v2.json", weight: 5)
        let setup = try lab.rollout(["apply", "-f", v2, "--batches", "100%"])
        #expect(setup.status == 0, "\(setup)")
        // The canary (d2, the pair's backup) runs the daemon that checks health.
        let config = lab.path("daemon.json")
        try #"{ "interval": 1, "jitter": 0, "metricsAddress": "127.0.0.1:19471" }"#.write(toFile: config, atomically: true, encoding: .utf8)
        var env = LabNetwork.environment
        env["LVSCTL_DB"] = lab.db("d2")
        let daemon = try lab.directors["d2"]!.spawn("daemon-d2", [CLIRunner.binary, "run", "--config", config], environment: env)
        defer { daemon.signal(SIGTERM) }
        try waitFor("the daemon on d2", timeout: 60, diagnostics: daemon.logTail()) { daemon.isRunning && (try? lab.directors["d2"]!.run(["curl", "-s", "-m", "2", "http://127.0.0.1:19471/metrics"]).status == 0) == true }

        let bad = try lab.manifest("bad.json", weight: 5, down: true, healthCheck: true)
        let r = try lab.rollout(["apply", "-f", bad, "--batches", "1,1,2", "--health-timeout", "90", "-o", "json"])
        #expect(r.status == 1, "\(r)\n\(daemon.logTail())")
        let report = try lab.json(r.stdout)
        #expect(report["outcome"] as? String == "failed")
        let stop = (report["stop"] as? [String: Any]) ?? [:]
        #expect(stop["director"] as? String == "d2" && stop["gate"] as? String == "health" && stop["batch"] as? Int == 1, "\(stop)")
        #expect((stop["reason"] as? String)?.contains("10.30.0.22:80") == true, "\(stop)")
        let d2 = lab.director(report, "d2")
        #expect(d2["state"] as? String == "rolledBack", "\(d2)")
        let rollback = (d2["rollback"] as? [String: Any]) ?? [:]
        #expect(rollback["to"] as? Int == 1 && rollback["succeeded"] as? Bool == true, "\(rollback)")
        let canary = try lab.weight("d2")
        #expect(!canary.contains("10.30.0.22"), "the canary is back: \(canary)")
        for n in ["d1", "d3", "d4"] {
            #expect(lab.director(report, n)["state"] as? String == "notStarted")
            #expect(try lab.revisions(n).count == 1, "\(n) untouched")
            #expect(!(try lab.weight(n)).contains("10.30.0.22"))
        }
        // The text report says which gate failed and why.
        let again = try lab.rollout(["apply", "-f", bad, "--batches", "1", "--health-timeout", "90"])
        #expect(again.status == 1)
        #expect(again.stdout.contains("gate health failed") && again.stdout.contains("10.30.0.22:80"), "\(again)")
    }

    /// One director unreachable (its sshd stopped): the rollout stops at its batch, nothing in
    /// that batch is changed, the directors already done are rolled back (or kept with
    /// --no-rollback).
    @Test func anUnreachableDirectorStopsItsBatch() throws {
        let lab = try RolloutLab()
        defer { lab.close() }
        let v1 = try lab.manifest("v1.json", weight: 1)
        #expect(try lab.rollout(["apply", "-f", v1, "--batches", "100%"]).status == 0)
        try lab.stopSSHD("d4")
        let v2 = try lab.manifest("v2.json", weight: 5)
        let r = try lab.rollout(["apply", "-f", v2, "--batches", "1,1,2", "-o", "json"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("d4") && r.stderr.contains("unreachable"), "progress names it: \(r.stderr)")
        let report = try lab.json(r.stdout)
        let stop = (report["stop"] as? [String: Any]) ?? [:]
        #expect(stop["batch"] as? Int == 3 && stop["director"] as? String == "d4", "\(stop)")
        #expect(lab.director(report, "d4")["state"] as? String == "unreachable")
        #expect(lab.director(report, "d3")["state"] as? String == "notStarted")
        #expect(lab.director(report, "d1")["state"] as? String == "rolledBack")
        #expect(lab.director(report, "d2")["state"] as? String == "rolledBack")
        for n in ["d1", "d2", "d3"] {
            let table = try lab.weight(n)
            #expect(table.contains("-r 10.30.0.21:80 -g -w 1"), "\(n): \(table)")
        }
        let kept = try lab.rollout(["apply", "-f", v2, "--batches", "1,1,2", "--no-rollback", "-o", "json"])
        #expect(kept.status == 1)
        let keptReport = try lab.json(kept.stdout)
        #expect(lab.director(keptReport, "d1")["state"] as? String == "converged")
        #expect(lab.director(keptReport, "d2")["state"] as? String == "converged")
        #expect(try lab.weight("d1").contains("-w 5"))
    }

    /// A second rollout of the inventory while the first runs fails at once, naming the holder;
    /// SIGTERM lets the first finish the director in progress, then it stops and reports.
    @Test func oneRolloutAtATimeAndSIGTERMStopsCleanly() throws {
        let lab = try RolloutLab()
        defer { lab.close() }
        let v1 = try lab.manifest("v1.json", weight: 1)
        let first = try BackgroundProcess(
            lab.rolloutArguments(["apply", "-f", v1, "--batches", "1", "--pause", "120", "-o", "json"]),
            environment: lab.environment, log: lab.path("first.log"))
        defer { first.signal(SIGKILL) }
        let lock = lab.inventory + ".lock"
        try waitFor("the first rollout to take the lock and finish d2", timeout: 180, diagnostics: first.logTail()) {
            first.log.contains("Pausing")
        }
        let holder = try String(contentsOfFile: lock, encoding: .utf8)
        #expect(holder.contains("\"pid\": ") && holder.contains("ci-rollout-test"), "CI can see who holds it: \(holder)")
        let second = try lab.rollout(["apply", "-f", v1])
        #expect(second.status == 1)
        #expect(second.stderr.contains("another rollout of this inventory is running") && second.stderr.contains("ci-rollout-test"), "\(second)")

        first.signal(SIGTERM)
        let status = first.wait(timeout: 60)
        #expect(status == 1, "\(first.logTail())")
        let out = first.log
        let start = try #require(out.firstIndex(of: "{"))
        let report = try lab.json(String(out[start...]))
        #expect(report["outcome"] as? String == "interrupted", "\(out)")
        #expect(lab.director(report, "d2")["state"] as? String == "converged")
        #expect(lab.director(report, "d1")["state"] as? String == "notStarted")
        #expect(try String(contentsOfFile: lock, encoding: .utf8).isEmpty, "the lock note is cleared")
    }
}
