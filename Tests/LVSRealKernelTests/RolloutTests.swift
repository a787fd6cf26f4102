import Foundation
import LVSTestSupport
import LVSVRRP
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
///
/// With `pair: true`, d1 and d2 are a real VRRP pair run by lvsctl (``startPair(_:)``): the
/// manifest's `vrrp` section (VI_1 holding the VIP, d1 preferred, tracking `eth1`, an uplink
/// bridge of their own), bootstrapped with `apply --node --no-reload`, `lvsctl run` and keepalived
/// `-P` on each (``LabKeepalived``); their sshd hands the remote lvsctl the same files (`SetEnv`).
/// r1 is then a DR real server of the VIP, and a client `c` sends HTTP through it. The inventory
/// then gives no true hint: d1 is listed as the backup and d2 as the master.
final class RolloutLab: @unchecked Sendable {
    let net: LabNetwork
    let dir: URL
    let pair: Bool
    var ci: LabHost!
    var client: LabHost!
    var directors: [String: LabHost] = [:]
    var sshd: [String: BackgroundProcess] = [:]
    var servers: [BackgroundProcess] = []
    var daemons: [String: BackgroundProcess] = [:]
    var keepalived: [String: BackgroundProcess] = [:]
    let names = ["d1", "d2", "d3", "d4"]
    let pairNames = ["d1", "d2"]
    static let vip = "10.30.0.100"

