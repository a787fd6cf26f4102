import Foundation
import LVSModel
import LVSStore
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `lvsctl run` stopped and started again: SIGTERM in the middle of a pass that writes thousands
/// of objects, and a drain that outlives the daemon that started watching it.
@Suite(.serialized) struct DaemonRestartTests {
    /// Lines of `/proc/PID/net/ip_vs` below its three header lines: services plus real servers
    /// in the network namespace of process `pid`. A file read, so it can be polled quickly; only
    /// roughly right while the table changes (exact counts come from `ipvsadm -Sn`).
    static func tableLines(pid: pid_t) -> Int? {
        // read(2) to the end: Foundation reads a /proc file (size 0) only up to its first page.
        let fd = open("/proc/\(pid)/net/ip_vs", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes.split(separator: UInt8(ascii: "\n")).dropFirst(3).count
    }

    static func startDaemon(_ cli: CLIRunner, netns: String, interval: Double, log: String) throws -> BackgroundProcess {
        let config = try cli.write("daemon.json", #"{ "interval": \#(interval), "jitter": 0, "metricsAddress": "" }"#)
        return try BackgroundProcess(
            ["ip", "netns", "exec", netns, CLIRunner.binary, "run", "--config", config],
            environment: cli.environment, log: log)
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The last lines of a log without the per-change lines, for failure messages.
    static func tail(_ path: String) -> String {
        "log:\n" + read(path).split(separator: "\n").filter { !$0.contains("applied change") }.suffix(25).joined(separator: "\n")
    }

    /// Polls every 20 ms: ``sigtermOnceWriting(_:_:of:timeout:)`` must catch a pass early in its writes.
    static func waitFor(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
        try LVSTestSupport.waitFor(what, timeout: timeout, interval: 0.02, condition)
    }

    /// Waits until `process` has put objects into its namespace's table, then sends it SIGTERM.
    /// Returns when the signal went, for ``requireInterrupted(_:at:)``.
    static func sigtermOnceWriting(_ process: BackgroundProcess, _ what: String, of total: Int, timeout: Double) throws -> Date {
        var seen = 0
        try waitFor("the \(what) to start writing", timeout: timeout) {
            seen = tableLines(pid: process.pid) ?? 0
            return seen > 0
        }
        let signalledAt = Date()
        process.signal(SIGTERM)
        print("\(what): SIGTERM with about \(seen) of \(total) objects written")
        return signalledAt
    }

    /// Proof that the signal came in the middle of the apply: its run began before the signal and
    /// ended after it (and the table had objects in it when the signal was sent). Otherwise the
    /// test did not test what it claims.
    static func requireInterrupted(_ run: ApplyRun, at signalled: Date) throws {
        let finished = try #require(run.finishedAt, "the run was not closed")
        print("run \(run.id): began \(String(format: "%.2f", signalled.timeIntervalSince(run.startedAt))) s before the signal, "
            + "ended \(String(format: "%.2f", finished.timeIntervalSince(signalled))) s after it")
        try #require(run.startedAt < signalled && signalled < finished, "the signal was not sent during the run: \(run)")
    }

    /// `services` NAT services with 20 real servers each.
    static func bulkManifest(services: Int, realServers: Int = 20) -> String {
        var svcs: [String] = []
        for i in 0..<services {
            let rs = (1...realServers).map { #"{ "address": "192.0.2.\#($0)", "port": 8080 }"# }.joined(separator: ", ")
            svcs.append(#"{ "name": "s\#(i)", "protocol": "tcp", "address": "10.20.\#(i / 250).\#(i % 250 + 1)", "port": 80, "forwarding": "nat", "realServers": [\#(rs)] }"#)
        }
        return #"{ "apiVersion": "lvsctl/v1", "name": "bulk", "services": [\#(svcs.joined(separator: ",\n"))] }"#
    }

    @Test func sigtermDuringAPassFinishesItsWritesAndTheirAuditRows() throws {
        let ns = try NetworkNamespace(prefix: "lvsk")
        defer { ns.close() }
        let cli = try CLIRunner(fakeKernel: false)
        let services = 150, total = 150 * 21
        let applied = try cli.run(["apply", "-f", try cli.write("bulk.json", Self.bulkManifest(services: services)), "--netns", ns.name])
        try #require(applied.status == 0, "\(applied)")

        let log = cli.directory.appendingPathComponent("daemon.log").path
        let daemon = try Self.startDaemon(cli, netns: ns.name, interval: 600, log: log)
        defer { daemon.signal(SIGKILL) }
        try Self.waitFor("the daemon's first pass", timeout: 120) { Self.read(log).contains("reconcile pass done") }
        #expect(try ns.ipvsadmSave().split(separator: "\n").count == total)

        // Empty the table behind the daemon's back; SIGHUP starts a pass that recreates it all.
        try ns.check(["ipvsadm", "-C"])
        daemon.signal(SIGHUP)
        let signalledAt = try Self.sigtermOnceWriting(daemon, "daemon", of: total, timeout: 60)

        let status = daemon.wait(timeout: 120)
        #expect(status == 0, "exit \(String(describing: status))\n\(Self.read(log))")
        // The pass in progress ran to its end: every object is back, and every write has its row.
        let lines = try ns.ipvsadmSave().split(separator: "\n").count
        #expect(lines == total, Comment(rawValue: Self.tail(log)))
        let store = try Store(path: cli.databasePath)
        let runs = try store.runs()
        #expect(runs.allSatisfy { $0.status != .running && $0.finishedAt != nil }, "\(runs)")
        let last = try #require(runs.first { $0.origin == .daemon })
        #expect(last.status == .succeeded)
        let rows = try store.audit(AuditFilter(runID: last.id))
        #expect(rows.count == total, "audit rows of the interrupted pass: \(rows.count)")
        try Self.requireInterrupted(last, at: signalledAt)
        #expect(rows.allSatisfy { $0.result == .applied })
        #expect(Set(rows.map(\.action)) == ["create-service", "add-real-server"])
        let history = try cli.run(["history", "--output", "json", "--limit", "100000"])
        let all = (try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        #expect(all.count == 2 * total, "the apply's rows and the daemon's, nothing else")
    }

    /// The same for `lvsctl apply` itself: SIGTERM while it writes waits until the writes are
    /// audited and the run closed, then ends the process as SIGTERM would have.
    @Test func sigtermDuringACLIApplyWaitsUntilItsWritesAreAudited() throws {
        let ns = try NetworkNamespace(prefix: "lvsa")
        defer { ns.close() }
        let cli = try CLIRunner(fakeKernel: false)
        let total = 150 * 21
        let manifest = try cli.write("bulk.json", Self.bulkManifest(services: 150))
        let log = cli.directory.appendingPathComponent("apply.log").path
        let apply = try BackgroundProcess(
            ["ip", "netns", "exec", ns.name, CLIRunner.binary, "apply", "-f", manifest],
            environment: cli.environment, log: log)
        defer { apply.signal(SIGKILL) }
        let signalledAt = try Self.sigtermOnceWriting(apply, "apply", of: total, timeout: 120)
        let status = apply.wait(timeout: 120)
        #expect(status == 128 + SIGTERM, "exit \(String(describing: status)): \(Self.read(log))")
        #expect(Self.read(log).contains("signal 15 arrived during the apply"), "\(Self.read(log))")

        let lines = try ns.ipvsadmSave().split(separator: "\n").count
        #expect(lines == total, "the apply ran to its end")
        let store = try Store(path: cli.databasePath)
        let runs = try store.runs()
        #expect(runs.count == 1 && runs.first?.status == .succeeded && runs.first?.finishedAt != nil, "\(runs)")
        let rows = try store.audit(AuditFilter(runID: runs.first?.id))
        #expect(rows.count == total, "one audit row per kernel write: \(rows.count)")
        try Self.requireInterrupted(try #require(runs.first), at: signalledAt)
    }

    /// SIGKILL at a moment inside the kernel writes of `lvsctl apply` (issue 17): the intent
    /// rows committed before the first write let the next command account for every write that
    /// reached the kernel. After each kill a read-only `drift` closes the run (one audit row per
    /// object in the kernel, no `planned` row left, nothing `running`) and reports the truth
    /// (drift while objects are missing); the next `apply` converges and `drift` is clean.
    /// (One moment per run: each takes minutes in the emulated guest; the simulated kills of
    /// LVSReconcilerTests.IntentTests cover batch boundaries.)
    @Test(arguments: [0.5])
    func sigkillDuringACLIApplyLeavesAnAuditTheNextCommandCompletes(at fraction: Double) throws {
        let ns = try NetworkNamespace(prefix: "lvs9")
        defer { ns.close() }
        let cli = try CLIRunner(fakeKernel: false)
        let total = 150 * 21
        let manifest = try cli.write("bulk.json", Self.bulkManifest(services: 150))
        let log = cli.directory.appendingPathComponent("apply.log").path
        let apply = try BackgroundProcess(
            ["ip", "netns", "exec", ns.name, CLIRunner.binary, "apply", "-f", manifest],
            environment: cli.environment, log: log)
        defer { apply.signal(SIGKILL) }
        let threshold = max(1, Int(Double(total) * fraction))
        var seen = 0
        try Self.waitFor("the apply to write \(threshold) objects", timeout: 300) {
            seen = Self.tableLines(pid: apply.pid) ?? 0
            return seen >= threshold
        }
        apply.signal(SIGKILL)
        #expect(apply.wait(timeout: 60) == 128 + SIGKILL, "\(Self.read(log))")
        let inKernel = try ns.ipvsadmSave().split(separator: "\n").count
        print("SIGKILL at \(fraction): about \(seen), then \(inKernel) of \(total) objects in the kernel")

        let store = try Store(path: cli.databasePath)
        let killed = try #require(try store.runs().first)
        try #require(killed.status == .running, "the kill came after the run ended: \(killed)\n\(Self.read(log))")
        let intents = try store.plannedRows(runID: killed.id).count
        #expect(intents + (try store.audit(AuditFilter(runID: killed.id)).count) == total,
            "every write has its intent row before the first write")

        // A read-only command closes the interrupted run and says so.
        let drift = try cli.run(["drift", "--netns", ns.name])
        #expect(drift.stderr.contains("run \(killed.id) (apply of bulk") && drift.stderr.contains("was interrupted"), "\(drift)")
        #expect(drift.status == (inKernel == total ? 0 : 2), "drift tells the truth: \(drift)")
        let closed = try #require(try store.run(killed.id))
        #expect(closed.status == .failed && closed.finishedAt != nil && closed.error?.hasPrefix("interrupted") == true, "\(closed)")
        #expect(try store.plannedRows(runID: killed.id).isEmpty)
        let rows = try store.audit(AuditFilter(runID: killed.id, limit: 100_000))
        #expect(rows.count == inKernel, "one audit row per object the kernel holds: \(rows.count) rows, \(inKernel) objects")
        #expect(rows.allSatisfy { $0.result == .applied })
        #expect(try store.runs().allSatisfy { $0.status != .running })
        let history = try cli.run(["history", "--output", "json", "--limit", "100000"])
        let entries = (try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]]
        #expect(entries?.count == inKernel, "history shows the killed run's writes: \(history.stderr)")

        // The next apply converges; the services the killed run created stay lvsctl's.
        let again = try cli.run(["apply", "-f", manifest, "--netns", ns.name])
        #expect(again.status == 0, "\(again)")
        #expect(try ns.ipvsadmSave().split(separator: "\n").count == total)
        let clean = try cli.run(["drift", "--netns", ns.name])
        #expect(clean.status == 0, "\(clean)")
        #expect(try store.runs().allSatisfy { $0.status != .running })
        #expect(try store.audit(AuditFilter(limit: 100_000)).count == total, "each object created once, audited once")
    }

    /// SIGKILL at ten moments inside the kernel writes of a 500 × 10 apply (issue 17's
    /// acceptance), each from an empty table and a new store. The debug build's failpoint
    /// (`LVSCTL_TEST_SIGKILL_AFTER_WRITES`, see `SIGKILLAfterWrites`) kills the process once the
    /// kernel has acknowledged exactly N writes: the first write, inside and at the edges of the
    /// 1024-write chunks, and after the last write before its audit is recorded. So after each
    /// kill the kernel holds exactly N objects, and the test can demand that the audit accounts
    /// for exactly those. The next command (drift, plan, status, history or apply in turn) must
    /// close the run; an apply must also converge (it is the next command for the last moment, where the
    /// kernel already matches: a no-op apply once left such a run `running`).
    @Test func sigkillAtTenMomentsInsideTheWritesOfA500x10Apply() throws {
        let ns = try NetworkNamespace(prefix: "lvsx")
        defer { ns.close() }
        let services = 500, perService = 10
        let total = services * (1 + perService)
        let moments = [1, 700, 1023, 1024, 1025, 2300, 3500, 4096, 5000, total]
        let nextCommands = ["drift", "plan", "status", "history", "apply"]
        for (k, n) in moments.enumerated() {
            try ns.check(["ipvsadm", "-C"])
            let cli = try CLIRunner(fakeKernel: false)
            cli.commonArguments = ["--netns", ns.name]
            let manifest = try cli.write("bulk.json", Self.bulkManifest(services: services, realServers: perService))
            cli.environment["LVSCTL_TEST_SIGKILL_AFTER_WRITES"] = "\(n)"
            let killed = try cli.run(["apply", "-f", manifest])
            cli.environment.removeValue(forKey: "LVSCTL_TEST_SIGKILL_AFTER_WRITES")
            try #require(killed.status == 128 + SIGKILL, "moment \(n): the failpoint needs a debug build: \(killed)")

            let table = try ns.ipvsadmSave().split(separator: "\n")
            let inKernel = (services: table.filter { $0.hasPrefix("-A ") }.count, realServers: table.filter { $0.hasPrefix("-a ") }.count)
            #expect(inKernel.services + inKernel.realServers == n, "moment \(n): the kernel holds what it acknowledged")
            let store = try Store(path: cli.databasePath)
            let run = try #require(try store.runs().first)
            try #require(run.status == .running, "moment \(n): \(run)")
            #expect(try store.plannedRows(runID: run.id).count + (try store.audit(AuditFilter(runID: run.id, limit: 100_000)).count) == total,
                "moment \(n): every write has its intent row before the first write")

            let next = k == moments.count - 1 ? "apply" : nextCommands[k % nextCommands.count]
            let arguments = ["plan", "apply"].contains(next) ? [next, "-f", manifest] : next == "history" ? [next, "-o", "json", "--limit", "100000"] : [next]
            let after = try cli.run(arguments)
            #expect(after.stderr.contains("run \(run.id) (apply of bulk") && after.stderr.contains("was interrupted"),
                "moment \(n), \(next): says what it closed: \(after)")
            let closed = try #require(try store.run(run.id))
            #expect(closed.status == .failed && closed.finishedAt != nil && closed.error?.hasPrefix("interrupted") == true, "moment \(n): \(closed)")
            #expect(try store.plannedRows(runID: run.id).isEmpty)
            #expect(try store.runs().allSatisfy { $0.status != .running }, "moment \(n), \(next): no run left running")
            let rows = try store.audit(AuditFilter(runID: run.id, limit: 100_000))
            #expect(rows.allSatisfy { $0.result == .applied })
            #expect(rows.filter { $0.action == "create-service" }.count == inKernel.services
                && rows.filter { $0.action == "add-real-server" }.count == inKernel.realServers,
                "moment \(n), \(next): one audit row per object the killed run put in the kernel: \(rows.count) rows, \(inKernel)")
            print("SIGKILL after \(n) of \(total) writes: \(inKernel.services) services and \(inKernel.realServers) real servers in the kernel, "
                + "\(rows.count) audit rows after `\(next)`")

            switch next {
            case "drift": #expect(after.status == (n == total ? 0 : 2), "drift tells the truth: \(after)")
            case "history":
                #expect(after.status == 0, "\(after.stderr)")
                let entries = (try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]]
                #expect(entries?.count == n, "moment \(n): history shows the killed run's writes")
            case "apply":
                #expect(after.status == 0, "\(after)")
                #expect(try ns.ipvsadmSave().split(separator: "\n").count == total)
                #expect(try store.audit(AuditFilter(limit: 100_000)).count == total, "moment \(n): each object created once, audited once")
                #expect(try cli.run(["drift"]).status == 0)
            default: #expect(after.status == 0, "\(after)")
            }
        }
    }

    /// Two `lvsctl apply` of different manifests started at once on a database that does not
    /// exist yet (issue 17: one failed with "table manifest already exists"): the schema is made
    /// once, the writer lock serialises the applies, both succeed and both are audited.
    @Test func twoAppliesOnAFreshDatabaseBothSucceed() throws {
        let ns = try NetworkNamespace(prefix: "lvs2")
        defer { ns.close() }
        let cli = try CLIRunner(fakeKernel: false)
        func manifest(_ name: String, _ octet: Int) throws -> String {
            let rs = (1...20).map { #"{ "address": "192.0.2.\#($0)", "port": 8080 }"# }.joined(separator: ", ")
            return try cli.write("\(name).json", #"{ "apiVersion": "lvsctl/v1", "name": "\#(name)", "services": [ { "name": "web", "protocol": "tcp", "address": "10.30.0.\#(octet)", "port": 80, "forwarding": "nat", "realServers": [\#(rs)] } ] }"#)
        }
        let files = [try manifest("a", 1), try manifest("b", 2)]
        #expect(!FileManager.default.fileExists(atPath: cli.databasePath))
        let logs = ["a", "b"].map { cli.directory.appendingPathComponent("apply-\($0).log").path }
        let applies = try zip(files, logs).map { file, log in
            try BackgroundProcess(
                ["ip", "netns", "exec", ns.name, CLIRunner.binary, "apply", "-f", file, "--lock-timeout", "120"],
                environment: cli.environment, log: log)
        }
        defer { for a in applies { a.signal(SIGKILL) } }
        for (apply, log) in zip(applies, logs) {
            let status = apply.wait(timeout: 180)
            #expect(status == 0, "exit \(String(describing: status)): \(Self.read(log))")
        }
        #expect(try ns.ipvsadmSave().split(separator: "\n").count == 42)
        let store = try Store(path: cli.databasePath)
        let runs = try store.runs()
        #expect(runs.count == 2 && runs.allSatisfy { $0.status == .succeeded }, "\(runs)")
        #expect(Set(runs.compactMap(\.manifest)) == ["a", "b"])
        #expect(try store.audit(AuditFilter(limit: 1000)).count == 42)
        #expect(try store.appliedMigrations() == Store.migrationIDs)
    }

    /// A DR service on the lab VIP. A drain ends when active and inactive connections are 0, so
    /// FIN_WAIT is shortened to 2 s.
    static func drManifest(_ servers: [String]) -> String {
        let rs = servers.map { #"{ "address": "\#($0)", "port": 80, "weight": 1 }"# }.joined(separator: ", ")
        return #"""
            { "apiVersion": "lvsctl/v1", "name": "dr",
              "services": [ { "name": "web", "protocol": "tcp", "address": "10.10.0.100", "port": 80,
                              "scheduler": "wrr", "forwarding": "dr", "drain": { "timeout": 600 },
                              "realServers": [\#(rs)] } ],
              "settings": { "timeouts": { "tcp": 900, "tcpFin": 2, "udp": 300 } } }
            """#
    }

    @Test func aDrainSurvivesADaemonRestartAndCompletesWhenItsConnectionEnds() throws {
        let lab = try DataPlaneLab()
        defer { lab.close() }
        let cli = try CLIRunner(fakeKernel: false)
        cli.commonArguments = ["--netns", lab.director]
        let addresses = ["r1": "10.10.0.11", "r2": "10.10.0.12"]
        try #require(try cli.run(["apply", "-f", try cli.write("v1.json", Self.drManifest(["10.10.0.11", "10.10.0.12"]))]).status == 0)
        try lab.startClient()
        let name = try lab.connectedTo()
        let drained = try #require(addresses[name]), kept = addresses[name == "r1" ? "r2" : "r1"]!

        let log1 = cli.directory.appendingPathComponent("daemon1.log").path
        var daemon = try Self.startDaemon(cli, netns: lab.director, interval: 1, log: log1)
        defer { daemon.signal(SIGKILL) }
        try Self.waitFor("the first daemon's first pass", timeout: 120) { Self.read(log1).contains("reconcile pass done") }

        // Revision 2 drops the server the client is connected to: weight 0, kept while connected.
        let v2 = try cli.run(["apply", "-f", try cli.write("v2.json", Self.drManifest([kept]))])
        #expect(v2.status == 0, "\(v2)")
        let table = try lab.ipvsadm("-Sn")
        #expect(table.contains("-r \(drained):80 -g -w 0"), "\(table)\n\(v2)\n\(Self.tail(log1))")
        let store = try Store(path: cli.databasePath)
        #expect(try store.drains().map { "\($0.realServer)" } == ["\(drained):80"])

        daemon.signal(SIGTERM)
        #expect(daemon.wait(timeout: 60) == 0, Comment(rawValue: Self.read(log1)))
        #expect(try store.drains().count == 1, "the drain outlives the daemon")

        let log2 = cli.directory.appendingPathComponent("daemon2.log").path
        daemon = try Self.startDaemon(cli, netns: lab.director, interval: 1, log: log2)
        try Self.waitFor("two passes of the restarted daemon", timeout: 120) {
            Self.read(log2).components(separatedBy: "reconcile pass done").count > 2
        }
        #expect(try lab.ipvsadm("-Sn").contains("-r \(drained):80 -g -w 0"), "still draining while connected")
        let pongs = lab.pongs
        try lab.waitFor("the connection to keep working while drained", timeout: 20) { lab.pongs > pongs + 3 }

        // The connection ends: the restarted daemon finishes the drain.
        try lab.stopClient()
        do {
            // The kernel write first, then its audit row and the drain's end in the store.
            try Self.waitFor("the drained server to be deleted and the drain closed", timeout: 60) {
                try !lab.ipvsadm("-Sn").contains("-r \(drained):80") && store.drains().isEmpty
            }
        } catch {
            Issue.record("\(error)\n\(Self.tail(log2))")
            throw error
        }
        #expect(try store.drains().isEmpty)
        let deletes = try store.audit(AuditFilter()).filter { $0.action == "delete-real-server" }
        #expect(deletes.map { "\($0.realServer.map { "\($0)" } ?? "")" } == ["\(drained):80"])
        #expect(deletes.first?.origin == .daemon, "deleted by the restarted daemon")
        #expect(try lab.ipvsadm("-Sn").contains("-r \(kept):80 -g -w 1"))

        daemon.signal(SIGTERM)
        #expect(daemon.wait(timeout: 60) == 0, Comment(rawValue: Self.read(log2)))
    }
}
