import Foundation
import LVSManifest
import LVSModel
import LVSPlan
import LVSTestSupport
import Testing

@testable import LVSCommands

/// End-to-end runs of the real `lvsctl` binary on any host, against the file-backed fake kernel
/// (`LVSCTL_FAKE_KERNEL`). The same scenarios run against the real kernel in the lab guest
/// (LVSRealKernelTests/CLIScenarioTests).
@Suite struct CLITests {
    let demo = CLIRunner.manifest("demo.json")

    func kernelState(_ cli: CLIRunner) throws -> LiveTable {
        let data = try Data(contentsOf: cli.directory.appendingPathComponent("kernel.json"))
        return try JSONDecoder().decode(LiveTable.self, from: data)
    }

    func setKernelState(_ cli: CLIRunner, _ table: LiveTable) throws {
        try JSONEncoder().encode(table).write(to: cli.directory.appendingPathComponent("kernel.json"))
    }

    func auditCount(_ cli: CLIRunner) throws -> Int {
        let r = try cli.run(["history", "--output", "json", "--limit", "1000"])
        #expect(r.status == 0, "\(r)")
        let document = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return (document?["entries"] as? [Any])?.count ?? -1
    }

    @Test func applyIsIdempotentAndMinimal() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let first = try cli.run(["apply", "-f", demo, "-m", "first"])
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("Applied 3 changes as demo revision 1"))
        #expect(try auditCount(cli) == 3)
        let live = try kernelState(cli)
        #expect(live.services.count == 1)
        #expect(live.services.first?.realServers.map(\.server.weight) == [3, 1])

        let again = try cli.run(["apply", "-f", demo])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("No changes"))
        #expect(try auditCount(cli) == 3)

        let text = try String(contentsOfFile: demo, encoding: .utf8).replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": 7")
        #expect(text.contains("\"weight\": 7"), "demo.json should spell the weight as \"weight\": 3")
        let edited = try cli.write("edited.json", text)
        let third = try cli.run(["apply", "-f", edited])
        #expect(third.status == 0, "\(third)")
        #expect(third.stdout.contains("weight 3 → 7"))
        #expect(try auditCount(cli) == 4)
        #expect(try kernelState(cli).services.first?.realServers.map(\.server.weight) == [7, 1])
        let revisions = try cli.run(["revisions", "demo"])
        #expect(revisions.stdout.contains("demo@2"))
        #expect(!revisions.stdout.contains("demo@3"))
    }

    @Test func syntaxErrorNamesTheSpotAndChangesNothing() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let before = try kernelState(cli)
        let bad = try cli.write("bad.json", "{\n  \"apiVersion\": \"lvsctl/v1\",\n  \"name\": \"demo\"\n  \"services\": []\n}\n")
        let r = try cli.run(["apply", "-f", bad])
        #expect(r.status != 0)
        #expect(r.stderr.contains("bad.json:4:3"), "\(r)")
        #expect(try kernelState(cli) == before)
        #expect(try cli.run(["revisions", "demo"]).stdout.components(separatedBy: "demo@").count == 2)
    }

    @Test func semanticErrorsNameTheJSONPath() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let text = try String(contentsOfFile: demo, encoding: .utf8).replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": 70000")
        let bad = try cli.write("weight.json", text)
        let r = try cli.run(["validate", bad])
        #expect(r.status == 1)
        #expect(r.stderr.contains("services[0].realServers[0].weight"), "\(r)")
        let ok = try cli.run(["validate", demo])
        #expect(ok.status == 0, "\(ok)")
        #expect(!FileManager.default.fileExists(atPath: cli.databasePath), "validate must not create a database")
    }

    @Test func planExitCodesAndSavedPlans() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let pending = try cli.run(["plan", "-f", demo, "--detailed-exitcode", "--out", cli.directory.appendingPathComponent("p.json").path])
        #expect(pending.status == 2, "\(pending)")
        let applied = try cli.run(["apply", "--plan", cli.directory.appendingPathComponent("p.json").path])
        #expect(applied.status == 0, "\(applied)")
        #expect(try kernelState(cli).services.first?.realServers.count == 2)
        let clean = try cli.run(["plan", "-f", demo, "--detailed-exitcode"])
        #expect(clean.status == 0, "\(clean)")

        // A plan saved before an out-of-band change is refused.
        let text = try String(contentsOfFile: demo, encoding: .utf8).replacingOccurrences(of: "\"weight\": 1", with: "\"weight\": 2")
        let edited = try cli.write("edited.json", text)
        #expect(try cli.run(["plan", "-f", edited, "--out", cli.directory.appendingPathComponent("p2.json").path]).status == 0)
        var live = try kernelState(cli)
        live.services[0].realServers[0].server.weight = 9
        try setKernelState(cli, live)
        let stale = try cli.run(["apply", "--plan", cli.directory.appendingPathComponent("p2.json").path])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("stale"), "\(stale)")
        #expect(try kernelState(cli) == live)
    }

    /// A saved plan applies what it prints: a file edited after `plan --out` (weight 60000 where
    /// the reason still says 3 → 5) is refused by its digest, and one whose digest was recomputed
    /// is refused because its reason no longer matches its values. The kernel is not touched.
    @Test func aTamperedSavedPlanIsRefused() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let text = try String(contentsOfFile: demo, encoding: .utf8).replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": 5")
        let path = cli.directory.appendingPathComponent("p.json").path
        #expect(try cli.run(["plan", "-f", try cli.write("w5.json", text), "--out", path]).status == 0)
        let saved = try String(contentsOfFile: path, encoding: .utf8)
        #expect(saved.contains("\"weight\" : 5"), "\(saved)")
        let before = try kernelState(cli)

        let tampered = saved.replacingOccurrences(of: "\"weight\" : 5", with: "\"weight\" : 60000")
        try Data(tampered.utf8).write(to: URL(fileURLWithPath: path))
        let refused = try cli.run(["apply", "--plan", path])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("does not match its digest"), "\(refused)")
        #expect(try kernelState(cli) == before)

        // The digest recomputed to match: the reason (weight 3 → 5) and the value (60000) disagree.
        let redigested = try cli.write("redigested.json", try Self.redigest(tampered))
        let stillRefused = try cli.run(["apply", "--plan", redigested])
        #expect(stillRefused.status == 1, "\(stillRefused)")
        #expect(stillRefused.stderr.contains("its reason says weight 3 → 5 but it writes weight 3 → 60000"), "\(stillRefused)")
        #expect(try kernelState(cli) == before)

        // The untouched file applies, printing what it writes first.
        try Data(saved.utf8).write(to: URL(fileURLWithPath: path))
        let applied = try cli.run(["apply", "--plan", path])
        #expect(applied.status == 0, "\(applied)")
        #expect(applied.stdout.contains("~ update real server 10.10.0.11:80 of tcp/10.10.0.100:80: weight 3 → 5"), "\(applied)")
        #expect(try kernelState(cli).services[0].realServers[0].server.weight == 5)
    }

    /// The text with its digest replaced by the one `SavedPlan.digest` computes for its content.
    static func redigest(_ text: String) throws -> String {
        struct Body: Decodable {
            var digest: String
            var plan: Plan
            var manifests: [SavedPlan.ManifestDocument]
        }
        let body = try JSONDecoder().decode(Body.self, from: Data(text.utf8))
        return text.replacingOccurrences(of: body.digest, with: try SavedPlan.digest(plan: body.plan, manifests: body.manifests))
    }

    /// Every command that takes `-o json` prints one JSON document with its kind and version.
    @Test func everyCommandPrintsJSON() throws {
        let cli = try CLIRunner(fakeKernel: true)
        func document(_ args: [String]) throws -> [String: Any] {
            let r = try cli.run(args + ["-o", "json"])
            #expect(r.status == 0, "\(args): \(r)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(args): \(r.stdout)")
            #expect(json["formatVersion"] is Int, "\(args)")
            return json
        }
        #expect(try document(["apply", "-f", demo])["kind"] as? String == "apply")
        let text = try String(contentsOfFile: demo, encoding: .utf8).replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": 4")
        #expect(try document(["apply", "-f", try cli.write("w4.json", text)])["kind"] as? String == "apply")
        #expect(try document(["plan", "-f", demo])["kind"] as? String == "plan")
        #expect(try document(["validate", demo])["kind"] as? String == "validation")
        #expect(try document(["status"])["kind"] as? String == "status")
        #expect(try document(["revisions"])["kind"] as? String == "revisions")
        #expect(try document(["history"])["kind"] as? String == "history")
        let rollback = try document(["rollback", "demo", "--to", "1"])
        #expect(rollback["kind"] as? String == "rollback" && rollback["applied"] as? Int == 1, "\(rollback)")
        let drain = try document(["drain", "web", "10.10.0.11:80"])
        #expect(drain["kind"] as? String == "maintenance" && drain["action"] as? String == "drain", "\(drain)")
        #expect(drain["weightChanges"] as? Int == 1, "\(drain)")
        let undrain = try document(["undrain", "web", "10.10.0.11:80"])
        #expect(undrain["action"] as? String == "undrain" && undrain["weightChanges"] as? Int == 1, "\(undrain)")
        #expect(try document(["drift"])["kind"] as? String == "drift")
        var live = try kernelState(cli)
        live.services.append(LiveService(service: VirtualService(id: .address(.udp, IPAddress("10.10.0.53")!, port: 53), scheduler: .rr)))
        try setKernelState(cli, live)
        let adopt = try document(["adopt", "udp/10.10.0.53:53", "--manifest", "dns"])
        #expect(adopt["kind"] as? String == "adopt" && adopt["adopted"] as? [String] == ["udp/10.10.0.53:53"], "\(adopt)")
        // History's before and after are objects, not JSON in strings.
        let entries = try #require(try document(["history"])["entries"] as? [[String: Any]])
        #expect(entries.contains { $0["after"] is [String: Any] }, "\(entries)")
        #expect(!entries.contains { $0["after"] is String || $0["before"] is String }, "\(entries)")
        // A time from the output is a time the input takes (RFC 3339, milliseconds and all).
        let at = try #require(entries.last?["at"] as? String)
        let since = try #require(try document(["history", "--since", at])["entries"] as? [[String: Any]])
        #expect(since.count == entries.count, "\(at)")
    }

    /// `-o` is the output format everywhere: import writes its manifest with `--out`, and
    /// `import … -o json` is an error, not a file named json.
    @Test func importWritesWithOutNotDashO() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let dump = try cli.write("dump.txt", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 1\n")
        let out = cli.directory.appendingPathComponent("m.json").path
        let written = try cli.run(["import", "ipvsadm", dump, "--out", out])
        #expect(written.status == 0, "\(written)")
        #expect(FileManager.default.fileExists(atPath: out))
        let wrong = try cli.run(["import", "ipvsadm", dump, "-o", "json"])
        #expect(wrong.status != 0, "\(wrong)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("json").path))
        #expect(!FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/json"))
    }

    @Test func rollbackToTheFirstRevision() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let original = try kernelState(cli)
        for w in [5, 6] {
            let text = try String(contentsOfFile: demo, encoding: .utf8).replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": \(w)")
            #expect(try cli.run(["apply", "-f", try cli.write("w\(w).json", text)]).status == 0)
        }
        let r = try cli.run(["rollback", "demo", "--to", "1"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("as revision 4"))
        #expect(try kernelState(cli).table == original.table)
        #expect(try cli.run(["show", "demo@4"]).stdout.contains("rollback to revision 1"))
    }

    @Test func guardsRefuseMassRemovalAndDeletion() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        // Keep only the first real server: 1 of 2 removed is 50%, refused with --max-removal 40.
        let text = removeRealServer("10.10.0.12", from: try String(contentsOfFile: demo, encoding: .utf8))
        #expect(!text.contains("10.10.0.12"))
        let oneLess = try cli.write("one.json", text)
        let refused = try cli.run(["apply", "-f", oneLess, "--max-removal", "40"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stdout.contains("--allow-removal"), "\(refused)")
        #expect(try kernelState(cli).services.first?.realServers.count == 2)
        let allowed = try cli.run(["apply", "-f", oneLess, "--max-removal", "40", "--allow-removal"])
        #expect(allowed.status == 0, "\(allowed)")
        // No connections to wait for: deleted by this apply (a drain would only wait).
        let rs = try kernelState(cli).services.first?.realServers.first { $0.server.id.address == IPAddress("10.10.0.12") }
        #expect(rs == nil)
        #expect(allowed.stdout.contains("no connections: deleted without draining"), "\(allowed)")
    }

    @Test func driftIsReportedAttributedAndFixed() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        var live = try kernelState(cli)
        live.services[0].realServers[1].server.weight = 42
        let foreign = VirtualService(id: .address(.udp, IPAddress("10.10.0.200")!, port: 53), scheduler: .rr)
        live.services.append(LiveService(service: foreign))
        try setKernelState(cli, LiveTable(services: live.services, timeouts: live.timeouts, syncDaemons: live.syncDaemons))
        let drift = try cli.run(["drift", "--output", "json"])
        #expect(drift.status == 2, "\(drift)")
        let json = try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any]
        let items = json?["drift"] as? [[String: Any]]
        let item = items?.first
        #expect(item?["field"] as? String == "weight")
        #expect(item?["expected"] as? String == "1")
        #expect(item?["live"] as? String == "42")
        #expect(items?.first?["lastSetByLvsctl"] != nil)
        #expect(item?["realServer"] as? String == "10.10.0.12:80")
        #expect(item?["service"] as? String == "tcp/10.10.0.100:80")
        #expect((json?["foreign"] as? [String]) == ["udp/10.10.0.200:53"])
        let fixed = try cli.run(["drift", "--fix"])
        #expect(fixed.status == 0, "\(fixed)")
        #expect(try cli.run(["drift"]).status == 0)
        let after = try kernelState(cli)
        #expect(after[foreign.id] != nil, "a foreign service is never deleted")
        #expect(after.services.first?.realServers.map(\.server.weight) == [3, 1])
    }

    @Test func importsWriteValidManifests() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let dump = "-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 3\n"
        let r = try cli.run(["import", "ipvsadm", "-", "--name", "imported"], input: dump)
        #expect(r.status == 0, "\(r)")
        let path = try cli.write("imported.json", r.stdout)
        #expect(try cli.run(["validate", path]).status == 0)
        #expect(try cli.run(["apply", "-f", path]).status == 0)
        #expect(try kernelState(cli).services.first?.service.scheduler == .wrr)
    }
}

