import Foundation
import LVSTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// keepalived itself (checkers only, `-C`) programming IPVS in a namespace of its own from a
/// keepalived.conf, with the real servers' health checks answered by `busybox httpd` (ports 80,
/// 443 and 8080) in a second namespace that holds every real-server address (a ``LabNetwork``).
enum KeepalivedLab {
    static let busybox = ["/bin/busybox", "/usr/bin/busybox"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "busybox"

    /// Runs keepalived on `conf` until its `ipvsadm -Sn` equals `expected` or 90 s pass; returns
    /// the last table it showed and keepalived's log.
    ///
    /// - Parameters:
    ///   - subnets: real-server subnets, routed from keepalived's namespace to the server namespace.
    ///   - addresses: real-server addresses the server namespace answers on.
    ///   - scratch: a directory for the web root, pid files and the log.
    static func table(conf: String, subnets: [String], addresses: [String], expected: String, scratch: String) throws -> (table: String, log: String) {
        let net = try LabNetwork(prefix: "ka", directory: URL(fileURLWithPath: scratch))
        defer { net.close() }
        let link = try net.bridge("ka")
        let ka = try net.host("ka", link.port("10.99.0.1/24"))
        let srv = try net.host("srv", link.port("10.99.0.2/24"), gateway: "10.99.0.1")
        for s in subnets { try ka.check(["ip", "route", "add", s, "via", "10.99.0.2"]) }
        for a in addresses { try srv.addAddress("\(a)/32", device: "lo") }
        let web = scratch + "/www"
        try FileManager.default.createDirectory(atPath: web, withIntermediateDirectories: true)
        try Data("ok\n".utf8).write(to: URL(fileURLWithPath: web + "/index.html"))
        for port in [80, 443, 8080] {
            _ = try srv.spawn("httpd-\(port)", [busybox, "httpd", "-f", "-p", "\(port)", "-h", web])
        }
        // -n: keepalived stays in the foreground, so the lab stops it; the pid files are per test
        // (the default ones under /run would be shared by the tests running side by side).
        let keepalived = try ka.spawn("keepalived", [
            "keepalived", "-f", conf, "-C", "-n", "-l", "-D",
            "-p", "\(scratch)/ka.pid", "-c", "\(scratch)/kc.pid", "-r", "\(scratch)/kr.pid",
        ])

        // keepalived adds real servers as its checkers succeed; wait until the tables agree.
        var live = ""
        do {
            try waitFor("keepalived's table to equal lvsctl's", timeout: 90, interval: 1) {
                live = try ka.ipvsadmSave()
                return live == expected
            }
        } catch is WaitTimeout {
            // The caller compares and prints both tables and the log.
        }
        let log = keepalived.log
        _ = try? keepalived.stop(SIGTERM, timeout: 10)
        return (live, log)
    }
}
