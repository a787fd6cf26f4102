import Foundation
import LVSModel
import LVSStore
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `lvsctl run` with real traffic: an LVS-DR director whose real servers are HTTP servers in
/// their own namespaces, and a client that sends requests through the VIP (``DaemonLab``).
/// The issue's acceptance for the daemon, checked on what a client sees, what the kernel holds,
/// the exec hook's lines, the audit and the metrics a Prometheus parser reads.
@Suite(.serialized) struct DaemonTrafficTests {
    /// The health check: every `interval` s, down after `retry` + 1 consecutive failures
    /// (keepalived's meaning of `retry`: retries after the first failure).
    static let interval = 2.0
    static let retry = 1
    static let vip = "tcp/10.10.0.100:80"
    static func rs(_ address: String) -> String { "-a -t 10.10.0.100:80 -r \(address):80 -g -w" }

    static func manifest(extraService: String = "") -> String {
        """
        {
          "apiVersion": "lvsctl/v1",
          "name": "web",
          "services": [
            {
              "name": "web", "protocol": "tcp", "address": "10.10.0.100", "port": 80,
              "scheduler": "wrr", "forwarding": "dr", "inhibitOnFailure": true,
              "sorryServer": { "address": "10.10.0.13", "port": 80 },
              "healthCheck": { "type": "http", "port": 80, "path": "/healthz", "statusCodes": [200],
                               "interval": \(interval), "retry": \(retry), "delayBeforeRetry": 1, "connectTimeout": 1 },
              "realServers": [
                { "address": "10.10.0.11", "port": 80, "weight": 2 },
                { "address": "10.10.0.12", "port": 80, "weight": 1 }
              ]
            }\(extraService)
          ]
        }
        """
    }

    /// Waits until `server` has answered `n` more health checks: proof that the checker kept
    /// running, so an unchanged notification count means no alert, not no check.
    func waitForChecks(_ lab: DaemonLab, _ servers: [String], _ n: Int) throws {
        let start = servers.map { lab.healthChecks($0) }
        try lab.waitFor("\(n) more health checks of \(servers)", timeout: 60) {
            zip(servers, start).allSatisfy { lab.healthChecks($0) >= $1 + n }
        }
    }

    func count(_ lab: DaemonLab, _ line: String) -> Int { lab.notes.filter { $0 == line }.count }

