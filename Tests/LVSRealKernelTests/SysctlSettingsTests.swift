import LVSApply
import LVSKernel
import LVSManifest
import LVSModel
import LVSNetlink
import LVSPlan
import LVSTestSupport
import Testing

/// `settings` sysctls against the real kernel: manifest → plan → apply through the netlink kernel
/// object bound to a fresh namespace, read back from `/proc/sys` inside that namespace (by
/// `sysctl` run there, not by lvsctl), and a second plan is empty. Fails (never skips) without
/// IPVS: run as root in the lab guest.
@Suite("settings sysctls (real kernel)")
struct SysctlSettingsTests {
    private static let manifest = """
        {"apiVersion": "lvsctl/v1", "name": "pair", "services": [],
         "settings": {"sloppyTcp": true, "sloppySctp": true, "syncThreshold": [2, 40], "syncRefreshPeriod": 30,
                      "syncRetries": 2, "expireNodestConn": true, "expireQuiescentTemplate": true, "connReuseMode": 2,
                      "backupOnly": false}}
        """

    /// `sysctl -n net.ipv4.vs.NAME` inside the namespace, whitespace collapsed.
    private func read(_ ns: NetworkNamespace, _ name: String) throws -> String {
        try ns.check(["sysctl", "-n", "net.ipv4.vs.\(name)"]).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }

    @Test func appliedReadBackAndSecondPlanEmpty() throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let kernel = try NetlinkKernel(namespacePath: ns.path)

        // A fresh namespace holds the kernel's defaults, as lvsctl reads them.
        #expect(try kernel.sysctls() == .kernelDefault)
        #expect(try read(ns, "sync_threshold") == "3 50")

        let r = Manifest.parse(Array(Self.manifest.utf8), file: "pair.json")
        let desired = try #require(r.state, "\(r.diagnostics.map(\.description))")
        let plan = Planner.plan(PlanInput(desired: [desired], live: try kernel.snapshot(), now: 0))
        #expect(plan.changes.map(\.action) == [.setSysctls])
        var events: [ApplyEvent] = []
        try Applier(kernel: kernel).apply(plan) { events.append($0) }
        #expect(events.count == 1 && events.first?.outcome == .applied)

        // Read back by the system's sysctl inside the namespace, and by lvsctl.
        let expected = [
            "sloppy_tcp": "1", "sloppy_sctp": "1", "sync_threshold": "2 40", "sync_refresh_period": "30",
            "sync_retries": "2", "expire_nodest_conn": "1", "expire_quiescent_template": "1", "conn_reuse_mode": "2",
            "backup_only": "0",
        ]
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(try read(ns, name) == value, "net.ipv4.vs.\(name)")
        }
        #expect(try kernel.sysctls() == desired.settings.sysctls)

        // The namespace the test runs in is untouched.
        let host = try NetlinkKernel()
        #expect(try host.sysctls().syncThreshold == IPVSSysctls.SyncThreshold(threshold: 3, period: 50))

        let again = Planner.plan(PlanInput(desired: [desired], live: try kernel.snapshot(), now: 0))
        #expect(again.changes.isEmpty, "\(again.changes.map(\.summary))")
        #expect(Drift.compute(desired: [desired], live: try kernel.snapshot(), owners: [:]).isEmpty)

        // A hand edit is drift, and the next plan puts it back.
        try ns.check(["sysctl", "-w", "net.ipv4.vs.sloppy_tcp=0"])
        let drift = Drift.compute(desired: [desired], live: try kernel.snapshot(), owners: [:])
        #expect(drift.map(\.field) == ["settings.sloppyTcp"])
        let fix = Planner.plan(PlanInput(desired: [desired], live: try kernel.snapshot(), now: 0))
        #expect(fix.changes.map(\.reasonText) == ["sloppy_tcp 0 → 1"])
        try Applier(kernel: kernel).apply(fix)
        #expect(try read(ns, "sloppy_tcp") == "1")
    }

    @Test func kernelRefusalIsReportedAndEarlierWritesUndone() throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let kernel = try NetlinkKernel(namespacePath: ns.path)
        // A plan the manifest validation would refuse (threshold ≥ period), built by hand, after a
        // good change: the kernel's EINVAL names the file, and the first change is undone.
        let good = Change(
            action: .setSysctls, manifest: "pair", before: .sysctls(IPVSSysctls(sloppyTcp: false)),
            after: .sysctls(IPVSSysctls(sloppyTcp: true)), path: "settings",
            reason: .attributesChanged([FieldDifference(field: "sloppyTcp", expected: "1", live: "0")]))
        let bad = Change(
            action: .setSysctls, manifest: "pair", before: .sysctls(IPVSSysctls(syncThreshold: .init(threshold: 3, period: 50))),
            after: .sysctls(IPVSSysctls(syncThreshold: .init(threshold: 60, period: 50))), path: "settings",
            reason: .attributesChanged([FieldDifference(field: "syncThreshold", expected: "60 50", live: "3 50")]))
        let plan = Plan(baseFingerprint: try kernel.snapshot().fingerprint, computedAt: 0, changes: [good, bad])
        #expect {
            try Applier(kernel: kernel).apply(plan)
        } throws: { error in
            "\(error)".contains("sync_threshold")
        }
        #expect(try read(ns, "sloppy_tcp") == "0")
        #expect(try read(ns, "sync_threshold") == "3 50")
    }
}
