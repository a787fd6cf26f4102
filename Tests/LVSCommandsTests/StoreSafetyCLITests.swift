import Foundation
import LVSModel
import LVSTestSupport
import Testing

/// The store as commands use it (issue 17), with the real binary and the file-backed fake
/// kernel: read-only commands never create a store or its directories, a mistyped `--db` gets a
/// hint, and a full file system stops an apply before the kernel is touched.
@Suite(.serialized) struct StoreSafetyCLITests {
    let demo = CLIRunner.manifest("demo.json")

    func kernelState(_ cli: CLIRunner) throws -> LiveTable {
        let url = cli.directory.appendingPathComponent("kernel.json")
        guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { return LiveTable() }
        return try JSONDecoder().decode(LiveTable.self, from: data)
    }

    func mount(_ arguments: [String]) throws {
        let r = try ProcessRunner.run(["/usr/bin/env"] + arguments, input: nil, environment: ProcessInfo.processInfo.environment)
        try #require(r.status == 0, "\(arguments.joined(separator: " ")): \(r.stderr)")
    }

    /// Every command that only reads, at a `--db` whose file is missing, and at one whose
    /// directory is missing: nothing is created; the commands that read stored data fail with the
    /// path and a hint, the ones that work without a store (`status`, `plan`) still answer.
    @Test(arguments: ["missing.db", "no/such/dir/lvsctl.db"])
    func readOnlyCommandsNeverCreateAStore(at relative: String) throws {
        let cli = try CLIRunner(fakeKernel: true)
        let path = cli.directory.appendingPathComponent("typo").appendingPathComponent(relative).path
        try FileManager.default.createDirectory(
            at: cli.directory.appendingPathComponent("typo"), withIntermediateDirectories: true)
        let needsStore: [[String]] = [["history"], ["revisions", "demo"], ["drift"]]
        let worksWithout: [[String]] = [["status"], ["plan", "-f", demo]]
        for command in needsStore {
            let r = try cli.run(command + ["--db", path])
            #expect(r.status == 1, "\(command): \(r)")
            #expect(r.stderr.contains(path) && r.stderr.contains("check --db / LVSCTL_DB"), "\(command): \(r.stderr)")
        }
        for command in worksWithout {
            let r = try cli.run(command + ["--db", path])
            #expect(r.status == 0 || (command.first == "plan" && r.status == 2), "\(command): \(r)")
        }
        let left = try FileManager.default.subpathsOfDirectory(atPath: cli.directory.appendingPathComponent("typo").path)
        #expect(left.isEmpty, "created: \(left)")
    }

    /// A command that writes at a `--db` in a missing directory: refused with a hint, and the
    /// directory is not created (only the default path's is).
    @Test func applyNeverCreatesMissingDirectories() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let path = cli.directory.appendingPathComponent("no/such/lvsctl.db").path
        let r = try cli.run(["apply", "-f", demo, "--db", path])
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.contains("does not exist") && r.stderr.contains("check --db / LVSCTL_DB"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("no").path))
        #expect(try kernelState(cli).services.isEmpty, "nothing applied")
    }

    /// A store deleted (or a different `--db`) after an apply: the services lvsctl made are
    /// foreign to the new store, and `plan` and `apply` say why and how to take them over.
    @Test func aNewStoreFacingAnEarlierStoresServicesSaysSo() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let first = try cli.run(["apply", "-f", demo])
        try #require(first.status == 0, "\(first)")
        let other = cli.directory.appendingPathComponent("other.db").path
        for command in [["plan", "-f", demo], ["apply", "-f", demo]] {
            let r = try cli.run(command + ["--db", other])
            #expect(r.status == 1, "\(command): \(r)")
            #expect(r.stderr.contains("the store \(other) has no record of any apply"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("lvsctl apply --take-over") && r.stderr.contains("manifest demo"), "\(command): \(r.stderr)")
        }
        // The first store still knows them: no note there.
        let plan = try cli.run(["plan", "-f", demo])
        #expect(plan.status == 0 && !plan.stderr.contains("no record"), "\(plan)")
    }

    /// `services` NAT services with 10 real servers each.
    static func bulkManifest(services: Int) -> String {
        var svcs: [String] = []
        for i in 0..<services {
            let rs = (1...10).map { #"{ "address": "192.0.2.\#($0)", "port": 8080 }"# }.joined(separator: ", ")
            svcs.append(#"{ "name": "s\#(i)", "protocol": "tcp", "address": "10.20.\#(i / 250).\#(i % 250 + 1)", "port": 80, "forwarding": "nat", "realServers": [\#(rs)] }"#)
        }
        return #"{ "apiVersion": "lvsctl/v1", "name": "bulk", "services": [\#(svcs.joined(separator: ",\n"))] }"#
    }

    /// Issue 17's disk-full scenario: the store on a 1.5 MB tmpfs, an apply of 500 × 10. The apply
    /// fails with a clear error before any kernel write (no run left `running`, no ownership
    /// lost); once there is room, the same apply converges and `drift` is clean.
    @Test func aFullStoreStopsAnApplyBeforeTheKernelIsTouched() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let mnt = cli.directory.appendingPathComponent("small").path
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        try mount(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", mnt])
        defer { try? mount(["umount", mnt]) }
        let db = mnt + "/lvsctl.db"
        let manifest = try cli.write("bulk.json", Self.bulkManifest(services: 500))

        let full = try cli.run(["apply", "-f", manifest, "--db", db])
        #expect(full.status == 1, "\(full)")
        #expect(full.stderr.contains("file system is full") && full.stderr.contains(db), "\(full.stderr)")
        #expect(try kernelState(cli).services.isEmpty, "nothing reached the kernel")
        let history = try cli.run(["history", "--db", db, "--output", "json"])
        #expect(history.status == 0 && !history.stderr.contains("interrupted"), "\(history)")

        try mount(["mount", "-o", "remount,size=64m", mnt])
        let again = try cli.run(["apply", "-f", manifest, "--db", db])
        #expect(again.status == 0, "\(again)")
        #expect(try kernelState(cli).services.count == 500)
        let drift = try cli.run(["drift", "--db", db])
        #expect(drift.status == 0, "\(drift)")
        let all = try cli.run(["history", "--db", db, "--output", "json", "--limit", "100000"])
        let entries = (try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [String: Any])?["entries"] as? [Any]
        #expect(entries?.count == 500 * 11)
    }
}