    @Test func failedRealServersLeaveTheVIPTheSorryServerServesAndMetricsParse() throws {
        let lab = try DaemonLab()
        defer { lab.close() }
        let applied = try lab.lvsctl(["apply", "-f", try lab.cli.write("web.json", Self.manifest())])
        try #require(applied.status == 0, "\(applied)")
        try lab.startDaemon(interval: Self.interval)

        let before = try lab.requests(12)
        #expect(before["r1", default: 0] > 0 && before["r2", default: 0] > 0 && before["error"] == nil, "\(before)\n\(lab.diagnostics)")
        #expect(before["sorry"] == nil)

        // 1. One real server stops: weight 0 within interval × (retry + 1) + interval, no more requests reach it.
        let r1Down = "REALSERVER \(Self.vip)/10.10.0.11:80 DOWN", r1Up = "REALSERVER \(Self.vip)/10.10.0.11:80 UP"
        try lab.stopServer("r1")
        let tookDown = try lab.waitFor("r1 at weight 0", timeout: 60) { try lab.table().contains(Self.rs("10.10.0.11") + " 0") }
        let bound = Self.interval * Double(Self.retry + 1) + Self.interval
        print("daemon: r1 stopped → weight 0 after \(String(format: "%.1f", tookDown)) s (bound \(bound) s + 4 s emulation slack)")
        // The slack covers the lab's emulated CPU: a pass (plan, one write, audit) and the poll of ipvsadm.
        #expect(tookDown <= bound + 4, "took \(tookDown) s")
        #expect(try lab.table().contains(Self.rs("10.10.0.12") + " 1"))
        let afterDown = try lab.requests(12)
        #expect(afterDown == ["r2": 12], "requests through the VIP after r1 went down: \(afterDown)\n\(lab.diagnostics)")
        try lab.waitFor("the DOWN notification", timeout: 20) { !lab.notes.isEmpty }
        #expect(lab.notes == [r1Down], "\(lab.notes)")
        // The pass writes the kernel first and its audit row after: the table can show weight 0
        // a moment before the row is committed.
        try lab.waitFor("the health audit row", timeout: 20) { try !lab.auditRows(origin: "health").isEmpty }
        let healthRows = try lab.auditRows(origin: "health")
        #expect(healthRows.count == 1, "\(healthRows)")
        #expect(healthRows.first?["realServer"] as? String == "10.10.0.11:80")
        #expect(healthRows.first?["action"] as? String == "update-real-server")

        // 2. It comes back: weight restored, requests reach it, one UP and nothing more while it stays up.
        try lab.startServer("r1")
        let tookUp = try lab.waitFor("r1 at weight 2", timeout: 60) { try lab.table().contains(Self.rs("10.10.0.11") + " 2") }
        print("daemon: r1 started → weight 2 after \(String(format: "%.1f", tookUp)) s")
        let afterUp = try lab.requests(12)
        #expect(afterUp["r1", default: 0] > 0 && afterUp["error"] == nil && afterUp["sorry"] == nil, "\(afterUp)\n\(lab.diagnostics)")
        try lab.waitFor("the UP notification", timeout: 20) { lab.notes.count >= 2 }
        try waitForChecks(lab, ["r1", "r2"], 3)
        #expect(lab.notes == [r1Down, r1Up], "\(lab.notes)")
        #expect(try lab.auditRows(origin: "health").count == 2)

        // 3. Every real server down: the sorry server serves; quorum lost once.
        let lost = "SERVICE \(Self.vip) QUORUM_LOST", gained = "SERVICE \(Self.vip) QUORUM_GAINED"
        try lab.stopServer("r1")
        try lab.stopServer("r2")
        try lab.waitFor("the sorry server in, r1 and r2 at weight 0", timeout: 60) {
            let t = try lab.table()
            return t.contains(Self.rs("10.10.0.13") + " 1") && t.contains(Self.rs("10.10.0.11") + " 0")
                && t.contains(Self.rs("10.10.0.12") + " 0")
        }
        let sorry = try lab.requests(8)
        #expect(sorry == ["sorry": 8], "requests with every real server down: \(sorry)\n\(lab.diagnostics)")
        try lab.waitFor("the QUORUM_LOST notification", timeout: 20) { count(lab, lost) == 1 }

        // 4. Both back: quorum gained once, the sorry server leaves, r1 and r2 serve again.
        try lab.startServer("r1")
        try lab.startServer("r2")
        try lab.waitFor("r1 and r2 restored, the sorry server out", timeout: 60) {
            let t = try lab.table()
            return t.contains(Self.rs("10.10.0.11") + " 2") && t.contains(Self.rs("10.10.0.12") + " 1")
                && !t.contains(Self.rs("10.10.0.13") + " 1")
        }
        let back = try lab.requests(12)
        #expect(back["sorry"] == nil && back["error"] == nil && back["r1", default: 0] + back["r2", default: 0] == 12, "\(back)\n\(lab.diagnostics)")
        try lab.waitFor("the QUORUM_GAINED notification", timeout: 20) { count(lab, gained) == 1 }
        try waitForChecks(lab, ["r1", "r2"], 3)
        #expect(count(lab, lost) == 1 && count(lab, gained) == 1, "quorum notifications once each way: \(lab.notes)")
        #expect(count(lab, r1Down) == 2 && count(lab, r1Up) == 2, "\(lab.notes)")
        #expect(count(lab, "REALSERVER \(Self.vip)/10.10.0.12:80 DOWN") == 1, "\(lab.notes)")
        #expect(count(lab, "REALSERVER \(Self.vip)/10.10.0.12:80 UP") == 1, "\(lab.notes)")
        #expect(lab.notes.count == 8, "\(lab.notes)")

        // 5. Metrics, read by Prometheus' own text parser.
        let families = try parsedMetrics(lab)
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            families.first { sample in sample.name == name && labels.allSatisfy { k, v in sample.labels[k] == v } }?.value
        }
        let svc = ["service": Self.vip, "manifest": "web"]
        // 56 requests were sent; IPVS counts a connection whose client port matches one still in
        // its table (TIME_WAIT) as the same connection, so the counter can be a little lower.
        #expect((value("lvsctl_ipvs_service_connections_total", svc) ?? 0) >= 40, "\(families.count) samples")
        #expect((value("lvsctl_ipvs_service_in_packets_total", svc) ?? 0) > 0)
        #expect((value("lvsctl_ipvs_real_server_connections_total", svc.merging(["real_server": "10.10.0.12:80"]) { a, _ in a }) ?? 0) >= 12)
        #expect(value("lvsctl_ipvs_real_server_weight", svc.merging(["real_server": "10.10.0.11:80"]) { a, _ in a }) == 2)
        #expect(value("lvsctl_ipvs_real_server_active_connections", svc.merging(["real_server": "10.10.0.12:80"]) { a, _ in a }) != nil)
        #expect(value("lvsctl_real_server_health_up", svc.merging(["real_server": "10.10.0.11:80"]) { a, _ in a }) == 1)
        #expect((value("lvsctl_reconcile_last_success_timestamp_seconds", [:]) ?? 0) > Date().timeIntervalSince1970 - 600)
        #expect((value("lvsctl_kernel_writes_total", [:]) ?? 0) >= 8)
        #expect((value("lvsctl_reconcile_passes_total", [:]) ?? 0) >= 5)
        #expect(value("lvsctl_reconcile_errors_total", [:]) == 0)
        #expect((value("lvsctl_reconcile_duration_seconds_count", [:]) ?? 0) >= 5)
        #expect(value("lvsctl_drift_objects", [:]) == 0)

