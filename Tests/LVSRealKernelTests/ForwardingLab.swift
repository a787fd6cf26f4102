import Foundation
import LVSTestSupport

/// A director, a client and two real servers (a ``LabNetwork``), for one forwarding method.
/// Only the network is built here (bridges, addresses, routes, the VIP on the director, web
/// servers); the load balancing itself is configured by the caller through `lvsctl apply`
/// (director) and `lvsctl realserver` (real servers).
///
/// - DR and TUN: one bridge, 10.10.0.0/24: director .1 (and the VIP 10.10.0.100/32), client .50,
///   real servers .11 and .12 serving on port 80.
/// - NAT: the client on `pub` (10.10.0.0/24, the VIP on the director), the real servers on a
///   private bridge `priv` (192.168.100.0/24, .11 and .12, default route via the director's
///   `eth1`, .1), serving on port 8080.
///
/// Each real server runs `busybox httpd` whose page is its own name (`r1`, `r2`).
final class ForwardingLab: @unchecked Sendable {
    enum Method: String, Sendable { case dr, tunnel, nat }

    let method: Method
    let net: LabNetwork
    private(set) var directorHost: LabHost!
    private(set) var clientHost: LabHost!
    private(set) var realServerHosts: [LabHost] = []
    var id: String { net.id }
    var director: String { directorHost.name }
    var client: String { clientHost.name }
    func realServer(_ n: Int) -> String { realServerHosts[n - 1].name }
    var namespaces: [String] { [director, client, realServer(1), realServer(2)] }
    /// Scratch directory for web roots and lvsctl's files (the runner's directory).
    let cli: CLIRunner

    static let vip = "10.10.0.100"
    static let busybox = ["/bin/busybox", "/usr/bin/busybox"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "busybox"

    /// The real servers' addresses and the port they serve on.
    var realServerAddresses: [String] { method == .nat ? ["192.168.100.11", "192.168.100.12"] : ["10.10.0.11", "10.10.0.12"] }
    var realServerPort: Int { method == .nat ? 8080 : 80 }

    init(_ method: Method) throws {
        self.method = method
        cli = try CLIRunner(fakeKernel: false)
        net = try LabNetwork(prefix: "fw", directory: cli.directory)
        do {
            try build()
        } catch {
            close()
            throw error
        }
    }

    private func build() throws {
        let pub = try net.bridge("pub")
        if method == .nat {
            let priv = try net.bridge("priv")
            directorHost = try net.host("d", pub.port("10.10.0.1/24"), priv.port("192.168.100.1/24"), forwarding: true)
            realServerHosts = try [1, 2].map {
                try net.host("r\($0)", priv.port("\(realServerAddresses[$0 - 1])/24"), gateway: "192.168.100.1")
            }
        } else {
            directorHost = try net.host("d", pub.port("10.10.0.1/24"), forwarding: true)
            realServerHosts = try [1, 2].map { try net.host("r\($0)", pub.port("\(realServerAddresses[$0 - 1])/24")) }
        }
        try directorHost.addAddress("\(Self.vip)/32")
        clientHost = try net.host("c", pub.port("10.10.0.50/24"))
        // The web servers answer on their own addresses, asked from the director, before any test starts.
        for (n, host) in zip([1, 2], realServerHosts) {
            let web = cli.directory.appendingPathComponent("www-r\(n)")
            try FileManager.default.createDirectory(at: web, withIntermediateDirectories: true)
            try Data("r\(n)\n".utf8).write(to: web.appendingPathComponent("index.html"))
            let url = "http://\(host.address):\(realServerPort)/"
            _ = try host.startServer(
                "httpd-r\(n)", [Self.busybox, "httpd", "-f", "-p", "\(realServerPort)", "-h", web.path],
                readiness: "busybox httpd to answer \(url) from the director"
            ) {
                try self.directorHost.curl(url).stdout == "r\(n)\n"
            }
        }
    }

    /// `lvsctl ARGS` against the director's namespace.
    func lvsctl(_ args: [String]) throws -> CLIRunner.Result {
        try cli.run(args + ["--netns", director])
    }

    /// `lvsctl realserver ARGS` on real server `n`, with its own state file.
    func realServerCommand(_ n: Int, _ args: [String]) throws -> CLIRunner.Result {
        try cli.run(["realserver"] + args + ["--netns", realServer(n), "--state", stateFile(n)])
    }

    func stateFile(_ n: Int) -> String { cli.directory.appendingPathComponent("realserver-r\(n).json").path }

    /// Writes a one-service manifest for this lab: tcp VIP:80 to both real servers.
    func manifest(name: String, scheduler: String, weights: [Int], persistence: Int? = nil) throws -> String {
        let forwarding = method == .nat ? "nat" : method.rawValue
        let servers = zip(realServerAddresses, weights).map {
            "{ \"address\": \"\($0)\", \"port\": \(realServerPort), \"weight\": \($1) }"
        }
        let persist = persistence.map { "\"persistence\": { \"timeout\": \($0) },\n" } ?? ""
        return try cli.write("\(name).json", """
            {
              "apiVersion": "lvsctl/v1",
              "name": "\(name)",
              "services": [
                {
                  "name": "web", "protocol": "tcp", "address": "\(Self.vip)", "port": 80,
                  "scheduler": "\(scheduler)", "forwarding": "\(forwarding)",
                  \(persist)"realServers": [ \(servers.joined(separator: ", ")) ]
                }
              ]
            }
            """)
    }

    /// Sends `count` HTTP requests from the client, each on a new connection (one curl, URL
    /// globbing, `Connection: close`); returns how many answers each real server gave. Lines
    /// that are not a server name count under "other".
    func requests(_ count: Int, timeout: Int = 10) throws -> [String: Int] {
        let r = try clientHost.run([
            "curl", "-s", "-m", "\(timeout)", "-H", "Connection: close", "http://\(Self.vip)/?[1-\(count)]",
        ])
        var split: [String: Int] = [:]
        for line in r.stdout.split(separator: "\n") {
            let name = line == "r1" || line == "r2" ? String(line) : "other"
            split[name, default: 0] += 1
        }
        return split
    }

    /// `ipvsadm ARGS` in the director (words separated by spaces), read until two reads agree.
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
