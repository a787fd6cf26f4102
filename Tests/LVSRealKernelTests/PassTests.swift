import Foundation
import LVSTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One reconcile pass for every writer (issue 13, sections 0, 1 and 4), on the real kernel with
/// real traffic (``DaemonLab``): `apply` keeps what maintenance and health decided, the daemon and
/// `apply` do not flap, `inhibitOnFailure` means what keepalived means, and `run --netns` probes
/// from the namespace whose table it changes.
@Suite(.serialized) struct PassTests {
    static let interval = 1.0
    static let vip = "tcp/10.10.0.100:80"
    static func rs(_ address: String, port: Int = 80) -> String {
        "-a -t 10.10.0.100:\(port) -r \(address):80 \(port == 80 ? "-g" : "-m") -w"
    }
    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    static func manifest(inhibit: Bool) -> String {
        """
        {
          "apiVersion": "lvsctl/v1",
          "name": "web",
          "services": [
            {
              "name": "web", "protocol": "tcp", "address": "10.10.0.100", "port": 80,
              "scheduler": "wrr", "forwarding": "dr", "inhibitOnFailure": \(inhibit),
              "healthCheck": { "type": "http", "port": 80, "path": "/healthz", "statusCodes": [200],
                               "interval": \(interval), "retry": 1, "delayBeforeRetry": 1, "connectTimeout": 1 },
              "realServers": [
                { "address": "10.10.0.11", "port": 80, "weight": 2 },
                { "address": "10.10.0.12", "port": 80, "weight": 1 }
              ]
            }
          ]
        }
        """
    }

    func apply(_ lab: DaemonLab, _ file: String) throws {
        let r = try lab.lvsctl(["apply", "-f", file])
        try #require(r.status == 0, "\(r)\n\(lab.diagnostics)")
    }

    /// `drain` then `apply` of the unchanged manifest: the drained server stays at weight 0 and
    /// takes no new connection; `drift` reports nothing. No daemon: the CLI alone.
    @Test func drainThenApplyOfTheUnchangedManifestKeepsWeightZero() throws {
        let lab = try DaemonLab()
        defer { lab.close() }
        let file = try lab.cli.write("web.json", Self.manifest(inhibit: true))
        try apply(lab, file)
        let drained = try lab.lvsctl(["drain", "web", "10.10.0.12:80"])
        try #require(drained.status == 0, "\(drained)")
        let afterDrain = try lab.table()
        #expect(afterDrain.contains(Self.rs("10.10.0.12") + " 0"), "\(afterDrain)")

        let again = try lab.lvsctl(["apply", "-f", file])
        #expect(again.status == 0, "\(again)")
        #expect(!again.stdout.contains("weight 0 → 1"), "apply planned the drained server back: \(again.stdout)")
        let afterApply = try lab.table()
        #expect(afterApply.contains(Self.rs("10.10.0.12") + " 0"), "\(afterApply)")
        let traffic = try lab.requests(10)
        #expect(traffic == ["r1": 10], "requests after drain + apply: \(traffic)\n\(lab.diagnostics)")
        let drift = try lab.lvsctl(["drift"])
        #expect(drift.status == 0, "maintenance is not drift: \(drift)")

        // undrain gives it back.
        #expect(try lab.lvsctl(["undrain", "web", "10.10.0.12:80"]).status == 0)
        let undrained = try lab.table()
        #expect(undrained.contains(Self.rs("10.10.0.12") + " 1"), "\(undrained)")
    }

