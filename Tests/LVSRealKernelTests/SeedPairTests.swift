import Foundation
import LVSTestSupport
import LVSVRRP
import Testing

/// The seed's director pair, migrated: its keepalived.conf (two VIPs in one sync group, every
/// instance BACKUP at priority 100 with `nopreempt`, the same file on both directors) imported
/// once for both nodes with d1 as the group's master, applied on two directors, and keepalived
/// `-P` run on each rendered file. The seed's behaviour: both VIPs on one director, moving
/// together; a director that comes back does not take them back (nopreempt); IPVS is the same on
/// both directors and keepalived never touches it.
///
/// No `lvsctl run` here: the test writes what it keeps in the readiness file (0, ready), and
/// `lvsctl maintenance` writes the maintenance file itself.
@Suite("The seed's pair: imported once, applied on two directors")
struct SeedPairTests {
    final class Director {
        let name: String
        let host: LabHost
        let cli: CLIRunner
        let runDir: String
        var keepalived: BackgroundProcess?

        init(_ name: String, host: LabHost, scratch: String) throws {
            self.name = name
            self.host = host
            runDir = "\(scratch)/run-\(name)"
            try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
            cli = try CLIRunner(fakeKernel: false)
            cli.commonArguments = ["--netns", host.name]
            paths = DirectorPaths(
                runDirectory: runDir, keepalivedConfig: "\(scratch)/keepalived-\(name).conf", keepalivedPIDFile: "\(runDir)/keepalived.pid")
            cli.environment.merge(LabKeepalived.environment(node: name, paths: paths)) { $1 }
        }

        let paths: DirectorPaths
        var config: String { paths.keepalivedConfig }

        /// The seed's VIPs on eth0.
        func vips() throws -> Set<String> {
            let out = try host.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
            return Set([CutOverTests.vip1, CutOverTests.vip2].filter { out.contains(" \($0)/24") })
        }

        func startKeepalived() throws {
            try "0\n".write(toFile: "\(runDir)/readiness", atomically: true, encoding: .utf8)
            try ProcessRunner.check(["mkfifo", "\(runDir)/vrrp.fifo"])
            _ = try host.spawn("fifo-\(name)", ["cat", "\(runDir)/vrrp.fifo"])
            keepalived = try LabKeepalived.start(on: host, node: name, paths: paths)
        }
    }

