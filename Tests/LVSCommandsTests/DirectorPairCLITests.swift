import Foundation
import LVSModel
import LVSTestSupport
import Testing

/// The rendered keepalived config through the real `lvsctl` binary and the file-backed fake
/// kernel: the plan line, the write, one audit row, an unchanged render planning nothing, the
/// refusals before anything is written (keepalived not running, unknown node, missing
/// interface), drift on a hand edit and `drift --fix`, a saved plan and its staleness. The
/// interfaces are this host's (one that is not `lo`: keepalived refuses a loopback interface);
/// keepalived's config test is the real one. Reloading a running keepalived is the guest's
/// (`DirectorPairTests`).
@Suite struct DirectorPairCLITests {
    /// An interface of this host keepalived accepts.
    static func interface() throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted()
        return try #require(names.first { $0 != "lo" && $0.utf8.count <= 15 }, "no network interface but lo on this host: \(names)")
    }

    static func manifest(interface: String, d1Priority: Int = 150) -> String {
        """
        {"apiVersion": "lvsctl/v1", "name": "pair",
         "services": [{"name": "web", "protocol": "tcp", "address": "10.79.0.100", "port": 80,
                       "realServers": [{"address": "10.79.0.11"}]}],
         "vrrp": {"instances": [{"name": "VI_1", "interface": "\(interface)", "virtualRouterId": 71,
                                 "addresses": ["10.79.0.100/24"], "priority": {"d1": \(d1Priority), "d2": 100}}]}}
        """
    }

    struct Setup {
        let cli: CLIRunner
        let config: String
        let director: [String]
        var kernel: String { cli.directory.appendingPathComponent("kernel.json").path }

        init() throws {
            cli = try CLIRunner(fakeKernel: true)
            let dir = cli.directory.path
            config = "\(dir)/etc/keepalived.conf"
            director = ["--node", "d1", "--run-dir", "\(dir)/run", "--keepalived-config", config, "--keepalived-pid-file", "\(dir)/keepalived.pid"]
        }

        func run(_ arguments: [String]) throws -> CLIRunner.Result { try cli.run(arguments + director) }
        func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    }

    @Test func planApplyAuditDrift() throws {
        let s = try Setup()
        let iface = try Self.interface()
        let manifest = try s.cli.write("pair.json", Self.manifest(interface: iface))

        let plan = try s.run(["plan", "-f", manifest])
        #expect(plan.status == 0, "\(plan)")
        #expect(plan.stdout.contains("+ write keepalived config \(s.config): no such file"), "\(plan)")
        #expect(plan.stdout.contains("(2 kernel writes, 1 file)"), "\(plan)")

        // keepalived is not running: refused, nothing written, no revision.
        let refused = try s.run(["apply", "-f", manifest])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("keepalived is not running: no pid file"), "\(refused)")
        #expect(s.text(s.config) == nil)
        #expect(s.text(s.kernel).map { !$0.contains("10.79.0.100") } ?? true, "IPVS untouched")
        #expect(try s.cli.run(["revisions"]).stdout.contains("pair") == false)

        // Bootstrap: the file is written (its directory created), one audit row.
        let applied = try s.run(["apply", "-f", manifest, "--no-reload"])
        #expect(applied.status == 0, "\(applied)")
        let text = try #require(s.text(s.config))
        #expect(text.contains("priority 150") && text.contains("interface \(iface)") && !text.contains("virtual_server"))
        #expect(text.contains("vrrp_notify_fifo \(s.cli.directory.path)/run/vrrp.fifo"))
        let history = try s.cli.run(["history"]).stdout
        #expect(history.split(separator: "\n").filter { $0.contains("create-keepalived-config") }.count == 1, "\(history)")
        #expect(try s.run(["plan", "-f", manifest, "--detailed-exitcode"]).status == 0, "an unchanged render plans nothing")
        #expect(try s.run(["drift"]).status == 0)

        // A priority change: exactly one change, to the config.
        let changed = try s.cli.write("pair2.json", Self.manifest(interface: iface, d1Priority: 140))
        let plan2 = try s.run(["plan", "-f", changed, "--detailed-exitcode"])
        #expect(plan2.status == 2)
        #expect(plan2.stdout.contains("~ rewrite keepalived config \(s.config): vrrp_instance VI_1 priority 150 → 140"), "\(plan2)")
        #expect(plan2.stdout.contains("Plan: 0 to add, 1 to change, 0 to remove (0 kernel writes, 1 file)"), "\(plan2)")

        // A hand edit is drift; --fix rewrites the file.
        try text.replacingOccurrences(of: "priority 150", with: "priority 90").write(toFile: s.config, atomically: true, encoding: .utf8)
        let drift = try s.run(["drift"])
        #expect(drift.status == 2, "\(drift)")
        #expect(drift.stdout.contains("keepalivedConfig \(s.config): vrrp_instance VI_1 priority: expected 150, live 90"), "\(drift)")
        let json = try s.run(["drift", "-o", "json"])
        #expect(json.stdout.contains("keepalivedConfig"), "\(json)")
        #expect(try s.run(["drift", "--fix", "--no-reload"]).status == 0)
        #expect(s.text(s.config) == text)
        #expect(try s.run(["drift"]).status == 0)
        try FileManager.default.removeItem(atPath: s.config)
        #expect(try s.run(["drift"]).stdout.contains("missing keepalivedConfig \(s.config)"))
        #expect(try s.run(["drift", "--fix", "--no-reload"]).status == 0)
        #expect(s.text(s.config) == text)
    }

    @Test func savedPlanCoversTheFile() throws {
        let s = try Setup()
        let iface = try Self.interface()
        let manifest = try s.cli.write("pair.json", Self.manifest(interface: iface))
        #expect(try s.run(["apply", "-f", manifest, "--no-reload"]).status == 0)
        let before = try #require(s.text(s.config))
        let changed = try s.cli.write("pair2.json", Self.manifest(interface: iface, d1Priority: 140))
        let saved = s.cli.directory.appendingPathComponent("plan.json").path
        #expect(try s.run(["plan", "-f", changed, "--out", saved]).status == 0)
        let planText = try #require(s.text(saved))
        #expect(planText.contains("updateKeepalivedConfig") && planText.contains("priority 140"))

        // The file changed since the plan: refused.
        try (before + "# edited\n").write(toFile: s.config, atomically: true, encoding: .utf8)
        let stale = try s.run(["apply", "--plan", saved, "--no-reload"])
        #expect(stale.status == 1 && stale.stderr.contains("changed since the plan was made"), "\(stale)")
        try before.write(toFile: s.config, atomically: true, encoding: .utf8)
        let applied = try s.run(["apply", "--plan", saved, "--no-reload"])
        #expect(applied.status == 0, "\(applied)")
        #expect(s.text(s.config)?.contains("priority 140") == true)
    }

    @Test func badInputRefusedBeforeAnyWrite() throws {
        let s = try Setup()
        let iface = try Self.interface()
        let manifest = try s.cli.write("pair.json", Self.manifest(interface: iface))

        let node = try s.cli.run(["apply", "-f", manifest, "--no-reload", "--node", "dx", "--keepalived-config", s.config])
        #expect(node.status == 1, "\(node)")
        #expect(node.stderr.contains("\(manifest): vrrp.instances[0].priority: node 'dx' (from --node) has no priority; the manifest's nodes are d1, d2"), "\(node)")

        let missing = try s.cli.write("bad.json", Self.manifest(interface: "nosuch0"))
        for command in ["plan", "apply"] {
            let r = try s.run([command, "-f", missing] + (command == "apply" ? ["--no-reload"] : []))
            #expect(r.status == 1, "\(command): \(r)")
            #expect(r.stderr.contains("\(missing): vrrp.instances[0].interface: interface 'nosuch0' does not exist in this network namespace"), "\(command): \(r)")
        }
        #expect(s.text(s.config) == nil)
        #expect(s.text(s.kernel).map { !$0.contains("10.79.0.100") } ?? true, "IPVS untouched")
    }
}
