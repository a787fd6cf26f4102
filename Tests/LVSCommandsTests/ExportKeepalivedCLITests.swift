import Foundation
import LVSModel
import LVSTestSupport
import Testing

/// `lvsctl export --format keepalived` from the command line (host, file-backed fake kernel).
@Suite struct ExportKeepalivedCLITests {
    @Test func demoManifestExportsAndImportsBack() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let exported = try cli.run(["export", "--format", "keepalived", "-f", CLIRunner.manifest("demo.json")])
        #expect(exported.status == 0, "\(exported)")
        #expect(exported.stderr.isEmpty, "\(exported)")
        #expect(exported.stdout.contains("virtual_server 10.10.0.100 80 {\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n"))
        let conf = try cli.write("demo.conf", exported.stdout)
        let imported = try cli.run(["import", "keepalived", conf, "--name", "demo"])
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.stderr.isEmpty, "no warnings reading it back: \(imported.stderr)")
        #expect(imported.stdout.contains("\"weight\": 3") && imported.stdout.contains("\"type\": \"tcp\""), "\(imported)")
    }

    @Test func fullFeaturedManifestNamesWhatKeepalivedCannotSay() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let path = CLIRunner.manifest("full-featured.json")
        let r = try cli.run(["export", "--format", "keepalived", "-f", path])
        #expect(r.status == 0, "\(r)")
        for expected in [
            "settings: global settings (timeouts, sync daemons) are not exported",
            "services[0].drainTimeout",
            "services[0].healthCheck.rise",
            "services[0].healthCheck.fall",
        ] {
            #expect(r.stderr.contains(expected), "stderr should mention \(expected):\n\(r.stderr)")
        }
        #expect(r.stderr.contains("full-featured.json"))
        // A service-wide check is written into both real servers but reported once.
        #expect(r.stderr.components(separatedBy: "services[0].healthCheck.rise").count == 2, "\(r.stderr)")
        // fall 3 is keepalived's failure count: retry 2.
        #expect(r.stdout.contains("SSL_GET {\n            connect_timeout 2\n            retry 2\n"), "\(r.stdout)")
        for block in ["virtual_server 2001:db8:10::80 443 {", "virtual_server 203.0.113.10 80 {", "virtual_server fwmark 7 {",
                      "MISC_CHECK {", "SSL_GET {", "sorry_server 10.0.9.9 8080", "lvs_method TUN type gre\n"] {
            #expect(r.stdout.contains(block), "\(block) missing:\n\(r.stdout)")
        }
        let conf = try cli.write("full.conf", r.stdout)
        let back = try cli.run(["import", "keepalived", conf])
        #expect(back.status == 0, "\(back)")
    }

    @Test func liveTableExportsWithoutAManifest() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", CLIRunner.manifest("demo.json")]).status == 0)
        let r = try cli.run(["export", "--format", "keepalived"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("real_server 10.10.0.12 80 {\n        weight 1\n    }"), "\(r.stdout)")
        // -o is the format here too (--format is its old spelling); json is not an export format.
        let viaO = try cli.run(["export", "-o", "keepalived"])
        #expect(viaO.status == r.status && viaO.stdout == r.stdout, "\(viaO)")
        #expect(try cli.run(["export", "-o", "json"]).status != 0)
        let misuse = try cli.run(["export", "--format", "ipvsadm", "-f", CLIRunner.manifest("demo.json")])
        #expect(misuse.status != 0 && misuse.stderr.contains("-f/--file is only for -o keepalived"), "\(misuse)")
    }
}