    /// A real server the daemon holds down stays down through an `apply` of the unchanged
    /// manifest (the health records are in the store): no write back to the manifest weight, no
    /// flapping, and `drift` calls nothing "changed outside lvsctl". `inhibitOnFailure` false
    /// (keepalived's default) removes the failed server, true sets weight 0: traffic shows both.
    @Test(arguments: [false, true])
    func aServerTheDaemonHoldsDownStaysDownThroughAnApply(inhibit: Bool) throws {
        let lab = try DaemonLab()
        defer { lab.close() }
        let file = try lab.cli.write("web.json", Self.manifest(inhibit: inhibit))
        try apply(lab, file)
        try lab.startDaemon(interval: Self.interval)
        let before = try lab.requests(9)
        #expect(before["r1", default: 0] > 0 && before["r2", default: 0] > 0, "\(before)\n\(lab.diagnostics)")

        try lab.stopServer("r1")
        func heldDown() throws -> Bool {
            let t = try lab.table()
            return inhibit ? t.contains(Self.rs("10.10.0.11") + " 0") : !t.contains("-r 10.10.0.11:80")
        }
        try lab.waitFor(inhibit ? "r1 at weight 0" : "r1 removed from the table", timeout: 60) { try heldDown() }
        #expect(try lab.table().contains(Self.rs("10.10.0.12") + " 1"))
        let rows = try lab.auditRows(origin: "health")
        #expect(rows.first?["action"] as? String == (inhibit ? "update-real-server" : "delete-real-server"), "\(rows)")
        // New connections go to r2 only (r1's server is stopped: a request reaching it would fail).
        let down = try lab.requests(9)
        #expect(down == ["r2": 9], "requests with r1 held down: \(down)\n\(lab.diagnostics)")

        let applied = try lab.lvsctl(["apply", "-f", file])
        #expect(applied.status == 0, "\(applied)")
        #expect(!applied.stdout.contains("10.10.0.11:80"), "apply planned a change of the held-down server: \(applied.stdout)")
        let afterApply = try lab.table()
        #expect(try heldDown(), "apply put r1 back: \(afterApply)")
        // The daemon does not write it back either (no flapping): a few passes later it is still down.
        let start = lab.healthChecks("r2")
        try lab.waitFor("3 more health checks", timeout: 60) { lab.healthChecks("r2") >= start + 3 }
        #expect(try heldDown(), "\(lab.diagnostics)")
        let drift = try lab.lvsctl(["drift"])
        #expect(drift.status == 0, "health is not drift: \(drift)")
        #expect(!drift.stdout.contains("changed outside lvsctl"), "\(drift.stdout)")

        // Recovery: back with its manifest weight, and traffic reaches it.
        try lab.startServer("r1")
        try lab.waitFor("r1 back at weight 2", timeout: 60) { try lab.table().contains(Self.rs("10.10.0.11") + " 2") }
        let back = try lab.requests(9)
        #expect(back["r1", default: 0] > 0 && back["error"] == nil, "\(back)\n\(lab.diagnostics)")
        #expect(lab.stopDaemon() == 0)
    }

