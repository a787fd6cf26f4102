import Foundation
import LVSTestSupport
import Testing

/// `lvsctl status` shows each maintenance flag with who set it, when and why (`drain -m`), in text
/// and in `-o json` (status format 2), and forgets it on undrain.
@Suite struct StatusMaintenanceCLITests {
    @Test func statusShowsWhoWhenAndWhy() throws {
        let cli = try CLIRunner(fakeKernel: true)
        cli.environment["LVSCTL_AUTHOR"] = "alice"
        var r = try cli.run(["apply", "-f", CLIRunner.manifest("demo.json")])
        #expect(r.status == 0, "\(r)")
        let before = Date(timeIntervalSinceNow: -1)
        r = try cli.run(["drain", "web", "10.10.0.11:80", "-m", "disk swap"])
        #expect(r.status == 0, "\(r)")
        cli.environment["LVSCTL_AUTHOR"] = "bob"
        r = try cli.run(["drain", "web", "-m", "kernel upgrade", "--no-apply"])
        #expect(r.status == 0, "\(r)")

        let text = try cli.run(["status"])
        #expect(text.status == 0, "\(text)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let serviceLine = try #require(lines.first { $0.contains("owner demo") }, "\(text)")
        #expect(serviceLine.contains("maintenance by bob since "), "\(text)")
        #expect(serviceLine.contains(": \"kernel upgrade\""), "\(text)")
        let rsIndex = try #require(lines.firstIndex { $0.hasPrefix("  -> 10.10.0.11:80") }, "\(text)")
        #expect(lines[rsIndex].contains("maintenance by alice since "), "\(text)")
        #expect(lines[rsIndex].contains(": \"disk swap\""), "\(text)")

        let json = try cli.run(["status", "-o", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["formatVersion"] as? Int == 3)
        let flags = try #require(document["maintenance"] as? [[String: Any]])
        #expect(flags.count == 2, "\(flags)")
        let alice = try #require(flags.first { $0["author"] as? String == "alice" })
        #expect(alice["realServer"] as? String == "10.10.0.11:80" && alice["reason"] as? String == "disk swap", "\(alice)")
        #expect(alice["service"] as? String == "tcp/10.10.0.100:80", "\(alice)")
        let since = try #require((alice["since"] as? String).flatMap { ISO8601DateFormatter().date(from: $0.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) })
        #expect(since >= before.addingTimeInterval(-1) && since <= Date().addingTimeInterval(1), "since is when drain ran: \(alice)")
        let bob = try #require(flags.first { $0["author"] as? String == "bob" })
        #expect(bob["realServer"] == nil && bob["reason"] as? String == "kernel upgrade", "a whole-service flag: \(bob)")

        r = try cli.run(["undrain", "web", "10.10.0.11:80"])
        #expect(r.status == 0, "\(r)")
        let after = try cli.run(["status"])
        #expect(!after.stdout.contains("disk swap"), "\(after)")
        #expect(after.stdout.contains("kernel upgrade"), "\(after)")
    }
}
