import Foundation
import LVSModel
import LVSTestSupport
import Testing

/// The `lvsctl` binary against the real kernel, each case in its own network namespace:
/// apply, idempotence, minimal edits, bad input, drift against `ipvsadm` edits, foreign services.
/// `ipvsadm -Sn` is the reference for what is in the kernel.
@Suite struct CLIScenarioTests {
    let demo = CLIRunner.manifest("demo.json")

    /// A runner bound to a fresh namespace.
    func setUp() throws -> (CLIRunner, NetworkNamespace) {
        let ns = try NetworkNamespace(prefix: "lvscli")
        let cli = try CLIRunner(fakeKernel: false)
        cli.commonArguments = ["--netns", ns.name]
        return (cli, ns)
    }

    func auditCount(_ cli: CLIRunner) throws -> Int {
        let r = try cli.run(["history", "--output", "json", "--limit", "1000"])
        let document = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return (document?["entries"] as? [Any])?.count ?? -1
    }

    func edited(_ cli: CLIRunner, _ name: String, _ replacements: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: demo, encoding: .utf8)
        for (a, b) in replacements {
            #expect(text.contains(a), "demo.json should contain \(a)")
            text = text.replacingOccurrences(of: a, with: b)
        }
        return try cli.write(name, text)
    }

    @Test func demoApplyIsExactIdempotentAndMinimal() throws {
        let (cli, ns) = try setUp()
        defer { ns.close() }
        let first = try cli.run(["apply", "-f", demo])
        #expect(first.status == 0, "\(first)")
        #expect(try ns.ipvsadmSave() == """
            -A -t 10.10.0.100:80 -s wrr
            -a -t 10.10.0.100:80 -r 10.10.0.11:80 -g -w 3
            -a -t 10.10.0.100:80 -r 10.10.0.12:80 -g -w 1

            """)
        #expect(try auditCount(cli) == 3)

        let again = try cli.run(["apply", "-f", demo])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("No changes"), "\(again)")
        #expect(try auditCount(cli) == 3)

        let weight = try cli.run(["apply", "-f", try edited(cli, "w.json", [("\"weight\": 3", "\"weight\": 7")])])
        #expect(weight.status == 0, "\(weight)")
        #expect(try auditCount(cli) == 4)
        let history = try cli.run(["history", "--limit", "1"])
        #expect(history.stdout.contains("update-real-server"), "\(history)")
        #expect(history.stdout.contains("10.10.0.11:80"), "\(history)")
        #expect(try ns.ipvsadmSave() == """
            -A -t 10.10.0.100:80 -s wrr
            -a -t 10.10.0.100:80 -r 10.10.0.11:80 -g -w 7
            -a -t 10.10.0.100:80 -r 10.10.0.12:80 -g -w 1

            """)
        // export --format ipvsadm is byte-identical to ipvsadm -Sn.
        #expect(try cli.run(["export", "--format", "ipvsadm"]).stdout == (try ns.ipvsadmSave()))
    }

    @Test func badManifestChangesNothing() throws {
        let (cli, ns) = try setUp()
        defer { ns.close() }
        let bad = try cli.write("bad.json", "{\n  \"apiVersion\": \"lvsctl/v1\",\n  \"name\": \"demo\",\n  \"services\": [\n")
        let r = try cli.run(["apply", "-f", bad])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("bad.json:5:1"), "\(r)")
        let semantic = try cli.run(["apply", "-f", try edited(cli, "sem.json", [("\"weight\": 1", "\"weight\": 99999")])])
        #expect(semantic.status == 1, "\(semantic)")
        #expect(semantic.stderr.contains("services[0].realServers[1].weight"), "\(semantic)")
        #expect(try ns.ipvsadmSave() == "")
        #expect(try cli.run(["revisions"]).stdout.contains("demo@") == false)
    }

    @Test func schedulerChangeIsInPlaceAndPortChangeIsDeleteAdd() throws {
        let (cli, ns) = try setUp()
        defer { ns.close() }
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let sched = try cli.run(["apply", "-f", try edited(cli, "s.json", [("\"wrr\"", "\"rr\"")])])
        #expect(sched.status == 0, "\(sched)")
        #expect(sched.stdout.contains("~ update service tcp/10.10.0.100:80: scheduler wrr → rr"), "\(sched)")
        #expect(sched.stdout.contains("(1 kernel write)"), "\(sched)")
        #expect(try ns.ipvsadmSave().hasPrefix("-A -t 10.10.0.100:80 -s rr\n"))

        let nat = try edited(cli, "nat.json", [("\"forwarding\": \"dr\"", "\"forwarding\": \"nat\"")])
        #expect(try cli.run(["apply", "-f", nat]).status == 0)
        let port = try edited(cli, "port.json", [
            ("\"forwarding\": \"dr\"", "\"forwarding\": \"nat\""),
            ("{ \"address\": \"10.10.0.12\", \"port\": 80", "{ \"address\": \"10.10.0.12\", \"port\": 8080"),
        ])
        let plan = try cli.run(["plan", "-f", port])
        #expect(plan.status == 0, "\(plan)")
        #expect(plan.stdout.contains("+ add real server 10.10.0.12:8080"), "\(plan)")
        #expect(plan.stdout.contains("- delete real server 10.10.0.12:80"), "\(plan)")
        let applied = try cli.run(["apply", "-f", port, "--allow-removal"])
        #expect(applied.status == 0, "\(applied)")
        #expect(try ns.ipvsadmSave().contains("-r 10.10.0.12:8080 -m -w 1"))
    }

    @Test func planExitCodesStalePlansRollbackAndGuards() throws {
        let (cli, ns) = try setUp()
        defer { ns.close() }
        let planFile = cli.directory.appendingPathComponent("plan.json").path
        // Changes pending: exit 2; the saved plan applies; then nothing pending: exit 0.
        #expect(try cli.run(["plan", "-f", demo, "--detailed-exitcode", "--out", planFile]).status == 2)
        let saved = try cli.run(["apply", "--plan", planFile])
        #expect(saved.status == 0, "\(saved)")
        #expect(try cli.run(["plan", "-f", demo, "--detailed-exitcode"]).status == 0)
        #expect(try cli.run(["plan", "-f", try cli.write("broken.json", "{")]).status == 1)

        // A plan saved before an out-of-band change is refused, and nothing is written.
        let w2 = try edited(cli, "w2.json", [("\"weight\": 1", "\"weight\": 2")])
        #expect(try cli.run(["plan", "-f", w2, "--out", planFile]).status == 0)
        try ns.check(["ipvsadm", "-e", "-t", "10.10.0.100:80", "-r", "10.10.0.11:80", "-g", "-w", "9"])
        let before = try ns.ipvsadmSave()
        let stale = try cli.run(["apply", "--plan", planFile])
        #expect(stale.status == 1, "\(stale)")
        #expect(stale.stderr.contains("stale"), "\(stale)")
        #expect(try ns.ipvsadmSave() == before)

        // Three revisions, then back to the first as a fourth.
        #expect(try cli.run(["apply", "-f", w2]).status == 0)
        #expect(try cli.run(["apply", "-f", try edited(cli, "w3.json", [("\"weight\": 1", "\"weight\": 3")])]).status == 0)
        let rollback = try cli.run(["rollback", "demo", "--to", "1"])
        #expect(rollback.status == 0, "\(rollback)")
        #expect(rollback.stdout.contains("as revision 4"), "\(rollback)")
        #expect(try ns.ipvsadmSave() == """
            -A -t 10.10.0.100:80 -s wrr
            -a -t 10.10.0.100:80 -r 10.10.0.11:80 -g -w 3
            -a -t 10.10.0.100:80 -r 10.10.0.12:80 -g -w 1

            """)

        // Guards: deleting the service, or removing both real servers, is refused untouched.
        let empty = try cli.write("empty.json", """
            {"apiVersion": "lvsctl/v1", "name": "demo", "services": []}
            """)
        let refused = try cli.run(["apply", "-f", empty])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stdout.contains("--allow-delete"), "\(refused)")
        #expect(try ns.ipvsadmSave().contains("10.10.0.100:80"))
        let deleted = try cli.run(["apply", "-f", empty, "--allow-delete"])
        #expect(deleted.status == 0, "\(deleted)")
        #expect(try ns.ipvsadmSave() == "")
    }

    @Test func outOfBandEditsAreDriftAndForeignServicesStay() throws {
        let (cli, ns) = try setUp()
        defer { ns.close() }
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        try ns.check(["ipvsadm", "-e", "-t", "10.10.0.100:80", "-r", "10.10.0.12:80", "-g", "-w", "42"])
        try ns.check(["ipvsadm", "-A", "-u", "10.10.0.200:53", "-s", "rr"])
        let drift = try cli.run(["drift", "--output", "json"])
        #expect(drift.status == 2, "\(drift)")
        let json = try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any]
        let item = (json?["drift"] as? [[String: Any]])?.first
        #expect(item?["field"] as? String == "weight")
        #expect(item?["expected"] as? String == "1")
        #expect(item?["live"] as? String == "42")
        #expect(item?["realServer"] as? String == "10.10.0.12:80")
        #expect((json?["foreign"] as? [String]) == ["udp/10.10.0.200:53"])

        let fix = try cli.run(["drift", "--fix"])
        #expect(fix.status == 0, "\(fix)")
        #expect(try cli.run(["drift"]).status == 0)
        let table = try ns.ipvsadmSave()
        #expect(table.contains("-r 10.10.0.12:80 -g -w 1"))
        #expect(table.contains("-A -u 10.10.0.200:53 -s rr"), "a foreign service is never deleted")
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        #expect(try ns.ipvsadmSave().contains("-A -u 10.10.0.200:53 -s rr"))
    }
}

/// `ipvsadm -Sn | lvsctl import ipvsadm -` then `lvsctl apply` onto an empty kernel reproduces
/// the same table.
@Suite struct IPVSAdmImportRoundTripTests {
    static let rules = IPVSAdmSamples.saveExample

    @Test func aDumpImportedAndAppliedReproducesTheTable() throws {
        let source = try NetworkNamespace(prefix: "ipvsrc")
        defer { source.close() }
        let target = try NetworkNamespace(prefix: "ipvdst")
        defer { target.close() }
        try source.check(["ipvsadm", "-R"], input: Self.rules)
        let dump = try source.ipvsadmSave()
        #expect(dump.split(separator: "\n").count == 14)

        let cli = try CLIRunner(fakeKernel: false)
        let imported = try cli.run(["import", "ipvsadm", "-", "--name", "restored"], input: dump)
        #expect(imported.status == 0, "\(imported)")
        let manifest = try cli.write("restored.json", imported.stdout)
        let applied = try cli.run(["apply", "-f", manifest, "--netns", target.name])
        #expect(applied.status == 0, "\(applied)")
        #expect(try target.ipvsadmSave() == dump)
        #expect(try cli.run(["export", "--format", "ipvsadm", "--netns", target.name]).stdout == dump)
    }
}
