import Foundation
import LVSTestSupport
import Testing

/// Operator actions reach the notification sinks that opted in (`operatorActions` in daemon.json),
/// once per action, from the command itself; sinks that did not opt in hear nothing.
@Suite struct OperatorActionNoticeCLITests {
    /// A daemon.json with an exec sink that appends `TYPE NAME STATE | MESSAGE` to a log.
    func configure(_ cli: CLIRunner, optIn: Bool) throws -> URL {
        let log = cli.directory.appendingPathComponent("notices.log")
        let hook = try cli.write("hook.sh", """
            #!/bin/sh
            echo "$1 $2 $3 | $LVSCTL_MESSAGE" >> '\(log.path)'
            """)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook)
        let config = try cli.write("daemon.json", """
            { "notify": { "exec": { "path": "\(hook)", "timeout": 5, "operatorActions": \(optIn) } } }
            """)
        cli.environment["LVSCTL_CONFIG"] = config
        cli.environment["LVSCTL_AUTHOR"] = "alice"
        return log
    }

    func lines(_ log: URL) -> [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func eachActionIsSentOnceToAnOptedInSink() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let log = try configure(cli, optIn: true)
        let demo = CLIRunner.manifest("demo.json")
        var r = try cli.run(["apply", "-f", demo, "-m", "first cut"])
        #expect(r.status == 0, "\(r)")
        r = try cli.run(["apply", "-f", demo])
        #expect(r.status == 0 && r.stdout.contains("No changes"), "\(r)")
        r = try cli.run(["drain", "web", "10.10.0.11:80", "-m", "disk swap"])
        #expect(r.status == 0, "\(r)")
        r = try cli.run(["undrain", "web", "10.10.0.11:80"])
        #expect(r.status == 0, "\(r)")
        let edited = try cli.write("edited.json", try String(contentsOfFile: demo, encoding: .utf8)
            .replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": 5"))
        r = try cli.run(["apply", "-f", edited])
        #expect(r.status == 0, "\(r)")
        r = try cli.run(["rollback", "demo", "--to", "1"])
        #expect(r.status == 0, "\(r)")
        let got = lines(log)
        #expect(got.count == 5, "one line per action that changed something: \(got)")
        #expect(got.allSatisfy { $0.contains(" OPERATOR_ACTION | alice ") }, "\(got)")
        #expect(got.first?.hasPrefix("MANIFEST demo OPERATOR_ACTION | alice apply: applied demo@1, 3 kernel changes: \"first cut\"") == true, "\(got)")
        #expect(got.contains { $0.hasPrefix("REALSERVER tcp/10.10.0.100:80/10.10.0.11:80 OPERATOR_ACTION | alice drain: drained 10.10.0.11:80 of tcp/10.10.0.100:80: \"disk swap\"") }, "\(got)")
        #expect(got.contains { $0.contains("alice undrain: undrained 10.10.0.11:80 of tcp/10.10.0.100:80") }, "\(got)")
        #expect(got.contains { $0.contains("alice rollback: rolled demo back to revision 1 as demo@3") }, "\(got)")
    }

    @Test func driftFixIsSent() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let log = try configure(cli, optIn: true)
        var r = try cli.run(["apply", "-f", CLIRunner.manifest("demo.json")])
        #expect(r.status == 0, "\(r)")
        // Someone edits the kernel behind lvsctl's back: weight 3 → 9 in the fake kernel's file.
        let kernel = cli.directory.appendingPathComponent("kernel.json")
        let text = try String(contentsOf: kernel, encoding: .utf8)
        let edited = text.replacingOccurrences(of: #""weight"\s*:\s*3\b"#, with: #""weight": 9"#, options: .regularExpression)
        #expect(edited != text, "the fake kernel's file holds a weight 3: \(text.prefix(300))")
        try edited.write(to: kernel, atomically: true, encoding: .utf8)
        r = try cli.run(["drift", "--fix"])
        #expect(r.status == 0, "\(r)")
        let got = lines(log)
        #expect(got.count == 2, "\(got)")
        #expect(got.last?.hasPrefix("MANIFEST demo OPERATOR_ACTION | alice drift --fix: fixed 1 drift item with 1 kernel changes") == true, "\(got)")
    }

    @Test func aSinkThatDidNotOptInHearsNothing() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let log = try configure(cli, optIn: false)
        var r = try cli.run(["apply", "-f", CLIRunner.manifest("demo.json")])
        #expect(r.status == 0, "\(r)")
        r = try cli.run(["drain", "web", "-m", "maintenance window"])
        #expect(r.status == 0, "\(r)")
        #expect(lines(log).isEmpty)
    }

    @Test func aBrokenConfigIsAWarningNotAFailure() throws {
        let cli = try CLIRunner(fakeKernel: true)
        cli.environment["LVSCTL_CONFIG"] = try cli.write("daemon.json", #"{ "notify": { "exec": { "pth": "/bin/true" } } }"#)
        let r = try cli.run(["apply", "-f", CLIRunner.manifest("demo.json")])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("warning: operator-action notification not sent"), "\(r)")
        #expect(r.stderr.contains("pth"), "the config error names the key: \(r)")
    }
}