/// Drops the one-line JSON object of the real server with `address` from a manifest, fixing the
/// comma of the line before it.
func removeRealServer(_ address: String, from text: String) -> String {
    var lines = text.components(separatedBy: "\n")
    guard let i = lines.firstIndex(where: { $0.contains("\"address\": \"\(address)\"") }) else { return text }
    let removed = lines.remove(at: i)
    if !removed.trimmingCharacters(in: .whitespaces).hasSuffix(","), i > 0, lines[i - 1].hasSuffix(",") {
        lines[i - 1].removeLast()
    }
    return lines.joined(separator: "\n")
}

/// Store-level behaviour seen from the command line: the writer lock, ownership across manifests,
/// standard input, adoption of foreign services.
@Suite struct CLIStoreTests {
    let demo = CLIRunner.manifest("demo.json")

    @Test func aSecondWriterWaitsThenFailsClearly() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        // flock(1) takes the same flock(2) lock another lvsctl would hold.
        let holder = try cli.exec(["sh", "-c", "flock \(cli.databasePath).lock sleep 6 >/dev/null 2>&1 & echo $!"])
        Thread.sleep(forTimeInterval: 0.5)
        let start = Date()
        let r = try cli.run(["apply", "-f", demo, "--lock-timeout", "1"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("another lvsctl is applying"), "\(r)")
        #expect(r.stderr.contains("--lock-timeout"), "\(r)")
        #expect(Date().timeIntervalSince(start) >= 1)
        _ = try cli.exec(["kill", holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
    }

    /// The manifest is parsed on a thread of its own and its canonical form written while the
    /// plan is made: the revision must still hold exactly the canonical form and its hash.
    @Test func theRevisionIsTheCanonicalFormAndItsHash() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let expected = Manifest.load(path: demo)
        #expect(!expected.canonicalJSON.isEmpty)
        let show = try cli.run(["show", "demo@1"])
        #expect(show.status == 0, "\(show)")
        #expect(show.stdout.contains("# sha256 \(expected.contentHash) from \(demo)\n\(expected.canonicalJSON)"), "\(show)")
        #expect(try cli.run(["show", "demo@1", "--output", "json"]).stdout == expected.canonicalJSON + "\n")
    }

    /// A bad manifest is the error reported, not the writer lock it would have waited for.
    @Test func aBadManifestIsReportedRatherThanABusyLock() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let holder = try cli.exec(["sh", "-c", "flock \(cli.databasePath).lock sleep 6 >/dev/null 2>&1 & echo $!"])
        defer { _ = try? cli.exec(["kill", holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)]) }
        Thread.sleep(forTimeInterval: 0.5)
        let text = try String(contentsOfFile: demo, encoding: .utf8).replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": -3")
        let r = try cli.run(["apply", "-f", try cli.write("bad.json", text), "--lock-timeout", "1"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("bad.json") && r.stderr.contains("weight"), "\(r)")
        #expect(r.stderr.contains("nothing was applied"), "\(r)")
        #expect(!r.stderr.contains("another lvsctl is applying"), "\(r)")
    }

    @Test func aServiceClaimedByTwoManifestsIsAnErrorNamingBoth() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let text = try String(contentsOfFile: demo, encoding: .utf8)
            .replacingOccurrences(of: "\"name\": \"demo\"", with: "\"name\": \"other\"")
        let r = try cli.run(["apply", "-f", try cli.write("other.json", text)])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("demo") && r.stderr.contains("other"), "\(r)")
        #expect(try cli.run(["revisions", "other"]).status == 1, "nothing stored for the refused manifest")
    }

    @Test func manifestsArriveOnStandardInput() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let text = try String(contentsOfFile: demo, encoding: .utf8)
        let r = try cli.run(["apply", "-f", "-", "-m", "from CI"], input: text)
        #expect(r.status == 0, "\(r)")
        let show = try cli.run(["show", "demo@1"])
        #expect(show.stdout.contains("from CI"), "\(show)")
        #expect(try cli.run(["plan", "-f", "-", "--detailed-exitcode"], input: text).status == 0)
    }

    @Test func adoptTakesOverAForeignServiceWithoutTouchingTheKernel() throws {
        let cli = try CLIRunner(fakeKernel: true)
        #expect(try cli.run(["apply", "-f", demo]).status == 0)
        let kernelFile = cli.directory.appendingPathComponent("kernel.json")
        var live = try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: kernelFile))
        let foreign = VirtualService(id: .address(.udp, IPAddress("10.10.0.53")!, port: 53), scheduler: .rr)
        live.services.append(LiveService(
            service: foreign,
            realServers: [LiveRealServer(server: RealServer(id: .init(address: IPAddress("10.10.0.21")!, port: 53), forwarding: .masquerade))]))
        live = LiveTable(services: live.services, timeouts: live.timeouts, syncDaemons: live.syncDaemons)
        try JSONEncoder().encode(live).write(to: kernelFile)
        #expect(try cli.run(["drift", "--output", "json"]).stdout.contains("udp/10.10.0.53:53"))

        let out = cli.directory.appendingPathComponent("dns.json").path
        let r = try cli.run(["adopt", "udp/10.10.0.53:53", "--manifest", "dns", "--out", out])
        #expect(r.status == 0, "\(r)")
        #expect(try cli.run(["validate", out]).status == 0)
        let after = try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: kernelFile))
        #expect(after == live, "adopting changes nothing in the kernel")
        // Now owned and clean: no drift, and applying the written manifest changes nothing.
        #expect(try cli.run(["drift"]).status == 0)
        let apply = try cli.run(["apply", "-f", out])
        #expect(apply.stdout.contains("No changes"), "\(apply)")
    }
}
