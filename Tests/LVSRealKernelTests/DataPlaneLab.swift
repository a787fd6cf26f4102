import Foundation
import LVSTestSupport

/// A small LVS-DR network for one test (a ``LabNetwork``): a director (10.10.0.1, the VIP
/// 10.10.0.100 on its `eth0`), a client (10.10.0.50) and real servers r1 (10.10.0.11) and r2
/// (10.10.0.12) with the VIP on `lo` and the ARP settings of a DR real server. Real servers run
/// a line echo server on port 80 that greets with its name; the client holds one long-lived TCP
/// connection (`Tests/Lab/servers/echo_*.py`).
final class DataPlaneLab: @unchecked Sendable {
    let net: LabNetwork
    let directorHost: LabHost, clientHost: LabHost
    let realServerHosts: [LabHost]
    var id: String { net.id }
    var director: String { directorHost.name }
    var client: String { clientHost.name }
    func realServer(_ n: Int) -> String { realServerHosts[n - 1].name }
    var dir: URL { net.directory }

    static let vip = "10.10.0.100"

    init() throws {
        let net = try LabNetwork(prefix: "dp")
        self.net = net
        do {
            let lan = try net.bridge("lan")
            directorHost = try net.host("d", lan.port("10.10.0.1/24"), forwarding: true)
            try directorHost.addAddress("\(Self.vip)/32")
            clientHost = try net.host("c", lan.port("10.10.0.50/24"))
            realServerHosts = try [1, 2].map { try net.host("r\($0)", lan.port("10.10.0.1\($0)/24")) }
            // The echo servers greet on their own addresses before any test connects: the client
            // makes one connection only, and a refused one would leave it without a server.
            for (n, r) in zip([1, 2], realServerHosts) {
                try r.makeDRRealServer(vips: [Self.vip])
                _ = try r.startEchoServer("r\(n)", checkedFrom: directorHost)
            }
        } catch {
            net.close()
            throw error
        }
    }

    /// Starts the client: one TCP connection to the VIP, a ping every 0.2 s, until `stopClient()`.
    func startClient() throws {
        _ = try clientHost.spawn("echo-client", [
            LabScripts.python, LabScripts.path("echo_client.py"), Self.vip,
            dir.appendingPathComponent("client.log").path, dir.appendingPathComponent("client.stop").path,
        ])
    }

    /// Asks the client to close its connection and waits for it to say so.
    func stopClient() throws {
        try Data().write(to: dir.appendingPathComponent("client.stop"))
        try waitFor("client closed", timeout: 20) { self.clientLog.contains("closed") }
    }

    var clientLog: String { (try? String(contentsOf: dir.appendingPathComponent("client.log"), encoding: .utf8)) ?? "" }

    /// The real server the client's connection landed on (`r1`/`r2`), once connected.
    func connectedTo(timeout: Double = 30) throws -> String {
        try waitFor("client connected", timeout: timeout) { self.clientLog.contains("connected ") }
        let line = clientLog.split(separator: "\n").first { $0.hasPrefix("connected ") } ?? ""
        return String(line.dropFirst("connected ".count))
    }

    /// How many pings the client got answered so far.
    var pongs: Int { clientLog.split(separator: "\n").filter { $0.hasPrefix("pong ") }.count }

    /// Waits for `condition`; on timeout the error carries the client's log and the director's table.
    func waitFor(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
        try LVSTestSupport.waitFor(what, timeout: timeout, diagnostics: diagnostics, condition)
    }

    var diagnostics: String {
        "client log:\n\(clientLog)\n"
            + "client output: \((try? String(contentsOf: dir.appendingPathComponent("echo-client.log"), encoding: .utf8)) ?? "")\n"
            + "ipvsadm -Ln:\n\((try? directorHost.ipvsadm(["-Ln"])) ?? "?")"
    }

    /// `ipvsadm ARGS` in the director's namespace (words separated by spaces), read until two
    /// reads agree.
    func ipvsadm(_ args: String) throws -> String {
        try directorHost.ipvsadm(args.split(separator: " ").map(String.init))
    }

    @discardableResult
    func sh(_ script: String) throws -> String {
        try ProcessRunner.check(["sh", "-c", script]).stdout
    }

    func close() { net.close() }

    deinit { close() }
}