    /// `lvsctl run --netns NS` started outside NS: every probe type reaches the real servers
    /// from NS (their logs see the director's address), so nothing is marked down; a stopped
    /// server is still found down.
    @Test func runWithNetnsProbesFromTheNamespace() throws {
        let lab = try DaemonLab()
        defer { lab.close() }
        let manifest = """
            {
              "apiVersion": "lvsctl/v1",
              "name": "probes",
              "services": [
                { "name": "http", "protocol": "tcp", "address": "10.10.0.100", "port": 80, "scheduler": "wrr",
                  "forwarding": "dr", "inhibitOnFailure": true,
                  "healthCheck": { "type": "http", "port": 80, "path": "/healthz", "interval": 1, "retry": 0, "connectTimeout": 1 },
                  "realServers": [ { "address": "10.10.0.11", "port": 80, "weight": 2 } ] },
                { "name": "tcp", "protocol": "tcp", "address": "10.10.0.100", "port": 81, "scheduler": "wrr",
                  "forwarding": "nat", "inhibitOnFailure": true,
                  "healthCheck": { "type": "tcp", "port": 80, "interval": 1, "retry": 0, "connectTimeout": 1 },
                  "realServers": [ { "address": "10.10.0.11", "port": 80, "weight": 3 } ] },
                { "name": "exec", "protocol": "tcp", "address": "10.10.0.100", "port": 82, "scheduler": "wrr",
                  "forwarding": "nat", "inhibitOnFailure": true,
                  "healthCheck": { "type": "exec", "command": ["\(Self.ip)", "route", "get", "10.10.0.12"], "interval": 2, "retry": 0,
                                   "connectTimeout": 2 },
                  "realServers": [ { "address": "10.10.0.12", "port": 80, "weight": 4 } ] },
                { "name": "https", "protocol": "tcp", "address": "10.10.0.100", "port": 83, "scheduler": "wrr",
                  "forwarding": "nat", "inhibitOnFailure": true,
                  "healthCheck": { "type": "https", "port": 443, "path": "/healthz", "insecureSkipVerify": true,
                                   "interval": 3, "retry": 1, "delayBeforeRetry": 1, "connectTimeout": 3 },
                  "realServers": [ { "address": "10.10.0.11", "port": 443, "weight": 5 } ] }
              ]
            }
            """
        // An HTTPS server on r1 (self-signed; the check skips verification), logging each request.
        let tlsLog = lab.dir.appendingPathComponent("r1-tls.log").path
        let key = lab.dir.appendingPathComponent("key.pem").path, cert = lab.dir.appendingPathComponent("cert.pem").path
        try lab.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(key) -out \(cert) -days 1 -subj /CN=r1 2>/dev/null")
        let tls = try BackgroundProcess(
            ["ip", "netns", "exec", lab.namespace("r1"), DaemonLab.python, "-c", Self.tlsServer, cert, key],
            environment: lab.cli.environment, log: tlsLog)
        defer {
            tls.signal(SIGKILL)
            _ = tls.wait(timeout: 5)
        }
        try lab.waitFor("r1's HTTPS server", timeout: 30) {
            try ProcessRunner.run(["ip", "netns", "exec", lab.director, "curl", "-sk", "-m", "2", "https://10.10.0.11/healthz"]).stdout == "ok"
        }
        let tlsChecks = {
            ((try? String(contentsOfFile: tlsLog, encoding: .utf8)) ?? "").split(separator: "\n")
                .filter { $0.hasPrefix("10.10.0.1 ") && $0.contains("GET /healthz") }.count
        }
        try apply(lab, try lab.cli.write("probes.json", manifest))
        // The lab's LAN is reachable only from its namespaces: the exec check fails in the guest's own.
        #expect(
            try ProcessRunner.run(["ip", "route", "get", "10.10.0.12"]).status != 0,
            "the test needs 10.10.0.12 unreachable outside the lab's namespaces")
        let config = try lab.cli.write("daemon.json", #"{ "interval": 1, "jitter": 0, "metricsAddress": "", "allowExecChecks": true }"#)
        let log = lab.dir.appendingPathComponent("netns-daemon.log").path
        let daemon = try BackgroundProcess(
            [CLIRunner.binary, "run", "--config", config, "--netns", lab.director], environment: lab.cli.environment, log: log)
        defer {
            daemon.signal(SIGKILL)
            _ = daemon.wait(timeout: 10)
        }
        let daemonLog = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let start = lab.healthChecks("r1")
        do {
            try lab.waitFor("4 http checks of r1 from the director's address", timeout: 60) { lab.healthChecks("r1") >= start + 4 }
        } catch {
            Issue.record("\(error)\nlvsctl run --netns log:\n\(daemonLog().suffix(4000))")
            return
        }
        try lab.waitFor("2 https checks of r1 from the director's address", timeout: 60) { tlsChecks() >= 2 }
        // Several rounds of every check have run: each would have failed from outside (http, tcp
        // and exec after one failure; https, slow to handshake in the emulated guest, after three).
        Thread.sleep(forTimeInterval: 3)
        let table = try lab.table()
        #expect(table.contains(Self.rs("10.10.0.11") + " 2"), "http probe: \(table)\n\(daemonLog())")
        #expect(table.contains(Self.rs("10.10.0.11", port: 81) + " 3"), "tcp probe: \(table)\n\(daemonLog())")
        #expect(table.contains(Self.rs("10.10.0.12", port: 82) + " 4"), "exec probe: \(table)\n\(daemonLog())")
        #expect(table.contains("-a -t 10.10.0.100:83 -r 10.10.0.11:443 -m -w 5"), "https probe: \(table)\n\(daemonLog())")
        #expect(tlsChecks() >= 2, "https checks from the director's address: \(tlsChecks())")
        #expect(!daemonLog().contains("DOWN"), "\(daemonLog())")

        // The probes still judge: r1 stopped is down for http and tcp alike.
        try lab.stopServer("r1")
        try lab.waitFor("r1 at weight 0 in the http and tcp services", timeout: 60) {
            let t = try lab.table()
            return t.contains(Self.rs("10.10.0.11") + " 0") && t.contains(Self.rs("10.10.0.11", port: 81) + " 0")
        }
    }

    /// `python3 -c TLS_SERVER CERT KEY`: HTTPS on port 443, `/healthz` → ok; one log line per request.
    static let tlsServer = #"""
        import http.server, ssl, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"ok" if self.path == "/healthz" else b"r1-tls"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        server = http.server.ThreadingHTTPServer(("0.0.0.0", 443), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.serve_forever()
        """#

    /// A second `lvsctl run` on the same store refuses to start and names the first one.
    @Test func aSecondDaemonOnTheSameStoreRefuses() throws {
        let lab = try DaemonLab()
        defer { lab.close() }
        try apply(lab, try lab.cli.write("web.json", Self.manifest(inhibit: true)))
        try lab.startDaemon(interval: Self.interval)
        let second = try ProcessRunner.run(
            ["ip", "netns", "exec", lab.director, CLIRunner.binary, "run", "--config", try lab.cli.write("d2.json", "{}")],
            environment: lab.cli.environment)
        #expect(second.status == 1, "\(second)")
        #expect(second.stderr.contains("already runs on this store"), "\(second.stderr)")
        #expect(second.stderr.contains("pid"), "\(second.stderr)")
        #expect(lab.stopDaemon() == 0)
    }
}
