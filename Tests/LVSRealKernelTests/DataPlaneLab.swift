import Foundation
import LVSTestSupport

/// A small LVS-DR network for one test: a director namespace (bridge 10.10.0.1/24, the VIP
/// 10.10.0.100 on it), a client (10.10.0.50) and real servers r1 (10.10.0.11) and r2 (10.10.0.12)
/// with the VIP on `lo` and the ARP settings of a DR real server. Real servers run a line echo
/// server on port 80 that greets with its name; the client holds one long-lived TCP connection.
final class DataPlaneLab: @unchecked Sendable {
    let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var director: String { "d\(id)" }
    var client: String { "c\(id)" }
    func realServer(_ n: Int) -> String { "r\(n)\(id)" }
    let dir: URL
    private var pids: [String] = []

    static let vip = "10.10.0.100"

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dataplane-\(id)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(Self.serverScript.utf8).write(to: dir.appendingPathComponent("server.py"))
        try Data(Self.clientScript.utf8).write(to: dir.appendingPathComponent("client.py"))
        do {
            let d = director
            for ns in [d, client, realServer(1), realServer(2)] {
                try sh("ip netns add \(ns) && ip -n \(ns) link set lo up")
            }
            try sh("""
                ip -n \(d) link add br0 type bridge && ip -n \(d) link set br0 up && \
                ip -n \(d) addr add 10.10.0.1/24 dev br0 && ip -n \(d) addr add \(Self.vip)/32 dev br0 && \
                ip netns exec \(d) sysctl -qw net.ipv4.ip_forward=1
                """)
            for (ns, addr, port) in [(client, "10.10.0.50", "vc"), (realServer(1), "10.10.0.11", "v1"), (realServer(2), "10.10.0.12", "v2")] {
                try sh("""
                    ip -n \(d) link add \(port) type veth peer name eth0 netns \(ns) && \
                    ip -n \(d) link set \(port) master br0 up && ip -n \(ns) link set eth0 up && \
                    ip -n \(ns) addr add \(addr)/24 dev eth0
                    """)
            }
            for n in [1, 2] {
                let ns = realServer(n)
                try sh("""
                    ip -n \(ns) addr add \(Self.vip)/32 dev lo && \
                    ip netns exec \(ns) sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
                    net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2
                    """)
                pids.append(try background(ns, "python3 \(dir.path)/server.py r\(n)"))
            }
            // The echo servers greet on their own addresses before any test connects: the client
            // makes one connection only, and a refused one would leave it without a server.
            for (n, address) in [(1, "10.10.0.11"), (2, "10.10.0.12")] {
                try waitFor("r\(n)'s echo server to greet on \(address):80", timeout: 60) {
                    let r = try ProcessRunner.run([
                        "ip", "netns", "exec", d, "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/\(address)/80 && head -n 1 <&3",
                    ])
                    return r.stdout == "r\(n)\n"
                }
            }
        } catch {
            close()
            throw error
        }
    }

    /// Starts the client: one TCP connection to the VIP, a ping every 0.2 s, until `stopClient()`.
    func startClient() throws {
        pids.append(try background(client, "python3 \(dir.path)/client.py \(Self.vip) \(dir.path)/client.log \(dir.path)/client.stop"))
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

    func waitFor(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ProcessRunner.Failure(description: "timed out after \(timeout) s waiting for \(what); client log:\n\(clientLog)")
    }

    /// `ipvsadm ARGS` in the director's namespace.
    func ipvsadm(_ args: String) throws -> String {
        try ProcessRunner.check(["ip", "netns", "exec", director, "sh", "-c", "ipvsadm \(args)"]).stdout
    }

    @discardableResult
    func sh(_ script: String) throws -> String {
        try ProcessRunner.check(["sh", "-c", script]).stdout
    }

    /// Starts `command` in namespace `ns` in the background; returns its pid.
    func background(_ ns: String, _ command: String) throws -> String {
        let pid = try sh("ip netns exec \(ns) sh -c '\(command) >/dev/null 2>&1 & echo $!'")
        return pid.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func close() {
        for pid in pids { _ = try? ProcessRunner.run(["kill", pid]) }
        for ns in [director, client, realServer(1), realServer(2)] {
            _ = try? ProcessRunner.run(["ip", "netns", "delete", ns])
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { close() }

    static let serverScript = #"""
        import socket, sys, threading
        name = sys.argv[1]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 80))
        s.listen(64)
        def serve(c):
            with c:
                c.sendall((name + "\n").encode())
                f = c.makefile("rb")
                for line in f:
                    c.sendall(line)
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        """#

    static let clientScript = #"""
        import os, socket, sys, time
        vip, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
        def say(line):
            with open(log, "a") as f:
                f.write(line + "\n")
        s = socket.create_connection((vip, 80), timeout=10)
        f = s.makefile("rb")
        say("connected " + f.readline().decode().strip())
        n = 0
        try:
            while not os.path.exists(stop):
                n += 1
                s.sendall(("ping %d\n" % n).encode())
                reply = f.readline().decode().strip()
                if reply != "ping %d" % n:
                    say("error bad reply %r" % reply)
                    break
                say("pong %d" % n)
                time.sleep(0.2)
        except Exception as e:
            say("error %s" % e)
        s.close()
        say("closed")
        """#
}