    @Test func bothVIPsMoveTogetherAndNopreemptKeepsThemOnThePeer() throws {
        let lab = try LabNetwork(prefix: "sp")
        defer { lab.close() }
        let lan = try lab.bridge("lan")
        let scratch = lab.directory.path
        let d1 = try Director("d1", host: try lab.host("d1", lan.port("10.10.0.1/24"), forwarding: true), scratch: scratch)
        let d2 = try Director("d2", host: try lab.host("d2", lan.port("10.10.0.2/24"), forwarding: true), scratch: scratch)
        let client = try lab.host("c", lan.port("10.10.0.50/24"))
        for n in [1, 2] {
            let r = try lab.host("r\(n)", lan.port("10.10.0.1\(n)/24"))
            try r.makeDRRealServer(vips: [CutOverTests.vip1, CutOverTests.vip2])
            _ = try r.startHTTPServer("r\(n)", port: 80, checkedFrom: d1.host)
            _ = try r.startEchoServer("r\(n)", port: 443, checkedFrom: d1.host)
        }
        func diagnostics() -> String {
            [d1, d2].map { d in
                let log = (try? String(contentsOfFile: "\(scratch)/keepalived-\(d.name).log", encoding: .utf8)) ?? ""
                return "--- \(d.name): VIPs \((try? d.vips()).map { "\($0.sorted())" } ?? "?")\n"
                    + "ipvsadm -Ln:\n\((try? d.host.ipvsadm(["-Ln"])) ?? "?")\nkeepalived (tail):\n\(log.suffix(2500))"
            }.joined(separator: "\n")
        }
        let both: Set<String> = [CutOverTests.vip1, CutOverTests.vip2]

        // 1. One import for both directors: the file leaves the master to start order, so
        //    --master names d1 for the sync group.
        let conf = "\(scratch)/keepalived.conf"
        try CutOverTests.seedConfig().write(toFile: conf, atomically: true, encoding: .utf8)
        let site = "\(scratch)/site.json"
        let imported = try d1.cli.exec([
            CLIRunner.binary, "import", "keepalived", conf, "--node", "d1", "--node", "d2", "--master", "GOP=d1", "--name", "site",
            "--out", site,
        ])
        #expect(imported.status == 0, "\(imported)")
        let manifest = try String(contentsOfFile: site, encoding: .utf8)
        #expect(manifest.contains("\"preempt\": false"), "nopreempt imported: \(manifest)")

        // 2. Applied on both directors before keepalived starts (--no-reload); keepalived -P on
        //    each rendered file. Both VIPs come up on d1 only.
        for d in [d1, d2] {
            let applied = try d.cli.run(["apply", "-f", site, "--no-reload"])
            #expect(applied.status == 0, "\(d.name): \(applied)")
            let rendered = try String(contentsOfFile: d.config, encoding: .utf8)
            #expect(rendered.contains("nopreempt") && !rendered.contains("virtual_server"), "\(d.name): \(rendered)")
        }
        let table = try d1.host.ipvsadmSave()
        #expect(table.split(separator: "\n").filter { $0.hasPrefix("-A ") }.count == 4, "\(table)")
        #expect(try d2.host.ipvsadmSave() == table, "the same table on both directors")
        for d in [d1, d2] { try d.startKeepalived() }
        try waitFor("both VIPs on d1, none on d2", timeout: 90, diagnostics: diagnostics()) {
            try d1.vips() == both && d2.vips().isEmpty
        }
        func httpWorks(_ vip: String) throws -> Bool {
            let out = try client.curl("http://\(vip)/", timeout: 5).stdout
            return out == "r1\n" || out == "r2\n"
        }
        for vip in both.sorted() {
            try waitFor("HTTP through \(vip) (d1)", timeout: 30, diagnostics: diagnostics()) { try httpWorks(vip) }
        }

        // 3. Maintenance on d1: the group goes to FAULT on d1, and both VIPs move to d2 together.
        let on = try d1.cli.run(["maintenance", "on", "-m", "seed pair test"])
        #expect(on.status == 0, "\(on)")
        let moved = try waitFor("both VIPs on d2, none on d1", timeout: 30, diagnostics: diagnostics()) {
            try d2.vips() == both && d1.vips().isEmpty
        }
        print("seed pair: both VIPs moved to d2 in \(String(format: "%.1f", moved)) s")
        for vip in both.sorted() {
            try waitFor("HTTP through \(vip) (d2)", timeout: 30, diagnostics: diagnostics()) { try httpWorks(vip) }
        }

        // 4. Maintenance off: d1 is ready again, but nopreempt leaves the VIPs on d2.
        let off = try d1.cli.run(["maintenance", "off"])
        #expect(off.status == 0, "\(off)")
        let d1Log = "\(scratch)/keepalived-d1.log"
        try waitFor("d1's instances back to BACKUP", timeout: 30, diagnostics: diagnostics()) {
            let log = (try? String(contentsOfFile: d1Log, encoding: .utf8)) ?? ""
            let afterFault = log.components(separatedBy: "entering FAULT state").last ?? ""
            return afterFault.contains("(VI_PRI_CONNECT) Entering BACKUP STATE") && afterFault.contains("(VI_PRI_AUTH) Entering BACKUP STATE")
        }
        // Several master-down intervals (3 × advert_int + skew): a preempting d1 would have taken them.
        Thread.sleep(forTimeInterval: 8)
        #expect(try d2.vips() == both && d1.vips().isEmpty, "nopreempt: the VIPs stay on d2\n\(diagnostics())")

        // IPVS untouched by keepalived on both directors, and no drift.
        for d in [d1, d2] {
            #expect(try d.host.ipvsadmSave() == table, "\(d.name)")
            let drift = try d.cli.run(["drift"])
            #expect(drift.status == 0, "\(d.name): \(drift)")
        }
    }
}
