import Foundation
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `lvsctl run` against the real kernel: http health checks against busybox httpd real servers,
/// weight 0 on failure and back on recovery, one notification and one audit row per change,
/// Prometheus metrics. Each case in its own network namespace, where the daemon also runs (its
/// probes connect from there).
@Suite(.serialized) struct DaemonScenarioTests {
    static let busybox = ["/bin/busybox", "/usr/bin/busybox"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "busybox"

    func manifest() -> String {
        """
        {
          "apiVersion": "lvsctl/v1",
          "name": "web",
          "services": [
            {
              "name": "web", "protocol": "tcp", "address": "10.10.0.100", "port": 80,
              "scheduler": "wrr", "forwarding": "nat", "inhibitOnFailure": true,
              "healthCheck": { "type": "http", "path": "/", "interval": 1, "retry": 1,
                               "delayBeforeRetry": 1, "connectTimeout": 1 },
              "realServers": [
                { "address": "192.0.2.11", "port": 8080, "weight": 3 },
                { "address": "192.0.2.12", "port": 8080, "weight": 1 }
              ]
            }
          ]
        }
        """
    }

    func startHTTPD(_ ns: NetworkNamespace, _ address: String, _ cli: CLIRunner) throws -> BackgroundProcess {
        let www = cli.directory.appendingPathComponent("www-\(address)")
        try FileManager.default.createDirectory(at: www, withIntermediateDirectories: true)
        try Data("hello from \(address)\n".utf8).write(to: www.appendingPathComponent("index.html"))
        return try BackgroundProcess(
            ["ip", "netns", "exec", ns.name, Self.busybox, "httpd", "-f", "-p", "\(address):8080", "-h", www.path],
            environment: cli.environment, log: cli.directory.appendingPathComponent("httpd-\(address).log").path)
    }

    /// Waits until the httpd on `address` serves its page: a daemon that started health checks
    /// before httpd listened would see failures the test did not make.
    func waitForHTTPD(_ ns: NetworkNamespace, _ address: String) throws {
        var last = ""
        let ready = try within(60) {
            let r = try ns.run(["curl", "-s", "-m", "2", "http://\(address):8080/"])
            last = "\(r)"
            return r.stdout == "hello from \(address)\n"
        }
        if ready == nil { throw ProcessRunner.Failure(description: "httpd on \(address):8080 did not answer within 60 s: \(last)") }
    }

    /// Polls until `body` is true or `seconds` pass; returns the seconds it took, or nil.
    func within(_ seconds: Double, _ body: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if try body() { return Date().timeIntervalSince(start) }
            usleep(200_000)
        }
        return nil
    }

