import Foundation
import LVSTestSupport

/// keepalived itself (checkers only, `-C`) programming IPVS in a namespace of its own from a
/// keepalived.conf, with the real servers' health checks answered by `busybox httpd` (ports 80,
/// 443 and 8080) in a second namespace that holds every real-server address.
enum KeepalivedLab {
    /// Runs keepalived on `conf` until its `ipvsadm -Sn` equals `expected` or 90 s pass; returns
    /// the last table it showed and keepalived's log.
    ///
    /// - Parameters:
    ///   - subnets: real-server subnets, routed from keepalived's namespace to the server namespace.
    ///   - addresses: real-server addresses the server namespace answers on.
    ///   - scratch: a directory for the web root, pid files and the log.
    static func table(conf: String, subnets: [String], addresses: [String], expected: String, scratch: String) throws -> (table: String, log: String) {
        let ka = try NetworkNamespace(prefix: "ka")
        defer { ka.close() }
        // As unique as NetworkNamespace's names: the keepalived tests run beside each other.
        let srv = "kasrv-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let web = scratch + "/www"
        try FileManager.default.createDirectory(atPath: web, withIntermediateDirectories: true)
        try Data("ok\n".utf8).write(to: URL(fileURLWithPath: web + "/index.html"))
        var setup = """
            set -e
            ip netns add \(srv)
            ip -n \(srv) link set lo up
            ip -n \(ka.name) link add vsrv type veth peer name eth0 netns \(srv)
            ip -n \(ka.name) link set vsrv up
            ip -n \(ka.name) addr add 10.99.0.1/24 dev vsrv
            ip -n \(srv) link set eth0 up
            ip -n \(srv) addr add 10.99.0.2/24 dev eth0
            ip -n \(srv) route add default via 10.99.0.1
            """
        for s in subnets { setup += "\nip -n \(ka.name) route add \(s) via 10.99.0.2" }
        for a in addresses { setup += "\nip -n \(srv) addr add \(a)/32 dev lo" }
        for port in [80, 443, 8080] {
            setup += "\nip netns exec \(srv) busybox httpd -p \(port) -h \(web)"
        }
        setup += """

            ip netns exec \(ka.name) keepalived -f \(conf) -C -n -l -D -p \(scratch)/ka.pid -c \(scratch)/kc.pid \
              -r \(scratch)/kr.pid > \(scratch)/keepalived.log 2>&1 &
            """
        defer {
            _ = try? ProcessRunner.run(["sh", "-c", "kill $(cat \(scratch)/kc.pid \(scratch)/ka.pid 2>/dev/null) 2>/dev/null; ip netns pids \(srv) | xargs -r kill; ip netns delete \(srv)"])
        }
        try ProcessRunner.check(["sh", "-c", setup])

        // keepalived adds real servers as its checkers succeed; wait until the tables agree.
        var live = ""
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            live = try ka.ipvsadmSave()
            if live == expected { break }
            Thread.sleep(forTimeInterval: 1)
        }
        let log = (try? String(contentsOfFile: "\(scratch)/keepalived.log", encoding: .utf8)) ?? ""
        return (live, log)
    }
}