    var inventory: String { dir.appendingPathComponent("fleet.json").path }
    func db(_ name: String) -> String { dir.appendingPathComponent("\(name).db").path }
    func address(_ name: String) -> String { "10.30.0.1\(name.dropFirst())" }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    init(pair: Bool = false) throws {
        net = try LabNetwork(prefix: "ro")
        dir = net.directory
        self.pair = pair
        do {
            let lan = try net.bridge("lan")
            let uplink = pair ? try net.bridge("uplink") : nil
            ci = try net.host("ci", lan.port("10.30.0.5/24"))
            for n in names {
                if let uplink, pairNames.contains(n) {
                    directors[n] = try net.host(n, lan.port("\(address(n))/24"), uplink.port("10.31.0.1\(n.dropFirst())/24"), forwarding: true)
                } else {
                    directors[n] = try net.host(n, lan.port("\(address(n))/24"), forwarding: true)
                }
            }
            let r1 = try net.host("r1", lan.port("10.30.0.21/24"))
            _ = try net.host("r2", lan.port("10.30.0.22/24"))
            if pair {
                try r1.makeDRRealServer(vips: [Self.vip])
                client = try net.host("c", lan.port("10.30.0.50/24"))
            }
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
            \(pair && pairNames.contains(n) ? "SetEnv " + directorEnvironment(n).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") : "")

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
        let inv = pair ? """
            { "apiVersion": "lvsctl/v1", "kind": "Inventory",
              "directors": [
                { "name": "d1", "ssh": "\(address("d1"))", "node": "d1", "pair": "p1", "role": "backup", "remoteDb": "\(db("d1"))" },
                { "name": "d2", "ssh": "\(address("d2"))", "node": "d2", "pair": "p1", "role": "master", "remoteDb": "\(db("d2"))" },
                { "name": "d3", "ssh": "root@\(address("d3"))", "labels": { "site": "b" }, "remoteDb": "\(db("d3"))" },
                { "name": "d4", "ssh": "root@\(address("d4"))", "labels": { "site": "b" }, "remoteDb": "\(db("d4"))" }
              ] }
            """ : """
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
            .joined(separator: "\n") + (pair ? "\n" + pairDiagnostics : "")
    }

    // MARK: - The VRRP pair (pair: true)

    func directorPaths(_ n: String) -> DirectorPaths {
        DirectorPaths(
            runDirectory: path("run-\(n)"), keepalivedConfig: path("keepalived-\(n).conf"), keepalivedPIDFile: path("run-\(n)/keepalived.pid"))
    }

    /// Which director a pair member's lvsctl is and where its files are: for the operator's
    /// commands here, its daemon, and (through its sshd) the rollout's remote lvsctl.
    func directorEnvironment(_ n: String) -> [String: String] {
        LabKeepalived.environment(node: n, paths: directorPaths(n))
    }

    /// `lvsctl ARGS --db DB` on pair member `n`, as its operator runs it there.
    func pairLvsctl(_ n: String, _ arguments: [String]) throws -> ProcessRunner.Result {
        var env = environment
        env.removeValue(forKey: "LVSCTL_SSH")
        env["LVSCTL_AUTHOR"] = "operator"
        env.merge(directorEnvironment(n)) { $1 }
        return try ProcessRunner.run(
            ["ip", "netns", "exec", directors[n]!.name, CLIRunner.binary] + arguments + ["--db", db(n)], environment: env, timeout: .seconds(300))
    }

    /// The pair's manifest: web on the VIP (r1, DR, a TCP health check), and VI_1 holding the
    /// VIP, d1 preferred (150 over 100, preempt), tracking the uplink `eth1`; maintenance faults VI_1.
    func pairManifest(_ file: String, weight: Int) throws -> String {
        let text = """
            { "apiVersion": "lvsctl/v1", "name": "web",
              "services": [ { "name": "web", "protocol": "tcp", "address": "\(Self.vip)", "port": 80, "scheduler": "wrr", "forwarding": "dr",
                              "healthCheck": { "type": "tcp", "port": 80, "connectTimeout": 2, "retry": 2, "delayBeforeRetry": 1, "interval": 1 },
                              "realServers": [ { "address": "10.30.0.21", "port": 80, "weight": \(weight) } ] } ],
              "vrrp": {
                "instances": [ { "name": "VI_1", "interface": "eth0", "virtualRouterId": 71, "advertInterval": 1,
                                 "addresses": ["\(Self.vip)/24"], "priority": { "d1": 150, "d2": 100 }, "preempt": true,
                                 "trackInterfaces": ["eth1"] } ],
                "maintenanceInstances": ["VI_1"] } }
            """
        let p = path(file)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// The pair's bootstrap, as README's "A director pair" does it: on each member `apply --node
    /// --no-reload` (revision 1), `lvsctl run`, then keepalived `-P` on the rendered file; until d1
    /// is master and d2 backup in their own `status`, d1 holding the VIP.
    func startPair(_ manifest: String) throws {
        let config = path("daemon.json")
        try #"{ "interval": 1, "jitter": 0, "metricsAddress": "127.0.0.1:19472" }"#.write(toFile: config, atomically: true, encoding: .utf8)
        for n in pairNames {
            let applied = try pairLvsctl(n, ["apply", "-f", manifest, "-m", "bootstrap", "--no-reload"])
            guard applied.status == 0 else { throw ProcessRunner.Failure(description: "bootstrap apply on \(n): \(applied)") }
            var env = environment
            env.removeValue(forKey: "LVSCTL_SSH")
            env.merge(directorEnvironment(n)) { $1 }
            env["LVSCTL_DB"] = db(n)
            daemons[n] = try directors[n]!.spawn("lvsctl-run-\(n)", [CLIRunner.binary, "run", "--config", config], environment: env)
            // keepalived unlinks a notify FIFO it created itself: lvsctl run creates it first.
            let fifo = directorPaths(n).notifyFIFO
            try waitFor("\(n)'s daemon to create its notify FIFO", timeout: 90, diagnostics: daemons[n]!.logTail()) {
                FileManager.default.fileExists(atPath: fifo)
            }
        }
        for n in pairNames { keepalived[n] = try LabKeepalived.start(on: directors[n]!, node: n, paths: directorPaths(n)) }
        try waitFor("d1 master and d2 backup in their status, d1 holding the VIP", timeout: 240, interval: 0.5, diagnostics: pairDiagnostics) {
            try role("d1") == "master" && role("d2") == "backup" && holdsVIP("d1") && !holdsVIP("d2")
        }
    }

    /// VI_1's state as `lvsctl status -o json` on `n` reports it.
    func role(_ n: String) throws -> String? {
        let r = try pairLvsctl(n, ["status", "-o", "json"])
        guard r.status == 0 else { return nil }
        let director = try json(r.stdout)["director"] as? [String: Any]
        return (director?["instances"] as? [[String: Any]])?.first { $0["name"] as? String == "VI_1" }?["state"] as? String
    }

    func holdsVIP(_ n: String) throws -> Bool {
        try directors[n]!.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).contains(" \(Self.vip)/")
    }

    /// How often keepalived said its timers ran late (a starved guest: VRRP's timing is then not
    /// the rollout's to judge).
    func keepalivedLateTimers() -> Int {
        pairNames.reduce(0) { $0 + (keepalived[$1]?.log.components(separatedBy: "A thread timer expired").count ?? 1) - 1 }
    }

    var pairDiagnostics: String {
        pairNames.map { n in
            "--- \(n): VI_1 \((try? role(n)).flatMap { $0 } ?? "?"), VIP \((try? holdsVIP(n)).map { "\($0)" } ?? "?")\n"
                + "lvsctl run (tail):\n\(daemons[n]?.logTail(15) ?? "")\nkeepalived (tail):\n\(keepalived[n]?.logTail(15) ?? "")"
        }.joined(separator: "\n")
    }

    /// HTTP requests through the VIP from the client, each on a new connection, until
    /// ``Traffic/stop()``.
    final class Traffic {
        let process: BackgroundProcess
        let stopFile: String

        init(_ lab: RolloutLab, name: String) throws {
            stopFile = lab.path("\(name).stop")
            process = try lab.client.spawn(name, [
                "sh", "-c", "while [ ! -e \"$1\" ]; do \"$2\" \"$3\" \"$4\" 5; done", "traffic", stopFile, LabScripts.python,
                LabScripts.path("http_client.py"), RolloutLab.vip,
            ])
        }

        /// Stops the loop after its current round (up to 5 requests of at most 15 s each) and
        /// sums its tallies (`r1=4 error=1` per round): requests answered by r1, and failed.
        func stop() throws -> (answered: Int, failed: Int, log: String) {
            try Data().write(to: URL(fileURLWithPath: stopFile))
            guard process.wait(timeout: 120) != nil else {
                throw ProcessRunner.Failure(description: "the traffic loop did not stop\n\(process.logTail())")
            }
            var answered = 0, failed = 0
            for line in process.log.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard !words.isEmpty, words.allSatisfy({ $0.contains("=") && !$0.hasPrefix("request") }) else { continue }
                for w in words {
                    let kv = w.split(separator: "=")
                    guard kv.count == 2, let n = Int(kv[1]) else { continue }
                    if kv[0] == "error" { failed += n } else if kv[0] == "r1" { answered += n }
                }
            }
            return (answered, failed, process.log)
        }
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

    /// d1 and d2 as a real VRRP pair (keepalived `-P` on lvsctl's render, `lvsctl run` on each),
    /// the inventory's hints the wrong way round: the rollout orders the pair by the roles each
    /// director reports, changing and verifying the live BACKUP before the live MASTER and never
    /// both in one batch (`--batches 100%`), while a client's requests through the VIP are all
    /// answered; `lvsctl maintenance on` turns the order round; an instance in FAULT outside
    /// maintenance (its tracked uplink down) fails the VRRP gate, stops the rollout and rolls back.
    @Test func aVRRPPairIsOrderedByItsLiveRoles() throws {
        let lab = try RolloutLab(pair: true)
        defer { lab.close() }
        try lab.startPair(try lab.pairManifest("v1.json", weight: 1))

        /// `rollout apply` of the pair's manifest at `weight` to the pair, every batch as large as
        /// the selection; what the client saw meanwhile.
        func rollOut(weight: Int, _ file: String) throws -> (ProcessRunner.Result, [String: Any], (answered: Int, failed: Int, log: String)) {
            let manifest = try lab.pairManifest(file, weight: weight)
            let traffic = try RolloutLab.Traffic(lab, name: "traffic-\(weight)")
            let r = try lab.rollout(["apply", "-f", manifest, "--limit", "pair=p1", "--batches", "100%", "--health-timeout", "120", "-o", "json"])
            let seen = try traffic.stop()
            return (r, try lab.json(r.stdout), seen)
        }
        func gate(_ d: [String: Any], _ name: String) -> [String: Any] {
            ((d["gates"] as? [[String: Any]]) ?? []).first { $0["gate"] as? String == name } ?? [:]
        }
        /// Where a progress line first appears on the rollout's standard error.
        func at(_ r: ProcessRunner.Result, _ line: String) -> Int {
            r.stderr.range(of: line).map { r.stderr.distance(from: r.stderr.startIndex, to: $0.lowerBound) } ?? Int.max
        }
        /// The client's requests were all answered, unless keepalived itself ran late (a starved
        /// guest can make the backup take the VIP for a moment: VRRP's timing, not the rollout's).
        func expectAnswered(_ seen: (answered: Int, failed: Int, log: String), lateBefore: Int, _ what: String) {
            #expect(seen.answered > 0, "\(what): no request answered\n\(seen.log.suffix(800))")
            let late = lab.keepalivedLateTimers() - lateBefore
            if late == 0 {
                #expect(seen.failed == 0, "\(what): \(seen.failed) of \(seen.answered + seen.failed) requests failed\n\(seen.log.suffix(800))\n\(lab.pairDiagnostics)")
            } else if seen.failed > 0 {
                print("RolloutTests: \(what): \(seen.failed) of \(seen.answered + seen.failed) requests failed; keepalived reported \(late) late timer(s) meanwhile (starved guest)")
            }
            print("RolloutTests: \(what): \(seen.answered) requests answered, \(seen.failed) failed")
        }

        // 1. The healthy pair: d1 is the live MASTER (the inventory says backup), d2 the live BACKUP.
        var late = lab.keepalivedLateTimers()
        let (a, reportA, trafficA) = try rollOut(weight: 2, "v2.json")
        #expect(a.status == 0, "\(a)\n\(lab.diagnostics)")
        #expect(reportA["outcome"] as? String == "converged", "\(a.stdout)")
        #expect(reportA["batches"] as? [[String]] == [["d2"], ["d1"]], "live backup first, never both in one batch: \(a.stdout)")
        for (n, role) in [("d1", "master"), ("d2", "backup")] {
            let d = lab.director(reportA, n)
            #expect(d["role"] as? String == role && d["roleSource"] as? String == "vrrp", "\(n): \(d)")
            #expect(d["state"] as? String == "converged" && d["revisionBefore"] as? Int == 1 && d["revisionAfter"] as? Int == 2, "\(n): \(d)")
            let vrrp = gate(d, "vrrp")
            #expect(vrrp["outcome"] as? String == "passed" && (vrrp["detail"] as? String)?.contains("VI_1 \(role)") == true, "\(n): \(vrrp)")
            #expect(gate(d, "health")["outcome"] as? String == "passed", "\(n): \(d)")
            #expect(try lab.weight(n).contains("-a -t 10.30.0.100:80 -r 10.30.0.21:80 -g -w 2"), "\(n)")
        }
        // The backup was changed and verified (its last gate) before the master was touched.
        #expect(at(a, "d2: converged") < at(a, "d1: applying"), "\(a.stderr)")
        expectAnswered(trafficA, lateBefore: late, "rollout 1")

        // 2. Maintenance on d1 moves the VIP to d2: now d2 is the live MASTER and d1 (VI_1 in
        //    FAULT, in maintenance) the live backup: d1 goes first, and its VRRP gate passes.
        let on = try lab.pairLvsctl("d1", ["maintenance", "on", "-m", "rollout test"])
        #expect(on.status == 0, "\(on)")
        try waitFor("d2 master holding the VIP, d1 in FAULT", timeout: 120, interval: 0.5, diagnostics: lab.pairDiagnostics) {
            try lab.role("d2") == "master" && lab.role("d1") == "fault" && lab.holdsVIP("d2") && !lab.holdsVIP("d1")
        }
        late = lab.keepalivedLateTimers()
        let (b, reportB, trafficB) = try rollOut(weight: 3, "v3.json")
        #expect(b.status == 0, "\(b)\n\(lab.diagnostics)")
        #expect(reportB["batches"] as? [[String]] == [["d1"], ["d2"]], "\(b.stdout)")
        let d1InMaintenance = lab.director(reportB, "d1")
        #expect(d1InMaintenance["role"] as? String == "backup" && d1InMaintenance["roleSource"] as? String == "vrrp", "\(d1InMaintenance)")
        #expect(lab.director(reportB, "d2")["role"] as? String == "master" && lab.director(reportB, "d2")["roleSource"] as? String == "vrrp")
        let maintenanceGate = gate(d1InMaintenance, "vrrp")
        #expect(maintenanceGate["outcome"] as? String == "passed" && (maintenanceGate["detail"] as? String)?.contains("VI_1 fault (maintenance)") == true, "\(maintenanceGate)")
        #expect(at(b, "d1: converged") < at(b, "d2: applying"), "\(b.stderr)")
        expectAnswered(trafficB, lateBefore: late, "rollout 2")
        let off = try lab.pairLvsctl("d1", ["maintenance", "off"])
        #expect(off.status == 0, "\(off)")
        try waitFor("d1 master again (preempt), d2 backup", timeout: 120, interval: 0.5, diagnostics: lab.pairDiagnostics) {
            try lab.role("d1") == "master" && lab.role("d2") == "backup" && lab.holdsVIP("d1") && !lab.holdsVIP("d2")
        }

        // 3. d2's tracked uplink goes down: keepalived puts VI_1 in FAULT, outside maintenance.
        //    d2 (holding no VIP) goes first; its VRRP gate fails; the rollout stops before d1 and
        //    rolls d2 back, and the rollback's own VRRP gate says the fault is still there.
        try lab.directors["d2"]!.check(["ip", "link", "set", "eth1", "down"])
        try waitFor("d2's VI_1 in FAULT in its status", timeout: 120, interval: 0.5, diagnostics: lab.pairDiagnostics) {
            try lab.role("d2") == "fault" && lab.holdsVIP("d1")
        }
        let manifestC = try lab.pairManifest("v4.json", weight: 4)
        let c = try lab.rollout(["apply", "-f", manifestC, "--limit", "pair=p1", "--batches", "100%", "--health-timeout", "120", "-o", "json"])
        #expect(c.status == 1, "\(c)\n\(lab.diagnostics)")
        let reportC = try lab.json(c.stdout)
        #expect(reportC["outcome"] as? String == "failed" && reportC["batches"] as? [[String]] == [["d2"], ["d1"]], "\(c.stdout)")
        let stop = (reportC["stop"] as? [String: Any]) ?? [:]
        #expect(stop["director"] as? String == "d2" && stop["gate"] as? String == "vrrp" && stop["batch"] as? Int == 1, "\(stop)")
        #expect((stop["reason"] as? String)?.contains("in FAULT outside maintenance: VI_1") == true, "\(stop)")
        let d2 = lab.director(reportC, "d2")
        #expect(d2["role"] as? String == "backup" && d2["roleSource"] as? String == "vrrp", "\(d2)")
        #expect(gate(d2, "vrrp")["outcome"] as? String == "failed", "\(d2)")
        let rollback = (d2["rollback"] as? [String: Any]) ?? [:]
        #expect(rollback["to"] as? Int == 3 && rollback["succeeded"] as? Bool == false, "\(rollback)")
        #expect(d2["state"] as? String == "rollbackFailed", "\(d2)")
        #expect(try lab.weight("d2").contains("-r 10.30.0.21:80 -g -w 3"), "d2's table is back at revision 3's weight")
        #expect(lab.director(reportC, "d1")["state"] as? String == "notStarted")
        #expect(try lab.weight("d1").contains("-r 10.30.0.21:80 -g -w 3") && lab.revisions("d1").count == 3, "d1 untouched")
        #expect(c.stderr.contains("gate vrrp failed") && c.stderr.contains("VI_1"), "the progress says which gate and why: \(c.stderr)")

        // The uplink back: the pair is sane again.
        try lab.directors["d2"]!.check(["ip", "link", "set", "eth1", "up"])
        try waitFor("d2 backup again", timeout: 120, interval: 0.5, diagnostics: lab.pairDiagnostics) { try lab.role("d2") == "backup" }
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
