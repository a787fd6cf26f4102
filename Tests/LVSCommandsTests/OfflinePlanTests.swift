import Foundation
import LVSModel
import LVSStore
import LVSTestSupport
import Testing

/// `lvsctl plan --against STATE` (a state captured by `lvsctl export -o state`) gives the plan
/// `lvsctl plan` gives on the director: the same changes, reasons, foreign services, drains and
/// refusals, the same exit status and messages. Run end to end with the file-backed fake kernel,
/// on a director with every kind of record a plan reads: ownership by two manifests, a drain in
/// progress, a maintenance flag, a failed health check and a foreign service.
@Suite struct OfflinePlanTests {
    static let manifests: [String] = {
        let dir = CLIRunner.packageRoot.appendingPathComponent("Manifests")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".schema.json") }.sorted()
    }()

    func kernel(_ cli: CLIRunner) throws -> LiveTable {
        try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: cli.directory.appendingPathComponent("kernel.json")))
    }

    func setKernel(_ cli: CLIRunner, _ table: LiveTable) throws {
        try JSONEncoder().encode(table).write(to: cli.directory.appendingPathComponent("kernel.json"))
    }

    /// A director with records of every kind.
    func busyDirector() throws -> CLIRunner {
        let cli = try CLIRunner(fakeKernel: true)
        let seed = CLIRunner.manifest("seed-dr-director.json")
        var r = try cli.run(["apply", "-f", seed])
        #expect(r.status == 0, "\(r)")
        r = try cli.run(["apply", "-f", CLIRunner.manifest("demo.json")])
        #expect(r.status == 0, "\(r)")
        // A real server removed while it has connections: a drain in progress.
        var table = try kernel(cli)
        let web = try #require(table.services.firstIndex { $0.service.id.description == "tcp/10.10.0.100:80" })
        let last = table.services[web].realServers.count - 1
        table.services[web].realServers[last].activeConnections = 7
        // A service nobody declared: foreign.
        table.services.append(LiveService(
            service: VirtualService(id: VirtualService.ID("tcp/192.0.2.9:8080")!, scheduler: .rr),
            realServers: [LiveRealServer(server: RealServer(id: RealServer.ID("192.0.2.10:8080")!, forwarding: .directRoute, weight: 1))]))
        try setKernel(cli, LiveTable(services: table.services, timeouts: table.timeouts, syncDaemons: table.syncDaemons, sysctls: table.sysctls))
        let demo = try String(contentsOfFile: CLIRunner.manifest("demo.json"), encoding: .utf8)
        let removed = demo.replacingOccurrences(
            of: #",\s*\{\s*"address": "10.10.0.12", "port": 80, "weight": 1 \}"#, with: "", options: .regularExpression)
        #expect(removed != demo, "demo.json lists 10.10.0.12:80 as expected by this test")
        r = try cli.run(["apply", "-f", try cli.write("demo-less.json", removed), "--allow-removal"])
        #expect(r.status == 0, "\(r)")
        // Maintenance on one of the seed's real servers, a failed health check on another.
        let seedTable = try kernel(cli).services.first { $0.service.id.description != "tcp/10.10.0.100:80" && $0.service.id.description != "tcp/192.0.2.9:8080" }
        let seedService = try #require(seedTable)
        #expect(seedService.realServers.count >= 2)
        r = try cli.run(["drain", seedService.service.id.description, seedService.realServers[0].server.id.description, "--no-apply", "-m", "disk swap"])
        #expect(r.status == 0, "\(r)")
        let store = try Store(path: cli.databasePath)
        try store.upsertHealth(HealthRecord(
            service: seedService.service.id, realServer: seedService.realServers[1].server.id, healthy: false, changedAt: Date()))
        return cli
    }

    /// The plan document without its time (the two plans are computed moments apart).
    func comparable(_ json: String) throws -> NSDictionary? {
        guard var object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
        object.removeValue(forKey: "computedAt")
        return object as NSDictionary
    }

    func expectSamePlan(_ cli: CLIRunner, manifest: String, state: String, extra: [String] = []) throws {
        let online = try cli.run(["plan", "-f", manifest, "-o", "json", "--detailed-exitcode"] + extra)
        // Offline: no database and no kernel at all.
        let ci = try CLIRunner(fakeKernel: false)
        ci.environment["LVSCTL_DB"] = ci.directory.appendingPathComponent("absent/none.db").path
        let offline = try ci.run(["plan", "-f", manifest, "-o", "json", "--detailed-exitcode", "--against", state] + extra)
        #expect(online.status == offline.status, "\(manifest): online \(online) offline \(offline)")
        #expect(online.stderr == offline.stderr, "\(manifest)")
        let a = try comparable(online.stdout)
        let b = try comparable(offline.stdout)
        #expect(a != nil && a == b, "\(manifest): online\n\(online.stdout)\noffline\n\(offline.stdout)")
        #expect(!FileManager.default.fileExists(atPath: ci.directory.appendingPathComponent("absent").path))
    }

    @Test func offlinePlanEqualsOnlineForEveryManifest() throws {
        let cli = try busyDirector()
        let state = cli.directory.appendingPathComponent("state.json").path
        let r = try cli.run(["export", "-o", "state", "--out", state])
        #expect(r.status == 0, "\(r)")
        let text = try String(contentsOfFile: state, encoding: .utf8)
        for key in ["\"kind\" : \"directorState\"", "\"drains\"", "\"maintenance\"", "\"health\"", "192.0.2.9"] {
            #expect(text.contains(key), "the state file holds \(key)")
        }
        #expect(Self.manifests.count >= 7)
        var pending = 0
        // A manifest with a vrrp section also plans this director's keepalived config file (#14),
        // which the state file does not capture yet: those are left out until it does (known gap).
        let withVRRP = try Self.manifests.filter {
            try String(contentsOfFile: CLIRunner.manifest($0), encoding: .utf8).contains("\"vrrp\"")
        }
        #expect(withVRRP.count <= 1, "only director-pair.json is left out: \(withVRRP)")
        for name in Self.manifests where !withVRRP.contains(name) {
            try expectSamePlan(cli, manifest: CLIRunner.manifest(name), state: state)
            let online = try cli.run(["plan", "-f", CLIRunner.manifest(name), "--detailed-exitcode"])
            if online.status == 2 { pending += 1 }
        }
        #expect(pending >= 3, "most manifests have changes pending against this director")
        // The demo manifest: drain cancelled, maintenance and health overlays in the same table.
        try expectSamePlan(cli, manifest: cli.directory.appendingPathComponent("demo-less.json").path, state: state)
        try expectSamePlan(cli, manifest: CLIRunner.manifest("demo.json"), state: state, extra: ["--max-removal", "0"])
    }

    /// A saved offline plan carries the captured table's fingerprint: `apply --plan` on the
    /// director applies it while the table is unchanged, and refuses it once the table moved.
    @Test func savedOfflinePlanAppliesOnTheDirector() throws {
        let cli = try busyDirector()
        let state = cli.directory.appendingPathComponent("state.json").path
        #expect(try cli.run(["export", "-o", "state", "--out", state]).status == 0)
        let edited = try String(contentsOfFile: CLIRunner.manifest("demo.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"weight\": 3", with: "\"weight\": 9")
        let manifest = try cli.write("demo9.json", edited)
        let saved = cli.directory.appendingPathComponent("plan.json").path
        let ci = try CLIRunner(fakeKernel: false)
        let p = try ci.run(["plan", "-f", manifest, "--against", state, "--out", saved])
        #expect(p.status == 0, "\(p)")
        #expect(p.stdout.contains("weight 3 → 9"), "\(p)")
        let applied = try cli.run(["apply", "--plan", saved])
        #expect(applied.status == 0, "\(applied)")
        #expect(try kernel(cli).services.first { $0.service.id.description == "tcp/10.10.0.100:80" }?.realServers.first?.server.weight == 9)
        // The table has moved on since the capture: the same saved plan is refused.
        let again = try cli.run(["apply", "--plan", saved])
        #expect(again.status == 1, "\(again)")
    }

    /// A generated table of 1,000 services (owned, edited, foreign, missing) planned both ways.
    @Test func offlinePlanEqualsOnlineForAThousandServices() throws {
        let cli = try CLIRunner(fakeKernel: true)
        func manifest(weightBump: Set<Int>, dropped: Set<Int>, count: Int) -> String {
            var services: [String] = []
            for i in 0..<count where !dropped.contains(i) {
                let vip = "10.\(100 + i / 250).\(i % 250).1"
                let w = weightBump.contains(i) ? 5 : 1
                services.append("""
                    {"name": "s\(i)", "protocol": "tcp", "address": "\(vip)", "port": 80, "scheduler": "wrr", "forwarding": "dr",
                     "realServers": [{"address": "10.200.\(i / 250).\(i % 250)", "port": 80, "weight": \(w)},
                                     {"address": "10.201.\(i / 250).\(i % 250)", "port": 80, "weight": 1}]}
                    """)
            }
            return "{\"apiVersion\": \"lvsctl/v1\", \"name\": \"big\", \"services\": [\n" + services.joined(separator: ",\n") + "\n]}\n"
        }
        let first = try cli.write("big.json", manifest(weightBump: [], dropped: [], count: 1000))
        let r = try cli.run(["apply", "-f", first, "--verify", "never"])
        #expect(r.status == 0, "\(r)")
        // Someone edits the kernel: weights changed behind lvsctl's back, a service deleted, foreign ones added.
        var table = try kernel(cli)
        #expect(table.services.count == 1000)
        for i in stride(from: 0, to: 1000, by: 97) { table.services[i].realServers[0].server.weight = 42 }
        table.services.remove(at: 500)
        for i in 0..<20 {
            table.services.append(LiveService(service: VirtualService(id: VirtualService.ID("udp/192.0.2.\(i + 1):53")!, scheduler: .rr)))
        }
        try setKernel(cli, LiveTable(services: table.services, timeouts: table.timeouts))
        let state = cli.directory.appendingPathComponent("state.json").path
        #expect(try cli.run(["export", "-o", "state", "--out", state]).status == 0)
        let second = try cli.write("big2.json", manifest(weightBump: Set(stride(from: 3, to: 1000, by: 31)), dropped: [7, 8], count: 1010))
        try expectSamePlan(cli, manifest: second, state: state, extra: ["--allow-delete"])
        try expectSamePlan(cli, manifest: first, state: state)
    }

    /// A state file is input like any other: wrong kind, version or keys are refused with the file
    /// and the way out.
    @Test func badStateFilesAreRefused() throws {
        let ci = try CLIRunner(fakeKernel: false)
        let demo = CLIRunner.manifest("demo.json")
        let cases: [(String, String)] = [
            ("{\"formatVersion\": 2, \"kind\": \"plan\"}", "not a director state"),
            ("{\"formatVersion\": 9, \"kind\": \"directorState\"}", "format version 9"),
            ("[1]", "not a JSON object"),
            ("{\"formatVersion\": 1, \"kind\": \"directorState\", \"surprise\": 1}", "surprise: unknown key"),
            ("{\"formatVersion\": 1, \"kind\": \"directorState\"}", "lvsctlVersion: missing"),
        ]
        for (i, (text, expected)) in cases.enumerated() {
            let path = try ci.write("state\(i).json", text)
            let r = try ci.run(["plan", "-f", demo, "--against", path])
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains(path) && r.stderr.contains(expected), "\(r)")
            #expect(r.stderr.contains("export -o state"), "\(r)")
        }
        let r = try ci.run(["plan", "-f", demo, "--against", "/nonexistent/state.json"])
        #expect(r.status == 1 && r.stderr.contains("/nonexistent/state.json"), "\(r)")
        let both = try ci.run(["plan", "-f", demo, "--against", "x.json", "--db", "y.db"])
        #expect(both.status == 64, "\(both)")
    }
}
