import Foundation
import LVSTestSupport

/// A director, a client and two real servers in network namespaces of their own, for one
/// forwarding method. Only the network is built here (namespaces, bridges, addresses, routes,
/// the VIP on the director, web servers); the load balancing itself is configured by the
/// caller through `lvsctl apply` (director) and `lvsctl realserver` (real servers).
///
/// - DR and TUN: one bridge `br0` in the director, 10.10.0.0/24: director .1 (and the VIP
///   10.10.0.100/32), client .50, real servers .11 and .12 serving on port 80.
/// - NAT: the client on `brpub` (10.10.0.0/24, the VIP on the director), the real servers on a
///   private network `brpriv` (192.168.100.0/24, .11 and .12, default route via the director
///   .1), serving on port 8080.
///
/// Each real server runs `busybox httpd` whose page is its own name (`r1`, `r2`).
final class ForwardingLab: @unchecked Sendable {
    enum Method: String, Sendable { case dr, tunnel, nat }

    let method: Method
    let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var director: String { "fd\(id)" }
    var client: String { "fc\(id)" }
    func realServer(_ n: Int) -> String { "fr\(n)\(id)" }
    var namespaces: [String] { [director, client, realServer(1), realServer(2)] }
    /// Scratch directory for web roots and lvsctl's files (the runner's directory).
    let cli: CLIRunner

    static let vip = "10.10.0.100"

    /// The real servers' addresses and the port they serve on.
    var realServerAddresses: [String] { method == .nat ? ["192.168.100.11", "192.168.100.12"] : ["10.10.0.11", "10.10.0.12"] }
    var realServerPort: Int { method == .nat ? 8080 : 80 }

    init(_ method: Method) throws {
        self.method = method
        cli = try CLIRunner(fakeKernel: false)
        do {
            try build()
        } catch {
            close()
            throw error
        }
    }

    private func build() throws {
        let d = director
        for ns in namespaces { try sh("ip netns add \(ns) && ip -n \(ns) link set lo up") }
        try sh("ip netns exec \(d) sysctl -qw net.ipv4.ip_forward=1")
        try sh("ip -n \(d) link add br0 type bridge && ip -n \(d) link set br0 up && ip -n \(d) addr add 10.10.0.1/24 dev br0 && ip -n \(d) addr add \(Self.vip)/32 dev br0")
        try attach(client, bridge: "br0", port: "vc", address: "10.10.0.50/24", gateway: nil)
        var servers = "br0"
        if method == .nat {
            try sh("ip -n \(d) link add brpriv type bridge && ip -n \(d) link set brpriv up && ip -n \(d) addr add 192.168.100.1/24 dev brpriv")
            servers = "brpriv"
        }
        for n in [1, 2] {
            let gateway = method == .nat ? "192.168.100.1" : nil
            try attach(realServer(n), bridge: servers, port: "v\(n)", address: "\(realServerAddresses[n - 1])/24", gateway: gateway)
            let web = cli.directory.appendingPathComponent("www-r\(n)")
            try FileManager.default.createDirectory(at: web, withIntermediateDirectories: true)
            try Data("r\(n)\n".utf8).write(to: web.appendingPathComponent("index.html"))
            try sh("ip netns exec \(realServer(n)) sh -c 'busybox httpd -f -p \(realServerPort) -h \(web.path) >/dev/null 2>&1 &'")
        }
        // The web servers answer on their own addresses before any test starts.
        for a in realServerAddresses {
            let url = "http://\(a):\(realServerPort)/"
            try sh("for i in $(seq 100); do ip netns exec \(d) curl -s -m 2 -o /dev/null \(url) && exit 0; sleep 0.2; done; echo 'no answer from \(url)' >&2; exit 1")
        }
    }

    private func attach(_ ns: String, bridge: String, port: String, address: String, gateway: String?) throws {
        var script = """
            ip -n \(director) link add \(port) type veth peer name eth0 netns \(ns) && \
            ip -n \(director) link set \(port) master \(bridge) up && ip -n \(ns) link set eth0 up && \
            ip -n \(ns) addr add \(address) dev eth0
            """
        if let gateway { script += " && ip -n \(ns) route add default via \(gateway)" }
        try sh(script)
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
        let r = try ProcessRunner.run([
            "ip", "netns", "exec", client, "curl", "-s", "-m", "\(timeout)", "-H", "Connection: close",
            "http://\(Self.vip)/?[1-\(count)]",
        ])
        var split: [String: Int] = [:]
        for line in r.stdout.split(separator: "\n") {
            let name = line == "r1" || line == "r2" ? String(line) : "other"
            split[name, default: 0] += 1
        }
        return split
    }

    /// `ipvsadm ARGS` in the director, run until two runs in a row print the same: a listing can
    /// repeat a service when another test's namespace gains services during the dump (see
    /// `NetworkNamespace.ipvsadmSave`), and `-Sn` is compared exactly.
    func ipvsadm(_ args: String) throws -> String {
        var previous = try sh("ip netns exec \(director) ipvsadm \(args)")
        for _ in 0..<5 {
            let next = try sh("ip netns exec \(director) ipvsadm \(args)")
            if next == previous { return next }
            previous = next
        }
        return previous
    }

    @discardableResult
    func sh(_ script: String) throws -> String {
        try ProcessRunner.check(["sh", "-c", script]).stdout
    }

    func close() {
        for ns in namespaces {
            _ = try? ProcessRunner.run(["sh", "-c", "ip netns pids \(ns) 2>/dev/null | xargs -r kill; ip netns delete \(ns) 2>/dev/null"])
        }
    }

    deinit { close() }
}