    func healthRows(_ cli: CLIRunner) throws -> Int {
        let r = try cli.run(["history", "--output", "json", "--limit", "1000"])
        let rows = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        return rows.filter { $0["origin"] as? String == "health" }.count
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func failedRealServerIsInhibitedNotifiedAuditedAndRestored() throws {
        let ns = try NetworkNamespace(prefix: "lvsd")
        defer { ns.close() }
        let cli = try CLIRunner(fakeKernel: false)
        for a in ["192.0.2.11", "192.0.2.12"] { try ns.check(["ip", "addr", "add", "\(a)/32", "dev", "lo"]) }
        var httpd1 = try startHTTPD(ns, "192.0.2.11", cli)
        let httpd2 = try startHTTPD(ns, "192.0.2.12", cli)
        defer { httpd2.signal(SIGKILL) }
        for a in ["192.0.2.11", "192.0.2.12"] { try waitForHTTPD(ns, a) }

        let applied = try cli.run(["apply", "-f", try cli.write("web.json", manifest()), "--netns", ns.name])
        try #require(applied.status == 0, "\(applied)")

        let notes = cli.directory.appendingPathComponent("notes.txt").path
        let hook = try cli.write("hook.sh", "#!/bin/sh\necho \"$@\" >> \(notes)\n")
        chmod(hook, 0o755)
        let port = 19470 + Int(getpid() % 500)
        let config = try cli.write("daemon.json", """
            { "interval": 2, "metricsAddress": "127.0.0.1:\(port)",
              "notify": { "exec": { "path": "\(hook)", "timeout": 5 } } }
            """)
        let daemonLog = cli.directory.appendingPathComponent("daemon.log").path
        let daemon = try BackgroundProcess(
            ["ip", "netns", "exec", ns.name, CLIRunner.binary, "run", "--config", config],
            environment: cli.environment, log: daemonLog)
        defer { daemon.signal(SIGKILL) }
        func log() -> String { (try? String(contentsOfFile: daemonLog, encoding: .utf8)) ?? "" }

        // Metrics with the IPVS series.
        var metrics = ""
        // Start-up of the debug binary from the guest's 9p root is slow under load (DaemonLab waits 60 s too).
        let up = try within(60) {
            let r = try ns.run(["curl", "-s", "-m", "2", "http://127.0.0.1:\(port)/metrics"])
            metrics = r.stdout
            return r.status == 0 && metrics.contains("lvsctl_real_server_health_up")
        }
        #expect(up != nil, "no metrics: \(metrics)\n\(log())")
        #expect(metrics.contains(#"lvsctl_ipvs_real_server_weight{service="tcp/10.10.0.100:80",real_server="192.0.2.11:8080",manifest="web"} 3"#), "\(metrics)")
        #expect(metrics.contains("# TYPE lvsctl_ipvs_service_connections_total counter"), "\(metrics)")
        #expect(metrics.contains("lvsctl_reconcile_last_success_timestamp_seconds"), "\(metrics)")
        #expect(try healthRows(cli) == 0)

        // Stop one real server: weight 0 within interval × (retry + 1) + interval (6 s; the 30 s wait is slack
        // for TCG under the parallel suite, and the time taken is printed; DaemonTrafficTests checks the bound).
        httpd1.signal(SIGTERM)
        _ = httpd1.wait(timeout: 5)
        // Should the signal not reach httpd (an `ip netns exec` that forks), a 404 fails the check too.
        let page = cli.directory.appendingPathComponent("www-192.0.2.11/index.html")
        try? FileManager.default.removeItem(at: page)
        let down = try within(30) { try ns.ipvsadmSave().contains("-r 192.0.2.11:8080 -m -w 0") }
        let afterDown = try ns.ipvsadmSave()
        print("daemon scenario: httpd stopped → weight 0 after \(down.map { String(format: "%.1f", $0) } ?? "-") s")
        #expect(down != nil, "weight not 0: \(afterDown)\n\(log())")
        #expect(try ns.ipvsadmSave().contains("-r 192.0.2.12:8080 -m -w 1"))
        // The exec hook runs asynchronously, and the pass writes the kernel before its audit row:
        // wait for each (TCG under load is slow to start a process), then count exactly.
        #expect(within(20) { lines(notes).count >= 1 } != nil)
        #expect(lines(notes) == ["REALSERVER tcp/10.10.0.100:80/192.0.2.11:8080 DOWN"], "\(lines(notes))")
        _ = try within(20) { try healthRows(cli) >= 1 }
        #expect(try healthRows(cli) == 1)
        #expect(try cli.run(["drift", "--netns", ns.name]).status == 0, "health weight 0 is not drift")

        // Restart it: weight back, one more notification, none while it stays up.
        httpd1 = try startHTTPD(ns, "192.0.2.11", cli)
        #expect(FileManager.default.fileExists(atPath: page.path))
        defer { httpd1.signal(SIGKILL) }
        let restored = try within(30) { try ns.ipvsadmSave().contains("-r 192.0.2.11:8080 -m -w 3") }
        let afterUp = try ns.ipvsadmSave()
        print("daemon scenario: httpd restarted → weight 3 after \(restored.map { String(format: "%.1f", $0) } ?? "-") s")
        #expect(restored != nil, "weight not restored: \(afterUp)\n\(log())")
        #expect(within(20) { lines(notes).count >= 2 } != nil)
        _ = try within(20) { try healthRows(cli) >= 2 }
        // Nothing more while it stays up: two more check intervals.
        sleep(4)
        #expect(lines(notes) == [
            "REALSERVER tcp/10.10.0.100:80/192.0.2.11:8080 DOWN", "REALSERVER tcp/10.10.0.100:80/192.0.2.11:8080 UP",
        ], "\(lines(notes))")
        #expect(try healthRows(cli) == 2)

        // SIGTERM: the daemon finishes and exits 0.
        daemon.signal(SIGTERM)
        let status = daemon.wait(timeout: 60)
        #expect(status == 0, "daemon exit \(String(describing: status))\n\(log())")
        #expect(log().contains("reconcile.id="), "structured logs carry the pass id")
    }
}
