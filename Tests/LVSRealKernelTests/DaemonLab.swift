import Foundation
import LVSTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// An LVS-DR network for daemon tests: a director namespace (bridge 10.10.0.1/24, the VIP
/// 10.10.0.100 on it) where `lvsctl run` runs, a client (10.10.0.50), real servers r1
/// (10.10.0.11) and r2 (10.10.0.12) and a sorry server (10.10.0.13), each with the VIP on `lo`
/// and the ARP settings of a DR real server. Each server runs Python's `http.server` on port 80
/// that answers `/` with its name, `/healthz` with `ok` (and `/ready`, the tests' own
/// readiness probe, with `ready`), and logs every request to a file,
/// so a test can count the health checks a server received.
final class DaemonLab: @unchecked Sendable {
    let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var director: String { "dd\(id)" }
    var client: String { "dc\(id)" }
    let dir: URL
    let cli: CLIRunner
    private(set) var servers: [String: BackgroundProcess] = [:]
    private var daemonProcess: BackgroundProcess?
    let metricsPort = 19470 + Int(getpid() % 500)

    static let vip = "10.10.0.100"
    /// Name → (namespace suffix, address).
    static let hosts: [(name: String, address: String)] = [
        ("r1", "10.10.0.11"), ("r2", "10.10.0.12"), ("sorry", "10.10.0.13"),
    ]
    static let python = "/usr/bin/python3"

    func namespace(_ name: String) -> String { "d\(name)\(id)" }
    var notesPath: String { dir.appendingPathComponent("notes.txt").path }
    var daemonLogPath: String { dir.appendingPathComponent("daemon.log").path }

    init() throws {
        cli = try CLIRunner(fakeKernel: false)
        dir = cli.directory
        try Data(Self.serverScript.utf8).write(to: dir.appendingPathComponent("server.py"))
        try Data(Self.clientScript.utf8).write(to: dir.appendingPathComponent("client.py"))
        do {
            let d = director
            for ns in [d, client] + Self.hosts.map({ namespace($0.name) }) {
                try sh("ip netns add \(ns) && ip -n \(ns) link set lo up")
            }
            try sh("""
                ip -n \(d) link add br0 type bridge && ip -n \(d) link set br0 up && \
                ip -n \(d) addr add 10.10.0.1/24 dev br0 && ip -n \(d) addr add \(Self.vip)/32 dev br0 && \
                ip netns exec \(d) sysctl -qw net.ipv4.ip_forward=1
                """)
            let peers = [(client, "10.10.0.50", "vc")] + Self.hosts.enumerated().map { (namespace($1.name), $1.address, "v\($0)") }
            for (ns, addr, port) in peers {
                try sh("""
                    ip -n \(d) link add \(port) type veth peer name eth0 netns \(ns) && \
                    ip -n \(d) link set \(port) master br0 up && ip -n \(ns) link set eth0 up && \
                    ip -n \(ns) addr add \(addr)/24 dev eth0
                    """)
            }
            for h in Self.hosts {
                let ns = namespace(h.name)
                try sh("""
                    ip -n \(ns) addr add \(Self.vip)/32 dev lo && \
                    ip netns exec \(ns) sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
                    net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2
                    """)
                try startServer(h.name)
            }
        } catch {
            close()
            throw error
        }
    }

    // MARK: Real servers

    func serverLog(_ name: String) -> String { dir.appendingPathComponent("\(name).log").path }

    /// Starts the HTTP server of `name` and waits until it answers on its address.
    func startServer(_ name: String) throws {
        guard let host = Self.hosts.first(where: { $0.name == name }) else { fatalError("no server \(name)") }
        servers[name] = try BackgroundProcess(
            ["ip", "netns", "exec", namespace(name), Self.python, dir.appendingPathComponent("server.py").path, name],
            environment: cli.environment, log: serverLog(name))
        try waitFor("\(name)'s HTTP server to answer", timeout: 30) {
            try ProcessRunner.run(
                ["ip", "netns", "exec", director, "curl", "-s", "-m", "2", "http://\(host.address)/ready"]
            ).stdout == "ready"
        }
    }

    /// Stops the HTTP server of `name` (SIGTERM) and waits until the process has exited.
    func stopServer(_ name: String) throws {
        guard let p = servers[name] else { return }
        p.signal(SIGTERM)
        guard p.wait(timeout: 10) != nil else {
            throw ProcessRunner.Failure(description: "\(name)'s HTTP server did not exit on SIGTERM")
        }
        servers[name] = nil
    }

