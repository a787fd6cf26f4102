import Foundation
import LVSTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// An LVS-DR network for daemon tests (a ``LabNetwork``): a director (10.10.0.1, the VIP
/// 10.10.0.100 on its `eth0`) where `lvsctl run` runs, a client (10.10.0.50), real servers r1
/// (10.10.0.11) and r2 (10.10.0.12) and a sorry server (10.10.0.13), each with the VIP on `lo`
/// and the ARP settings of a DR real server. Each server runs `Tests/Lab/servers/http_server.py`
/// on port 80, which answers `/` with its name, `/healthz` with `ok` (and `/ready`, the lab's own
/// readiness probe, with `ready`), and logs every request to a file, so a test can count the
/// health checks a server received.
final class DaemonLab: @unchecked Sendable {
    let net: LabNetwork
    var id: String { net.id }
    private(set) var directorHost: LabHost!
    private(set) var clientHost: LabHost!
    private var serverHosts: [String: LabHost] = [:]
    var director: String { directorHost.name }
    var client: String { clientHost.name }
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
    static let python = LabScripts.python

    /// The namespace of server `name` (`r1`, `r2`, `sorry`).
    func namespace(_ name: String) -> String { serverHosts[name]?.name ?? "no-server-\(name)" }
    var notesPath: String { dir.appendingPathComponent("notes.txt").path }
    var daemonLogPath: String { dir.appendingPathComponent("daemon.log").path }

    init() throws {
        cli = try CLIRunner(fakeKernel: false)
        dir = cli.directory
        net = try LabNetwork(prefix: "dl", directory: dir)
        do {
            let lan = try net.bridge("lan")
            directorHost = try net.host("d", lan.port("10.10.0.1/24"), forwarding: true)
            try directorHost.addAddress("\(Self.vip)/32")
            clientHost = try net.host("c", lan.port("10.10.0.50/24"))
            for h in Self.hosts {
                let host = try net.host(h.name, lan.port("\(h.address)/24"))
                try host.makeDRRealServer(vips: [Self.vip])
                serverHosts[h.name] = host
                try startServer(h.name)
            }
        } catch {
            close()
            throw error
        }
    }

    // MARK: Real servers

    /// The log of `name`'s HTTP server, one line per request (kept across restarts).
    func serverLog(_ name: String) -> String { dir.appendingPathComponent("\(name).log").path }

    /// Starts the HTTP server of `name` and waits until it answers on its address, asked from the director.
    func startServer(_ name: String) throws {
        guard let host = serverHosts[name] else { fatalError("no server \(name)") }
        servers[name] = try host.startHTTPServer(name, checkedFrom: directorHost)
    }

    /// Stops the HTTP server of `name` (SIGTERM) and waits until the process has exited.
    func stopServer(_ name: String) throws {
        guard let p = servers[name] else { return }
        try p.stop(SIGTERM, timeout: 10)
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
        let r = try clientHost.run([Self.python, LabScripts.path("http_client.py"), Self.vip, "\(count)"])
        guard r.status == 0 else { throw ProcessRunner.Failure(description: "http_client.py failed: \(r)") }
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

    /// `ipvsadm -Sn` in the director, read until two reads agree.
    func table() throws -> String { try directorHost.ipvsadmSave() }

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
        daemonProcess = try directorHost.spawn("daemon", [CLIRunner.binary, "run", "--config", config], environment: cli.environment)
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
        let r = try directorHost.run(["curl", "-sf", "-m", "5", "http://127.0.0.1:\(metricsPort)/metrics"])
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
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return rows.filter { $0["origin"] as? String == origin }
    }

    // MARK: Helpers

    /// Polls `condition` every 0.2 s; returns the seconds it took, or throws after `timeout`
    /// with ``diagnostics``.
    @discardableResult
    func waitFor(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws -> Double {
        try LVSTestSupport.waitFor(what, timeout: timeout, diagnostics: diagnostics, condition)
    }

    /// The director's table, the hook's lines and the end of the daemon's log, for failure messages.
    var diagnostics: String {
        "ipvsadm -Ln:\n\((try? directorHost.ipvsadm(["-Ln"])) ?? "?")\n"
            + "notes: \(notes)\ndaemon log (tail):\n\(daemonLog.split(separator: "\n").suffix(30).joined(separator: "\n"))"
    }

    @discardableResult
    func sh(_ script: String) throws -> String { try ProcessRunner.check(["sh", "-c", script]).stdout }

    func close() {
        daemonProcess = nil
        servers = [:]
        net.close()
    }

    deinit { close() }
}
