import LVSModel
import LVSPlan
import Testing

/// One planner case: desired × live × ownership × drains × policy → expected changes.
struct PlanCase: Sendable, CustomTestStringConvertible {
    var name: String
    var desired: [DesiredState]
    var live: LiveTable
    var owners: [VirtualService.ID: String] = [:]
    var drains: [DrainState] = []
    var now: Double = 1010
    var scope: Set<String>? = nil
    var policy = PlanPolicy()
    /// `F.line` of each change, in order.
    var expected: [String]
    var violations: [GuardViolation.Kind] = []
    var testDescription: String { name }
}

private let web80 = F.sid(80)
private let owned: [VirtualService.ID: String] = [F.sid(80): "web", F.sid(53, .udp): "web", F.sid(443): "web"]

extension PlanCase {
    static let all: [PlanCase] = [
        PlanCase(
            name: "empty live table: create the service and add its real servers",
            desired: [F.desired([F.spec(F.svc(), [F.rs(2, weight: 5), F.rs(1, weight: 10)])])],
            live: F.table([]),
            expected: [
                "createService tcp/10.0.0.100:80: new service",
                "addRealServer tcp/10.0.0.100:80 10.0.0.1:80: new real server",
                "addRealServer tcp/10.0.0.100:80 10.0.0.2:80: new real server",
            ]),
        PlanCase(
            name: "no-op: live equals desired",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2)])]),
            owners: owned,
            expected: []),
        PlanCase(
            name: "one weight changes: one updateRealServer",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1, weight: 50), F.rs(2, weight: 100)])])],
            live: F.table([F.live(F.svc(), [F.rs(1, weight: 100), F.rs(2, weight: 100)])]),
            owners: owned,
            expected: ["updateRealServer tcp/10.0.0.100:80 10.0.0.1:80: weight 100 → 50"]),
        PlanCase(
            name: "scheduler change: one updateService, no delete",
            desired: [F.desired([F.spec(F.svc(scheduler: .wrr), [F.rs(1)])])],
            live: F.table([F.live(F.svc(scheduler: .rr), [F.rs(1)])]),
            owners: owned,
            expected: ["updateService tcp/10.0.0.100:80: scheduler rr → wrr"]),
        PlanCase(
            name: "persistence flag and timeout in place",
            desired: [F.desired([F.spec(F.svc(flags: .persistent, timeout: 300), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)])]),
            owners: owned,
            expected: ["updateService tcp/10.0.0.100:80: flags none → persistent, persistence timeout 0 → 300"]),
        PlanCase(
            name: "scheduler flags named after the scheduler",
            desired: [F.desired([F.spec(F.svc(scheduler: .sh, flags: [.sched1, .sched2]), [F.rs(1)])])],
            live: F.table([F.live(F.svc(scheduler: .sh), [F.rs(1)])]),
            owners: owned,
            expected: ["updateService tcp/10.0.0.100:80: flags none → sh-fallback|sh-port"]),
        PlanCase(
            name: "persistence engine and netmask in place",
            desired: [F.desired([F.spec(F.svc(flags: .persistent, timeout: 60, netmask: 0xffff_ff00, pe: "sip"), [F.rs(1)])])],
            live: F.table([F.live(F.svc(flags: .persistent, timeout: 60), [F.rs(1)])]),
            owners: owned,
            expected: ["updateService tcp/10.0.0.100:80: netmask 255.255.255.255 → 255.255.255.0, persistence engine none → sip"]),
        PlanCase(
            name: "an empty persistence engine equals none",
            desired: [F.desired([F.spec(F.svc(pe: ""), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)])]),
            owners: owned,
            expected: []),
        PlanCase(
            name: "real-server port change: add the new port, delete the old one",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1, port: 8081), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1, port: 8080), F.rs(2)])]),
            owners: owned,
            expected: [
                "addRealServer tcp/10.0.0.100:80 10.0.0.1:8081: port changed from 8080: delete and re-add",
                "deleteRealServer tcp/10.0.0.100:80 10.0.0.1:8080: port changed to 8081: delete and re-add",
            ]),
        PlanCase(
            name: "forwarding method change in place",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1, fwd: .directRoute)])])],
            live: F.table([F.live(F.svc(), [F.rs(1, fwd: .masquerade)])]),
            owners: owned,
            expected: ["updateRealServer tcp/10.0.0.100:80 10.0.0.1:80: forwarding nat → dr"]),
        PlanCase(
            name: "thresholds in place",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1, upper: 100, lower: 10)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)])]),
            owners: owned,
            expected: ["updateRealServer tcp/10.0.0.100:80 10.0.0.1:80: upper threshold 0 → 100, lower threshold 0 → 10"]),
        PlanCase(
            name: "tunnel settings change in place",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1, fwd: .tunnel, tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .checksum))])])],
            live: F.table([F.live(F.svc(), [F.rs(1, fwd: .tunnel)])]),
            owners: owned,
            expected: ["updateRealServer tcp/10.0.0.100:80 10.0.0.1:80: tunnel type ipip → gue, tunnel port 0 → 6080, tunnel checksum nocsum → csum"]),
        PlanCase(
            name: "real server removed: drained, not deleted",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2), F.rs(3)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3), F.rs(4, weight: 7)], active: [4: 3])]),
            owners: owned,
            expected: ["drainRealServer tcp/10.0.0.100:80 10.0.0.4:80: not in manifest: drain (weight 7 → 0, up to 30 s)"]),
        PlanCase(
            name: "the service's drain timeout wins over the default",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)], drainTimeout: 120)])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3)], active: [3: 1])]),
            owners: owned,
            expected: ["drainRealServer tcp/10.0.0.100:80 10.0.0.3:80: not in manifest: drain (weight 1 → 0, up to 120 s)"]),
        PlanCase(
            name: "drain finished: no connections left",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0)])]),
            owners: owned,
            drains: [F.drain(3)],
            expected: ["deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: drained: no connections left"]),
        PlanCase(
            name: "drain finished: deadline passed",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0)], active: [3: 4], inactive: [3: 1])]),
            owners: owned,
            drains: [F.drain(3, started: 1000, deadline: 1030)],
            now: 1031,
            expected: ["deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: drain timeout 30 s expired (5 connections left)"]),
        PlanCase(
            name: "drain in progress: nothing to write",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0)], active: [3: 4])]),
            owners: owned,
            drains: [F.drain(3, started: 1000, deadline: 1030)],
            now: 1029,
            expected: []),
        PlanCase(
            name: "draining server whose weight was raised outside lvsctl is drained again",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 9)], active: [3: 4])]),
            owners: owned,
            drains: [F.drain(3)],
            expected: ["drainRealServer tcp/10.0.0.100:80 10.0.0.3:80: still draining: weight 9 → 0 (weight was raised outside lvsctl)"]),
        PlanCase(
            name: "removed server already at weight 0 without connections: deleted at once",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0)])]),
            owners: owned,
            expected: ["deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: not in manifest (no connections: deleted without draining)"]),
        PlanCase(
            // A drain with nothing to wait for is finished by the same apply (CLI users with no
            // daemon would otherwise keep it at weight 0 until their next apply).
            name: "removed server with weight and no connections: deleted at once, no drain",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3)])]),
            owners: owned,
            expected: ["deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: not in manifest (no connections: deleted without draining)"]),
        PlanCase(
            name: "removed server with inactive connections only: drained",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3)], inactive: [3: 1])]),
            owners: owned,
            expected: ["drainRealServer tcp/10.0.0.100:80 10.0.0.3:80: not in manifest: drain (weight 1 → 0, up to 30 s)"]),
        PlanCase(
            name: "UDP service: removed server deleted at once",
            desired: [F.desired([F.spec(F.svc(53, .udp), [F.rs(1, port: 53), F.rs(2, port: 53)])])],
            live: F.table([F.live(F.svc(53, .udp), [F.rs(1, port: 53), F.rs(2, port: 53), F.rs(3, port: 53)], active: [3: 2])]),
            owners: owned,
            expected: ["deleteRealServer udp/10.0.0.100:53 10.0.0.3:53: not in manifest (UDP: deleted without draining)"]),
        PlanCase(
            name: "drain timeout 0: removed server deleted at once",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)], drainTimeout: 0)])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3)], active: [3: 2])]),
            owners: owned,
            expected: ["deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: not in manifest (drain timeout 0)"]),
        PlanCase(
            name: "server back in the manifest while draining: weight restored, drain cancelled",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 100)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0)], active: [3: 4])]),
            owners: owned,
            drains: [F.drain(3)],
            expected: ["updateRealServer tcp/10.0.0.100:80 10.0.0.3:80: back in manifest, drain cancelled: weight 0 → 100"]),
        PlanCase(
            name: "foreign service (owned by nobody) untouched",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)]), F.live(F.svc(8080), [F.rs(9)])]),
            owners: owned,
            expected: []),
        PlanCase(
            name: "service owned by a manifest out of scope untouched",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)]), F.live(F.svc(5432), [F.rs(9)])]),
            owners: owned.merging([F.sid(5432): "db"]) { a, _ in a },
            expected: []),
        PlanCase(
            name: "service removed from the manifest: deleted, guarded",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)]), F.live(F.svc(443), [F.rs(1, port: 443), F.rs(2, port: 443)])]),
            owners: owned,
            expected: ["deleteService tcp/10.0.0.100:443: not in manifest (with its 2 real servers)"],
            violations: [.serviceDeletion]),
        PlanCase(
            name: "service removed from the manifest with --allow-delete",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)]), F.live(F.svc(443), [F.rs(1, port: 443)])]),
            owners: owned,
            policy: PlanPolicy(allowDelete: true),
            expected: ["deleteService tcp/10.0.0.100:443: not in manifest (with its 1 real servers)"]),
        PlanCase(
            name: "an empty manifest deletes every service it owns",
            desired: [F.desired([])],
            live: F.table([F.live(F.svc(), [F.rs(1)]), F.live(F.svc(443), [F.rs(1, port: 443)])]),
            owners: owned,
            policy: PlanPolicy(allowDelete: true),
            expected: [
                "deleteService tcp/10.0.0.100:80: not in manifest (with its 1 real servers)",
                "deleteService tcp/10.0.0.100:443: not in manifest (with its 1 real servers)",
            ]),
        PlanCase(
            name: "removing 3 of 4 real servers is refused",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3), F.rs(4)], active: [2: 1, 3: 1, 4: 1])]),
            owners: owned,
            expected: [
                "drainRealServer tcp/10.0.0.100:80 10.0.0.2:80: not in manifest: drain (weight 1 → 0, up to 30 s)",
                "drainRealServer tcp/10.0.0.100:80 10.0.0.3:80: not in manifest: drain (weight 1 → 0, up to 30 s)",
                "drainRealServer tcp/10.0.0.100:80 10.0.0.4:80: not in manifest: drain (weight 1 → 0, up to 30 s)",
            ],
            violations: [.removalFraction]),
        PlanCase(
            name: "removing 2 of 4 real servers (exactly half) is allowed",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3), F.rs(4)], active: [3: 1, 4: 1])]),
            owners: owned,
            expected: [
                "drainRealServer tcp/10.0.0.100:80 10.0.0.3:80: not in manifest: drain (weight 1 → 0, up to 30 s)",
                "drainRealServer tcp/10.0.0.100:80 10.0.0.4:80: not in manifest: drain (weight 1 → 0, up to 30 s)",
            ]),
        PlanCase(
            name: "removing 3 of 4 with --allow-removal",
            desired: [F.desired([F.spec(F.svc(53, .udp), [F.rs(1, port: 53)])])],
            live: F.table([F.live(F.svc(53, .udp), [F.rs(1, port: 53), F.rs(2, port: 53), F.rs(3, port: 53), F.rs(4, port: 53)])]),
            owners: owned,
            policy: PlanPolicy(allowRemoval: true),
            expected: [
                "deleteRealServer udp/10.0.0.100:53 10.0.0.2:53: not in manifest (UDP: deleted without draining)",
                "deleteRealServer udp/10.0.0.100:53 10.0.0.3:53: not in manifest (UDP: deleted without draining)",
                "deleteRealServer udp/10.0.0.100:53 10.0.0.4:53: not in manifest (UDP: deleted without draining)",
            ]),
        PlanCase(
            name: "finishing drains is not counted again by the removal guard",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2, weight: 0), F.rs(3, weight: 0), F.rs(4, weight: 0)])]),
            owners: owned,
            drains: [F.drain(2), F.drain(3), F.drain(4)],
            expected: [
                "deleteRealServer tcp/10.0.0.100:80 10.0.0.2:80: drained: no connections left",
                "deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: drained: no connections left",
                "deleteRealServer tcp/10.0.0.100:80 10.0.0.4:80: drained: no connections left",
            ]),
        PlanCase(
            name: "weight override (health down) applied before diffing",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1, weight: 10), F.rs(2, weight: 10)])])],
            live: F.table([F.live(F.svc(), [F.rs(1, weight: 10), F.rs(2, weight: 10)])]),
            owners: owned,
            policy: PlanPolicy(weightOverrides: [F.key(80, 2): 0]),
            expected: ["updateRealServer tcp/10.0.0.100:80 10.0.0.2:80: weight 10 → 0"]),
        PlanCase(
            // inhibitOnFailure off: the caller leaves the failed server out of the desired state;
            // deleted at once (connections or not), no drain, and not counted by the removal guard.
            name: "health removal (inhibitOnFailure off): deleted at once, outside the removal guard",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3)], active: [2: 5, 3: 1])]),
            owners: owned,
            policy: {
                var p = PlanPolicy()
                p.healthRemovals = [F.key(80, 2), F.key(80, 3)]
                return p
            }(),
            expected: [
                "deleteRealServer tcp/10.0.0.100:80 10.0.0.2:80: health check down (inhibitOnFailure off): removed until it recovers",
                "deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: health check down (inhibitOnFailure off): removed until it recovers",
            ]),
        PlanCase(
            name: "declared service that exists but is owned by nobody: refused without --adopt",
            desired: [F.desired([F.spec(F.svc(scheduler: .rr), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)])]),
            expected: [],
            violations: [.foreignService]),
        PlanCase(
            name: "declared service that exists but is owned by nobody: adopted with --adopt",
            desired: [F.desired([F.spec(F.svc(scheduler: .rr), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)])]),
            policy: PlanPolicy(adoptForeign: true),
            expected: ["updateService tcp/10.0.0.100:80: scheduler wlc → rr"]),
        PlanCase(
            name: "declared service owned by another manifest: conflict, untouched",
            desired: [F.desired([F.spec(F.svc(scheduler: .rr), [F.rs(1)])])],
            live: F.table([F.live(F.svc(), [F.rs(1)])]),
            owners: [F.sid(80): "other"],
            expected: [],
            violations: [.ownershipConflict]),
        PlanCase(
            name: "the same service in two manifests in scope: conflict",
            desired: [F.desired("a", [F.spec(F.svc(), [F.rs(1)])]), F.desired("b", [F.spec(F.svc(), [F.rs(2)])])],
            live: F.table([]),
            expected: [
                "createService tcp/10.0.0.100:80: new service",
                "addRealServer tcp/10.0.0.100:80 10.0.0.1:80: new real server",
            ],
            violations: [.ownershipConflict]),
        PlanCase(
            name: "owned service deleted outside lvsctl: re-created",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])])],
            live: F.table([]),
            owners: owned,
            expected: [
                "createService tcp/10.0.0.100:80: new service",
                "addRealServer tcp/10.0.0.100:80 10.0.0.1:80: new real server",
            ]),
        PlanCase(
            name: "timeouts: only declared fields that differ",
            desired: [F.desired([], settings: GlobalSettings(timeouts: Timeouts(tcp: 600, tcpFin: 0, udp: 300)))],
            live: F.table([]),
            expected: ["setTimeouts: tcp 900 → 600"]),
        PlanCase(
            name: "timeouts already as declared",
            desired: [F.desired([], settings: GlobalSettings(timeouts: Timeouts(tcp: 900, tcpFin: 120, udp: 0)))],
            live: F.table([]),
            expected: []),
        PlanCase(
            name: "sync daemons: start the missing one, stop the extra one last",
            desired: [F.desired([F.spec(F.svc(), [F.rs(1)])], settings: GlobalSettings(syncDaemons: [SyncDaemon(state: .master, interface: "eth0", syncID: 7)]))],
            live: F.table([], daemons: [SyncDaemon(state: .backup, interface: "eth0", syncID: 7, maxLength: 1472, group: .v4(0xe000_0051), port: 8848, ttl: 1)]),
            expected: [
                "startSyncDaemon: not running",
                "createService tcp/10.0.0.100:80: new service",
                "addRealServer tcp/10.0.0.100:80 10.0.0.1:80: new real server",
                "stopSyncDaemon: not in manifest",
            ]),
        PlanCase(
            name: "sync daemon changed: stop and start; kernel-filled defaults match",
            desired: [F.desired([], settings: GlobalSettings(syncDaemons: [
                SyncDaemon(state: .master, interface: "eth0", syncID: 8),
                SyncDaemon(state: .backup, interface: "eth0", syncID: 7),
            ]))],
            live: F.table([], daemons: [
                SyncDaemon(state: .master, interface: "eth0", syncID: 7, maxLength: 1472, group: .v4(0xe000_0051), port: 8848, ttl: 1),
                SyncDaemon(state: .backup, interface: "eth0", syncID: 7, maxLength: 1472, group: .v4(0xe000_0051), port: 8848, ttl: 1),
            ]),
            expected: [
                "stopSyncDaemon: syncID 7 → 8: stop and restart",
                "startSyncDaemon: syncID 7 → 8: restart",
            ]),
        PlanCase(
            name: "sync daemons not declared: left alone",
            desired: [F.desired([])],
            live: F.table([], daemons: [SyncDaemon(state: .backup, interface: "eth0")]),
            expected: []),
    ]
}

@Suite("Planner: desired × live → changes")
struct PlannerTableTests {
    @Test(arguments: PlanCase.all)
    func table(_ c: PlanCase) {
        let plan = Planner.plan(PlanInput(
            desired: c.desired, live: c.live, owners: c.owners, drains: c.drains, now: c.now, scope: c.scope,
            policy: c.policy))
        #expect(plan.changes.map(F.line) == c.expected)
        #expect(plan.violations.map(\.kind) == c.violations)
        #expect(plan.baseFingerprint == c.live.fingerprint)
        #expect(plan.isEmpty == c.expected.isEmpty)
        #expect(plan.isApplyable == c.violations.isEmpty)
    }
}
