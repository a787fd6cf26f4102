import Foundation
import LVSModel
import LVSPlan
import Testing

/// The `/proc/sys/net/ipv4/vs` settings: planned like the timeouts (declared fields that
/// differ, one change, first in the plan), drift-checked, conflicts between manifests refused.
struct SysctlCase: Sendable, CustomTestStringConvertible {
    var name: String
    var desired: [DesiredState]
    var live: IPVSSysctls = .kernelDefault
    var expected: [String]
    var violations: [GuardViolation.Kind] = []
    /// The `after` of the one change, as /proc/sys text per sysctl.
    var written: [String: String] = [:]
    var testDescription: String { name }
}

private func settings(_ s: IPVSSysctls) -> GlobalSettings { GlobalSettings(sysctls: s) }

extension SysctlCase {
    static let all: [SysctlCase] = [
        SysctlCase(
            name: "nothing declared: nothing planned whatever the kernel holds",
            desired: [F.desired([])],
            live: IPVSSysctls(sloppyTcp: true, syncThreshold: .init(threshold: 1, period: 10)),
            expected: []),
        SysctlCase(
            name: "declared as the kernel's defaults: nothing planned",
            desired: [F.desired([], settings: settings(IPVSSysctls(sloppyTcp: false, syncThreshold: .init(threshold: 3, period: 50), connReuseMode: 1)))],
            expected: []),
        SysctlCase(
            name: "only the declared fields that differ, in one change",
            desired: [F.desired([], settings: settings(IPVSSysctls(
                sloppyTcp: true, sloppySctp: false, syncThreshold: .init(threshold: 3, period: 50), syncRefreshPeriod: 10,
                syncRetries: 2, expireNodestConn: true, expireQuiescentTemplate: true, connReuseMode: 2, backupOnly: false)))],
            expected: ["setSysctls: conn_reuse_mode 1 → 2, expire_nodest_conn 0 → 1, expire_quiescent_template 0 → 1, sloppy_tcp 0 → 1, sync_refresh_period 0 → 10, sync_retries 0 → 2"],
            written: ["connReuseMode": "2", "expireNodestConn": "1", "expireQuiescentTemplate": "1", "sloppyTcp": "1",
                      "syncRefreshPeriod": "10", "syncRetries": "2"]),
        SysctlCase(
            name: "sync threshold as a pair",
            desired: [F.desired([], settings: settings(IPVSSysctls(syncThreshold: .init(threshold: 1, period: 20))))],
            expected: ["setSysctls: sync_threshold 3 50 → 1 20"],
            written: ["syncThreshold": "1 20"]),
        SysctlCase(
            name: "a hand-set 2 is true: no change for a declared true",
            desired: [F.desired([], settings: settings(IPVSSysctls(sloppyTcp: true)))],
            live: {
                var l = IPVSSysctls.kernelDefault
                l.set(.sloppyTcp, text: "2\n")
                return l
            }(),
            expected: []),
        SysctlCase(
            name: "a sysctl the kernel lacks is planned (and the write will say so)",
            desired: [F.desired([], settings: settings(IPVSSysctls(connReuseMode: 0)))],
            live: { var l = IPVSSysctls.kernelDefault; l.connReuseMode = nil; return l }(),
            expected: ["setSysctls: conn_reuse_mode absent → 0"],
            written: ["connReuseMode": "0"]),
        SysctlCase(
            name: "two manifests, different fields: merged into one change",
            desired: [
                F.desired("a", [], settings: settings(IPVSSysctls(sloppyTcp: true))),
                F.desired("b", [], settings: settings(IPVSSysctls(expireNodestConn: true))),
            ],
            expected: ["setSysctls: expire_nodest_conn 0 → 1, sloppy_tcp 0 → 1"],
            written: ["expireNodestConn": "1", "sloppyTcp": "1"]),
        SysctlCase(
            name: "two manifests, same field, different values: refused",
            desired: [
                F.desired("a", [], settings: settings(IPVSSysctls(sloppyTcp: true))),
                F.desired("b", [], settings: settings(IPVSSysctls(sloppyTcp: false))),
            ],
            expected: ["setSysctls: sloppy_tcp 0 → 1"],
            violations: [.settingsConflict],
            written: ["sloppyTcp": "1"]),
    ]
}

@Suite("Planner: settings sysctls")
struct PlannerSysctlTests {
    @Test(arguments: SysctlCase.all)
    func table(_ c: SysctlCase) throws {
        let live = LiveTable(sysctls: c.live)
        let plan = Planner.plan(PlanInput(desired: c.desired, live: live, owners: [:], drains: [], now: 0))
        #expect(plan.changes.map(F.line) == c.expected)
        #expect(plan.violations.map(\.kind) == c.violations)
        guard let change = plan.changes.first else { return }
        #expect(change.path == "settings")
        let after = try #require(change.after?.sysctls)
        let written = Dictionary(uniqueKeysWithValues: after.fields.map { ($0.rawValue, after.text($0) ?? "") })
        #expect(written == c.written)
        // `before` holds the live values of the same fields, for the undo.
        let before = try #require(change.before?.sysctls)
        #expect(before == c.live.restricted(to: after.fields))
        // The drift view reports the same fields.
        let drift = Drift.compute(desired: c.desired, live: live, owners: [:])
        #expect(Set(drift.map(\.field)) == Set(after.fields.map { "settings.\($0.rawValue)" }))
    }

    @Test func firstInThePlanBeforeSyncDaemonsStart() {
        let desired = F.desired([], settings: GlobalSettings(
            syncDaemons: [SyncDaemon(state: .master, interface: "eth0")], sysctls: IPVSSysctls(sloppyTcp: true)))
        let plan = Planner.plan(PlanInput(desired: [desired], live: LiveTable(), owners: [:], drains: [], now: 0))
        #expect(plan.changes.map(\.action) == [.setSysctls, .startSyncDaemon])
        #expect(Change.Action.setSysctls.symbol == "~")
    }

    @Test func oneManifestOwnsTheVRRPSection() {
        let vrrp = VRRPConfig(instances: [VRRPInstance(name: "VI_1", interface: "eth0", virtualRouterID: 51, priority: ["d1": 150])])
        let a = DesiredState(manifest: "a", vrrp: vrrp), b = DesiredState(manifest: "b", vrrp: vrrp)
        let one = Planner.plan(PlanInput(desired: [a, DesiredState(manifest: "c")], live: LiveTable(), now: 0))
        #expect(one.violations.isEmpty)
        let two = Planner.plan(PlanInput(desired: [b, a], live: LiveTable(), now: 0))
        #expect(two.violations.map(\.kind) == [.settingsConflict])
        #expect(two.violations.first?.manifest == "b")
        #expect(two.violations.first?.message.contains("as does manifest a") == true)
    }

    @Test func changeValueRoundTripsThroughJSON() throws {
        let v = Change.Value.sysctls(IPVSSysctls(sloppyTcp: true, syncThreshold: .init(threshold: 2, period: 40)))
        let data = try JSONEncoder().encode(v)
        #expect(try JSONDecoder().decode(Change.Value.self, from: data) == v)
    }
}