        #expect(lab.stopDaemon() == 0, "\(lab.daemonLog)")
    }

    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// The daemon's metrics parsed by `prometheus_client.parser.text_string_to_metric_families`
    /// (Debian's python3-prometheus-client); the parser raises on invalid exposition text.
    func parsedMetrics(_ lab: DaemonLab) throws -> [Sample] {
        guard let text = try lab.metrics() else { throw ProcessRunner.Failure(description: "no metrics") }
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
            print(json.dumps(out))
            """
        let r = try ProcessRunner.run([DaemonLab.python, "-c", script], input: text)
        try #require(r.status == 0, "the Prometheus parser rejected the metrics: \(r.stderr)\n\(text)")
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        let samples = rows.map {
            Sample(name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:], value: $0["value"] as? Double ?? .nan)
        }
        let types = Dictionary(rows.map { ($0["family"] as? String ?? "", $0["type"] as? String ?? "") }) { a, _ in a }
        #expect(types["lvsctl_ipvs_service_connections"] == "counter", "\(types)")
        #expect(types["lvsctl_real_server_health_up"] == "gauge", "\(types)")
        #expect(types["lvsctl_reconcile_duration_seconds"] == "histogram", "\(types)")
        return samples
    }

    @Test func sighupDrainUndrainAndExecRefusalWithARunningDaemon() throws {
        let lab = try DaemonLab()
        defer { lab.close() }
        try #require(try lab.lvsctl(["apply", "-f", try lab.cli.write("web.json", Self.manifest())]).status == 0)
        // A long interval: passes run only when something triggers them.
        try lab.startDaemon(interval: 600)
        func passes() throws -> Double {
            try parsedMetrics(lab).first { $0.name == "lvsctl_reconcile_passes_total" }?.value ?? -1
        }

        // SIGHUP: drift made with ipvsadm is repaired at once, by the pass the signal started. The
        // daemon is idle after its startup pass (no trigger, a 600 s interval), so that is the only
        // pass that can repair it.
        try lab.waitFor("the startup pass", timeout: 60) { lab.daemonLog.contains("reconcile.reason=startup") }
        try lab.sh("ip netns exec \(lab.director) ipvsadm -e -t 10.10.0.100:80 -r 10.10.0.12:80 -g -w 42")
        guard let daemon = lab.daemon else { throw ProcessRunner.Failure(description: "no daemon") }
        daemon.signal(SIGHUP)
        try lab.waitFor("SIGHUP to repair the drift", timeout: 20) { try lab.table().contains(Self.rs("10.10.0.12") + " 1") }
        try lab.waitFor("the SIGHUP pass to be logged", timeout: 10) { lab.daemonLog.contains("reconcile.reason=sighup") }
        // The passes up to the SIGHUP one: the startup pass, then the SIGHUP pass with the one
        // repair. (A pass after it, such as one the store watcher starts when it reads the store
        // while the SIGHUP pass records its run, is not what this checks.)
        let allPasses = lab.daemonLog.split(separator: "\n").filter { $0.contains("reconcile pass done") }
        let beforeSighup = allPasses.prefix(while: { !$0.contains("reconcile.reason=sighup") })
        let passLines = Array(beforeSighup) + allPasses.dropFirst(beforeSighup.count).prefix(1)
        #expect(passLines.count == 2 && passLines.first?.contains("reconcile.reason=startup") == true
            && passLines.last?.contains("reconcile.reason=sighup") == true, "\(allPasses)")
        #expect(passLines.last?.contains("reconcile.writes=1") == true, "\(allPasses)")
        #expect(lab.daemonLog.contains("SIGHUP: reconciling now"))
        try lab.waitFor("the drift notification", timeout: 20) { lab.notes == ["MANIFEST web DRIFT_DETECTED"] }

        // drain --no-apply: the running daemon applies the flag.
        let drain = try lab.lvsctl(["drain", "web", "10.10.0.11:80", "--no-apply", "-m", "kernel upgrade"])
        #expect(drain.status == 0, "\(drain)")
        try lab.waitFor("the daemon to drain r1", timeout: 20) { try lab.table().contains(Self.rs("10.10.0.11") + " 0") }
        #expect(try lab.requests(8) == ["r2": 8])
        #expect(try lab.auditRows(origin: "maintenance").count == 1)
        let undrain = try lab.lvsctl(["undrain", "web", "10.10.0.11:80", "--no-apply"])
        #expect(undrain.status == 0, "\(undrain)")
        try lab.waitFor("the daemon to undrain r1", timeout: 20) { try lab.table().contains(Self.rs("10.10.0.11") + " 2") }
        #expect(try lab.requests(12)["r1", default: 0] > 0)

        // drain / undrain applied by the CLI while the daemon runs: the daemon's next pass keeps them.
        // The whole service in maintenance leaves no real server to count towards quorum: the
        // sorry server serves, and quorum lost and gained are reported once each.
        // (Whichever of the CLI and the daemon takes the writer lock first makes the change.)
        #expect(lab.notes == ["MANIFEST web DRIFT_DETECTED"], "maintenance of one server is not a health alert: \(lab.notes)")
        let p0 = try passes()
        let whole = try lab.lvsctl(["drain", "web"])
        #expect(whole.status == 0, "\(whole)")
        var t = try lab.table()
        #expect(t.contains(Self.rs("10.10.0.11") + " 0") && t.contains(Self.rs("10.10.0.12") + " 0"), "\(t)")
        try lab.waitFor("a daemon pass after the drain", timeout: 20) { try passes() > p0 }
        t = try lab.table()
        #expect(t.contains(Self.rs("10.10.0.11") + " 0") && t.contains(Self.rs("10.10.0.12") + " 0"), "\(t)")
        #expect(try lab.requests(6) == ["sorry": 6])
        let mark = lab.daemonLog.count
        #expect(try lab.lvsctl(["undrain", "web"]).status == 0)
        t = try lab.table()
        #expect(t.contains(Self.rs("10.10.0.11") + " 2") && t.contains(Self.rs("10.10.0.12") + " 1"), "\(t)")
        #expect(try lab.auditRows(origin: "maintenance").count == 6, "one row per weight change")
        // The one pass the daemon runs for the CLI's change; after it, only a trigger starts one.
        try lab.waitFor("the daemon's pass after the undrain", timeout: 20) {
            lab.daemonLog.dropFirst(mark).contains("reconcile.reason=store")
        }
        // The pass hands QUORUM_GAINED to the notifier just before it logs; the exec hook that
        // writes the line runs after, asynchronously.
        try lab.waitFor("the QUORUM_GAINED notification", timeout: 20) { lab.notes.count >= 3 }
        #expect(lab.notes.dropFirst() == ["SERVICE \(Self.vip) QUORUM_LOST", "SERVICE \(Self.vip) QUORUM_GAINED"], "\(lab.notes)")

        // A manifest with an exec check: stored and applied by the CLI, refused by this daemon
        // (allowExecChecks is off), its command never runs.
        let marker = lab.dir.appendingPathComponent("exec-ran").path
        let ops = """
            {
              "apiVersion": "lvsctl/v1", "name": "ops",
              "services": [
                { "name": "ops", "protocol": "tcp", "address": "10.10.0.101", "port": 80, "forwarding": "dr",
                  "healthCheck": { "type": "exec", "command": ["/bin/sh", "-c", "touch \(marker)"], "interval": 1 },
                  "realServers": [ { "address": "10.10.0.11", "port": 80 } ] }
              ]
            }
            """
        let appliedOps = try lab.lvsctl(["apply", "-f", try lab.cli.write("ops.json", ops)])
        #expect(appliedOps.status == 0, "\(appliedOps)")
        try lab.waitFor("the daemon to refuse the exec manifest", timeout: 20) { lab.notes.contains("MANIFEST ops APPLY_FAILED") }
        #expect(lab.daemonLog.contains("uses exec health checks"), "\(lab.daemonLog)")
        try waitForChecks(lab, ["r1"], 3)
        #expect(!FileManager.default.fileExists(atPath: marker), "the exec check ran")
        #expect(lab.notes.filter { $0 == "MANIFEST ops APPLY_FAILED" }.count == 1, "once per revision: \(lab.notes)")

        #expect(lab.stopDaemon() == 0, "\(lab.daemonLog)")
    }
}
