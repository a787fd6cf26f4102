import Foundation
import LVSModel
import LVSTestSupport
import Testing

/// `plan`/`apply --take-over` (issue #17): services created outside lvsctl (by keepalived during
/// a cut-over) that the manifest declares. Without the flag the apply is refused and says why;
/// with it, what matches is claimed without a kernel write, and what differs is edited.
@Suite struct TakeOverCLITests {
    let demo = CLIRunner.manifest("demo.json")

    /// A fake kernel holding the demo manifest's table, written by nobody this store knows:
    /// what a running keepalived leaves for lvsctl.
    func keepalivedTable() throws -> (CLIRunner, URL, LiveTable) {
        let other = try CLIRunner(fakeKernel: true)
        #expect(try other.run(["apply", "-f", demo]).status == 0)
        let table = try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: other.directory.appendingPathComponent("kernel.json")))
        let cli = try CLIRunner(fakeKernel: true)
        let kernelFile = cli.directory.appendingPathComponent("kernel.json")
        try JSONEncoder().encode(table).write(to: kernelFile)
        return (cli, kernelFile, table)
    }

    @Test func withoutTakeOverTheApplySaysTheServicesAreForeign() throws {
        let (cli, kernelFile, table) = try keepalivedTable()
        let r = try cli.run(["apply", "-f", demo])
        #expect(r.status == 1, "\(r)")
        #expect(!r.stdout.contains("No changes. The IPVS table matches"), "\(r)")
        let said = r.stdout + r.stderr
        #expect(said.contains("--take-over"), "\(r)")
        #expect(said.contains("tcp/10.10.0.100:80"), "\(r)")
        #expect(!said.contains("lvsctl adopt"), "the remedy names the flag that exists: \(r)")
        #expect(try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: kernelFile)) == table)
        let plan = try cli.run(["plan", "-f", demo])
        #expect(!plan.stdout.contains("No changes"), "\(plan)")
        #expect(plan.stdout.contains("Nothing can be applied"), "\(plan)")
    }

    @Test func takeOverOfAMatchingTableWritesNothing() throws {
        let (cli, kernelFile, table) = try keepalivedTable()
        let plan = try cli.run(["plan", "-f", demo, "--take-over", "--detailed-exitcode"])
        #expect(plan.status == 0, "\(plan)")
        #expect(plan.stdout.contains("Taken over"), "\(plan)")
        #expect(plan.stdout.contains("tcp/10.10.0.100:80"), "\(plan)")
        let apply = try cli.run(["apply", "-f", demo, "--take-over", "-o", "json"])
        #expect(apply.status == 0, "\(apply)")
        let doc = try JSONSerialization.jsonObject(with: Data(apply.stdout.utf8)) as? [String: Any]
        #expect(doc?["kernelWrites"] as? Int == 0, "\(apply)")
        #expect(try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: kernelFile)) == table)
        // Owned from now on: no drift, and a plain apply changes nothing.
        #expect(try cli.run(["drift"]).status == 0)
        let again = try cli.run(["apply", "-f", demo])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("No changes"), "\(again)")
    }

    @Test func takeOverEditsWhatDiffersAndLeavesUndeclaredServicesForeign() throws {
        let (cli, kernelFile, table) = try keepalivedTable()
        var live = table
        live.services[0].realServers[0].server.weight = 7
        let stray = VirtualService(id: .address(.udp, IPAddress("10.10.0.200")!, port: 53), scheduler: .rr)
        live.services.append(LiveService(service: stray))
        try JSONEncoder().encode(LiveTable(services: live.services, timeouts: live.timeouts, syncDaemons: live.syncDaemons)).write(to: kernelFile)
        let text = try cli.run(["apply", "-f", demo, "--take-over"])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("weight"), "\(text)")
        #expect(text.stdout.contains("Took over"), "\(text)")
        let after = try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: kernelFile))
        #expect(after.services.first { $0.service.id == table.services[0].service.id }?.realServers[0].server.weight
            == table.services[0].realServers[0].server.weight)
        #expect(after.services.contains { $0.service.id == stray.id }, "a service the manifest does not declare is never taken or deleted")
        let status = try cli.run(["plan", "-f", demo, "--detailed-exitcode"])
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.contains("udp/10.10.0.200:53"), "still listed as foreign: \(status)")
    }

    @Test func takeOverWithASavedPlanIsAUsageError() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let r = try cli.run(["apply", "--plan", "x.json", "--take-over"])
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.contains("--take-over goes with -f FILE"), "\(r)")
    }
}