    /// How many health checks (`GET /healthz` from the director, 10.10.0.1) `name` has answered.
    func healthChecks(_ name: String) -> Int {
        let log = (try? String(contentsOfFile: serverLog(name), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.hasPrefix("10.10.0.1 ") && $0.contains("\"GET /healthz ") }.count
    }

    // MARK: Client

    /// Sends `count` HTTP requests from the client to the VIP, each on a new connection, and
    /// returns who answered: `["r2": 12]`; failed requests are counted as `error`, and what
    /// went wrong with each is printed.
    func requests(_ count: Int) throws -> [String: Int] {
        let r = try ProcessRunner.check([
            "ip", "netns", "exec", client, Self.python, dir.appendingPathComponent("client.py").path, Self.vip, "\(count)",
        ])
        if !r.stderr.isEmpty { print("client (\(count) requests to the VIP): \(r.stderr)") }
        let out = r.stdout
        var tally: [String: Int] = [:]
        for pair in out.split(whereSeparator: \.isWhitespace) {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let n = Int(kv[1]) { tally[String(kv[0])] = n }
        }
        return tally
    }

    // MARK: lvsctl

    /// `ipvsadm -Sn` in the director.
    func table() throws -> String { try ProcessRunner.check(["ip", "netns", "exec", director, "ipvsadm", "-Sn"]).stdout }

    /// Runs `lvsctl ARGS --netns DIRECTOR`.
    @discardableResult
    func lvsctl(_ args: [String]) throws -> CLIRunner.Result { try cli.run(args + ["--netns", director]) }

    /// Writes the daemon config (exec hook appending "TYPE NAME STATE" to `notesPath`) and starts
    /// `lvsctl run` in the director.
    func startDaemon(interval: Double, extraConfig: String = "") throws {
        let hook = try cli.write("hook.sh", "#!/bin/sh\necho \"$@\" >> \(notesPath)\n")
        chmod(hook, 0o755)
        let config = try cli.write("daemon.json", """
            { "interval": \(interval), "jitter": 0, "metricsAddress": "127.0.0.1:\(metricsPort)",
              "notify": { "exec": { "path": "\(hook)", "timeout": 5 } }\(extraConfig) }
            """)
        daemonProcess = try BackgroundProcess(
            ["ip", "netns", "exec", director, CLIRunner.binary, "run", "--config", config],
            environment: cli.environment, log: daemonLogPath)
        try waitFor("the daemon's metrics endpoint", timeout: 60) { (try? self.metrics()) != nil }
    }

    var daemon: BackgroundProcess? { daemonProcess }

    /// Sends SIGTERM and returns the daemon's exit status.
    func stopDaemon() -> Int32? {
        guard let d = daemonProcess else { return nil }
        d.signal(SIGTERM)
        let status = d.wait(timeout: 60)
        daemonProcess = nil
        return status
    }

    /// The metrics text, read with curl in the director; nil until it answers.
    func metrics() throws -> String? {
        let r = try ProcessRunner.run([
            "ip", "netns", "exec", director, "curl", "-sf", "-m", "5", "http://127.0.0.1:\(metricsPort)/metrics",
        ])
        return r.status == 0 ? r.stdout : nil
    }

    var daemonLog: String { (try? String(contentsOfFile: daemonLogPath, encoding: .utf8)) ?? "" }

    /// The exec hook's lines so far.
    var notes: [String] {
        ((try? String(contentsOfFile: notesPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Audit rows with the given origin.
    func auditRows(origin: String) throws -> [[String: Any]] {
        let r = try cli.run(["history", "--output", "json", "--limit", "100000"])
        let rows = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        return rows.filter { $0["origin"] as? String == origin }
    }

    // MARK: Helpers

    /// Polls `condition` every 0.2 s; returns the seconds it took, or throws after `timeout`.
    @discardableResult
    func waitFor(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws -> Double {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try condition() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ProcessRunner.Failure(description: "timed out after \(timeout) s waiting for \(what)\n\(diagnostics)")
    }

    /// The director's table, the hook's lines and the end of the daemon's log, for failure messages.
    var diagnostics: String {
        "ipvsadm -Ln:\n\((try? ProcessRunner.run(["ip", "netns", "exec", director, "ipvsadm", "-Ln"]).stdout) ?? "?")\n"
            + "notes: \(notes)\ndaemon log (tail):\n\(daemonLog.split(separator: "\n").suffix(30).joined(separator: "\n"))"
    }

    @discardableResult
    func sh(_ script: String) throws -> String { try ProcessRunner.check(["sh", "-c", script]).stdout }

    func close() {
        if let d = daemonProcess { d.signal(SIGKILL); _ = d.wait(timeout: 10) }
        for (_, p) in servers { p.signal(SIGKILL); _ = p.wait(timeout: 5) }
        servers = [:]
        for ns in [director, client] + Self.hosts.map({ namespace($0.name) }) {
            _ = try? ProcessRunner.run(["ip", "netns", "delete", ns])
        }
    }

    deinit { close() }

    /// `server.py NAME`: HTTP on port 80; `/` → NAME, `/healthz` → ok; one log line per request.
    static let serverScript = #"""
        import http.server, sys
        name = sys.argv[1]
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = {"/": name + "\n", "/healthz": "ok", "/ready": "ready"}.get(self.path)
                self.send_response(200 if body is not None else 404)
                body = (body or "not found\n").encode()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler).serve_forever()
        """#

    /// `client.py VIP N`: N GETs of `/`, each on a new connection; prints `r1=3 r2=9 error=0`,
    /// and on standard error what went wrong with each failed request, with its client port.
    /// A request may take 15 s: an answer that slow in a loaded emulated guest is still an answer.
    static let clientScript = #"""
        import collections, socket, sys, time
        vip, n = sys.argv[1], int(sys.argv[2])
        tally = collections.Counter()
        for i in range(n):
            start = time.monotonic()
            s = None
            try:
                s = socket.create_connection((vip, 80), timeout=15)
                s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                s.close()
                head, _, body = data.partition(b"\r\n\r\n")
                ok = head.split(b" ")[1:2] == [b"200"]
                tally[body.decode().strip() if ok else "error"] += 1
                if not ok:
                    print("request %d: answer %r" % (i + 1, data[:80]), file=sys.stderr)
            except Exception as e:
                tally["error"] += 1
                try:
                    port = s.getsockname()[1] if s else "-"
                except OSError:
                    port = "?"
                print("request %d from port %s: %r after %.1f s" % (i + 1, port, e, time.monotonic() - start), file=sys.stderr)
        print(" ".join("%s=%d" % kv for kv in sorted(tally.items())))
        """#
}
