import LVSModel
import LVSPlan
import Testing

/// The rendered keepalived config in the plan: the one decision whether the file differs and
/// what changed (``ConfigFile/change(for:)``), as the planner, apply and drift see it.
struct ConfigFileCase: Sendable, CustomTestStringConvertible {
    var name: String
    var current: String?
    var desired: String
    /// `action: reason text`, or nil for no change.
    var expected: String?
    var testDescription: String { name }
}

private func config(priority: Int = 150, vrid: Int = 51, extra: String = "", second: Bool = false) -> String {
    var s = """
        # Rendered by lvsctl from manifest pair for node d1. Do not edit: lvsctl apply rewrites this file.

        global_defs {
            router_id d1
            vrrp_notify_fifo /run/lvsctl/vrrp.fifo
            max_auto_priority
        }

        vrrp_instance VI_1 {
            state BACKUP
            interface eth0
            virtual_router_id \(vrid)
            priority \(priority)
            advert_int 1
        \(extra)    virtual_ipaddress {
                10.10.0.100/24 dev eth0
            }
        }

        """
    if second {
        s += """

            vrrp_instance VI_2 {
                state BACKUP
                interface eth0
                virtual_router_id 52
                priority 150
                advert_int 1
                virtual_ipaddress {
                    10.10.0.101/24 dev eth0
                }
            }

            """
    }
    return s
}

extension ConfigFileCase {
    static let all: [ConfigFileCase] = [
        ConfigFileCase(name: "unchanged render: nothing", current: config(), desired: config(), expected: nil),
        ConfigFileCase(
            name: "no file: written", current: nil, desired: config(),
            expected: "createKeepalivedConfig: no such file: rendered from the manifest; keepalived is reloaded"),
        ConfigFileCase(
            name: "a priority change is exactly that", current: config(priority: 150), desired: config(priority: 120),
            expected: "updateKeepalivedConfig: vrrp_instance VI_1 priority 150 → 120; keepalived is reloaded"),
        ConfigFileCase(
            name: "two values of one instance", current: config(priority: 150, vrid: 51), desired: config(priority: 100, vrid: 61),
            expected: "updateKeepalivedConfig: vrrp_instance VI_1 virtual_router_id 51 → 61; vrrp_instance VI_1 priority 150 → 100; keepalived is reloaded"),
        ConfigFileCase(
            name: "a new instance is one difference, not one per line", current: config(), desired: config(second: true),
            expected: "updateKeepalivedConfig: vrrp_instance VI_2: added; keepalived is reloaded"),
        ConfigFileCase(
            name: "a removed instance", current: config(second: true), desired: config(),
            expected: "updateKeepalivedConfig: vrrp_instance VI_2: removed; keepalived is reloaded"),
        ConfigFileCase(
            name: "a hand-added line", current: config(extra: "    nopreempt\n"), desired: config(),
            expected: "updateKeepalivedConfig: vrrp_instance VI_1: - nopreempt; keepalived is reloaded"),
        ConfigFileCase(
            name: "a nested block edited", current: config().replacingAll("10.10.0.100/24", "10.10.0.200/24"), desired: config(),
            expected: "updateKeepalivedConfig: vrrp_instance VI_1 > virtual_ipaddress: + 10.10.0.100/24 dev eth0; "
                + "vrrp_instance VI_1 > virtual_ipaddress: - 10.10.0.200/24 dev eth0; keepalived is reloaded"),
        ConfigFileCase(
            name: "whitespace only: rewritten, said so", current: config().replacingAll("    priority", "\tpriority") + "\n\n", desired: config(),
            expected: "updateKeepalivedConfig: differs from the render in whitespace or order; rewritten, keepalived is reloaded"),
    ]
}

extension String {
    fileprivate func replacingAll(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}

@Suite struct ConfigFileTests {
    @Test(arguments: ConfigFileCase.all)
    func decision(_ c: ConfigFileCase) {
        let file = ManagedFile(path: "/etc/lvsctl/keepalived.conf", manifest: "pair", manifestPath: "vrrp", desired: c.desired, current: c.current)
        let change = ConfigFile.change(for: file)
        #expect(change.map { "\($0.action.rawValue): \($0.reasonText)" } == c.expected)
        if let change {
            #expect(change.after?.file == ConfigFile(path: file.path, sha256: SHA256.hex(c.desired), content: c.desired))
            #expect(change.before?.file == c.current.map { ConfigFile(path: file.path, sha256: SHA256.hex($0)) })
            #expect(change.path == "vrrp" && change.manifest == "pair")
            #expect(change.action.isFileWrite)
        }
    }

    /// The planner puts the file change last (written after every kernel write) and counts it;
    /// an unchanged file adds nothing; drift reads the same change.
    @Test func plannedLastAndDriftReadsIt() {
        let desired = [F.desired("pair", [F.spec(F.svc(), [F.rs(11)])])]
        var input = PlanInput(desired: desired, live: LiveTable(), now: 0)
        input.files = [ManagedFile(path: "/k.conf", manifest: "pair", manifestPath: "vrrp", desired: config(priority: 120), current: config())]
        let plan = Planner.plan(input)
        #expect(plan.changes.map(\.action) == [.createService, .addRealServer, .updateKeepalivedConfig])
        #expect(plan.counts.change == 1 && !plan.isEmpty)
        let drift = Drift.files(plan.changes)
        #expect(drift.map(\.description) == ["changed keepalivedConfig /k.conf: vrrp_instance VI_1 priority: expected 120, live 150 (pair)"])

        input.files[0].current = config(priority: 120)
        #expect(!Planner.plan(input).changes.contains { $0.action.isFileWrite })
        input.files[0].current = nil
        #expect(Drift.files(Planner.plan(input).changes).map(\.description)
            == ["missing keepalivedConfig /k.conf: expected the rendered file, live absent (pair)"])
    }
}
