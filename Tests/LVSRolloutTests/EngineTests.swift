import Foundation
import LVSModel
import LVSPlan
import Testing

@testable import LVSRollout

/// A scripted fleet: each director has a table, revisions, health, and failures to inject; every
/// remote call is logged in order, so a test can say what was (not) touched.
final class FakeFleet: @unchecked Sendable {
    struct Director {
        var revisions: [Int] = [1]
        var fingerprint = "fp"
        var unreachable = false
        /// The weight the director's kernel has (the change under test sets 5).
        var weight: UInt32 = 3
        /// Health of 10.0.0.11:80 after an apply (nil: no daemon).
        var healthyAfterApply: Bool? = nil
        var driftAfterApply = false
        var vrrp: [VRRPInstanceState] = []
        var refuse = false
        var skew = false
    }

    let lock = NSLock()
    var directors: [String: Director]
    var log: [String] = []
    var clock: Double = 1_000

    init(_ names: [String]) {
        directors = Dictionary(uniqueKeysWithValues: names.map { ($0, Director()) })
    }

    func note(_ s: String) {
        lock.lock()
        log.append(s)
        lock.unlock()
    }

    func with<T>(_ name: String, _ body: (inout Director) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&directors[name]!)
    }

    func calls(_ name: String) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return log.filter { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count + 1)) }
    }

    static let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.100")!, port: 80)
    static let rs = RealServer.ID(address: IPAddress("10.0.0.11")!, port: 80)

    static func desired(weight: UInt32 = 5, healthCheck: Bool = false) -> DesiredState {
        DesiredState(manifest: "web", services: [
            ServiceSpec(
                name: "web", service: VirtualService(id: vip, scheduler: .wrr),
                realServers: [RealServerSpec(server: RealServer(id: rs, forwarding: .directRoute, weight: weight))],
                healthCheck: healthCheck ? HealthCheck(type: .tcp) : nil)
        ])
    }

    func plan(_ d: Director, to weight: UInt32 = 5) -> Plan {
        var p = Plan(baseFingerprint: "", computedAt: clock)
        if d.refuse {
            p.violations = [GuardViolation(kind: .serviceDeletion, service: Self.vip, manifest: "web", message: "deleting tcp/10.0.0.100:80 needs --allow-delete")]
        }
        if d.weight != weight {
            p.changes = [Change(
                action: .updateRealServer, manifest: "web", service: Self.vip, realServer: Self.rs,
                before: .realServer(RealServer(id: Self.rs, forwarding: .directRoute, weight: d.weight)),
                after: .realServer(RealServer(id: Self.rs, forwarding: .directRoute, weight: weight)),
                path: "services[0].realServers[0]",
                reason: .attributesChanged([FieldDifference(field: "weight", expected: "\(weight)", live: "\(d.weight)")]))]
        }
        return p
    }

    func connection(_ d: Inventory.Director) -> any DirectorConnection { Connection(fleet: self, name: d.name) }

    struct Connection: DirectorConnection {
        let fleet: FakeFleet
        let name: String

        func reach(_ what: String) throws(RemoteError) -> Director {
            fleet.note("\(name) \(what)")
            let d = fleet.with(name) { $0 }
            if d.unreachable { throw .unreachable("ssh root@\(name): Connection refused") }
            if d.skew { throw .document(.versionSkew(kind: "plan", remote: 3, local: 2)) }
            return d
        }

        func status() throws(RemoteError) -> RemoteStatus {
            let d = try reach("status")
            var health: [RemoteStatus.Health] = []
            if let h = d.healthyAfterApply, d.weight == 5 {
                health = [.init(service: FakeFleet.vip, realServer: FakeFleet.rs, healthy: h, lastCheck: RFC3339.string(fleet.clock + 1), lastError: h ? nil : "connection refused")]
            }
            var table = LiveTable(services: [LiveService(
                service: VirtualService(id: FakeFleet.vip, scheduler: .wrr),
                realServers: [LiveRealServer(server: RealServer(id: FakeFleet.rs, forwarding: .directRoute, weight: d.weight))])])
            table.timeouts = .kernelDefault
            _ = d.fingerprint
            return RemoteStatus(table: table, health: health, vrrp: d.vrrp)
        }

        func revisions(manifest: String) throws(RemoteError) -> [RemoteRevision] {
            try reach("revisions").revisions.map {
                RemoteRevision(manifest: manifest, number: $0, contentHash: "h", author: "a", createdAt: RFC3339.string(fleet.clock))
            }
        }

        func plan(manifest: Data) throws(RemoteError) -> Plan { fleet.plan(try reach("plan")) }

        func apply(manifest: Data, message: String) throws(RemoteError) -> RemoteApply {
            let d = try reach("apply")
            let plan = fleet.plan(d)
            guard plan.isApplyable else { return RemoteApply(plan: plan, revision: nil, applied: 0, auditRows: 0) }
            let number = (d.revisions.max() ?? 0) + 1
            fleet.with(name) {
                $0.weight = 5
                $0.revisions.append(number)
            }
            return RemoteApply(
                plan: plan, revision: RemoteRevision(manifest: "web", number: number, contentHash: "h", author: "ci", createdAt: RFC3339.string(fleet.clock)),
                applied: plan.changes.count, auditRows: plan.changes.count)
        }

        func drift(manifest: String) throws(RemoteError) -> RemoteDrift {
            let d = try reach("drift")
            return RemoteDrift(drift: d.driftAfterApply && d.weight == 5
                ? [.init(kind: "changed", manifest: "web", service: "tcp/10.0.0.100:80", realServer: "10.0.0.11:80", field: "weight", expected: "5", live: "4")]
                : [])
        }

        func rollback(manifest: String, to: Int, message: String) throws(RemoteError) -> RemoteRollback {
            let d = try reach("rollback \(to)")
            let plan = fleet.plan(d, to: 3)
            let number = (d.revisions.max() ?? 0) + 1
            fleet.with(name) {
                $0.weight = 3
                $0.revisions.append(number)
            }
            return RemoteRollback(
                to: to, plan: plan,
                revision: RemoteRevision(manifest: "web", number: number, contentHash: "h", author: "ci", kind: "rollback", basedOn: to, createdAt: RFC3339.string(fleet.clock)),
                applied: plan.changes.count)
        }

        func show(manifest: String, number: Int) throws(RemoteError) -> DesiredState {
            _ = try reach("show \(number)")
            return FakeFleet.desired(weight: 3, healthCheck: fleet.with(name) { $0.healthyAfterApply != nil })
        }
    }
}

@Suite struct EngineTests {
    static let inventory = [
        Inventory.Director(name: "d1", ssh: "root@d1", pair: "p1", role: .master),
        Inventory.Director(name: "d2", ssh: "root@d2", pair: "p1", role: .backup),
        Inventory.Director(name: "d3", ssh: "root@d3"),
        Inventory.Director(name: "d4", ssh: "root@d4"),
    ]

    func run(
        _ fleet: FakeFleet, batches: String = "1,1,2", maxFailures: Int = 0, noRollback: Bool = false, probe: String? = nil,
        probeResult: @escaping @Sendable (String) -> Bool = { _ in true }, healthCheck: Bool = false,
        stopAfter: Int? = nil, mode: RolloutReport.Mode = .apply, expected: [String: ExpectedDirector]? = nil
    ) -> RolloutReport {
        let lines = LinesBox()
        let world = RolloutWorld(
            connect: { fleet.connection($0) },
            probe: { _, d in let ok = probeResult(d.name); return (ok, ok ? "probe exited 0" : "probe exited 1") },
            progress: { lines.add($0) },
            stopRequested: { stopAfter.map { n in fleet.log.filter { $0.hasSuffix(" apply") }.count >= n } ?? false },
            sleep: { _ in fleet.with("d1") { _ in }; fleet.lock.lock(); fleet.clock += 1; fleet.lock.unlock() },
            now: { fleet.lock.lock(); defer { fleet.lock.unlock() }; return fleet.clock })
        let options = RolloutOptions(
            manifest: Data("{}".utf8), desired: FakeFleet.desired(healthCheck: healthCheck), digest: "sha", batches: try! BatchSpec.parse(batches),
            maxFailures: maxFailures, noRollback: noRollback, probe: probe, healthTimeout: 5, message: "m", expected: expected)
        let engine = RolloutEngine(
            directors: Self.inventory, options: options, world: world,
            report: RolloutReport(id: "r1", mode: mode, manifest: "web", manifestDigest: "sha", inventory: "inv.json", author: "ci", startedAt: 0))
        return mode == .plan ? engine.plan() : engine.apply()
    }

    func state(_ r: RolloutReport, _ name: String) -> DirectorReport.State? { r.directors.first { $0.name == name }?.state }
    func director(_ r: RolloutReport, _ name: String) -> DirectorReport { r.directors.first { $0.name == name }! }

    @Test func aWeightChangeRollsOutInBatches() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        let r = run(fleet)
        #expect(r.outcome == .converged && r.exitStatus == 0)
        #expect(r.batches == [["d2"], ["d1"], ["d3", "d4"]])
        for name in ["d1", "d2", "d3", "d4"] {
            let d = director(r, name)
            #expect(d.state == .converged)
            #expect(d.revisionBefore == 1 && d.revisionAfter == 2 && d.applied == 1)
            #expect(d.gates.map(\.gate) == [.drift, .health, .vrrp, .probe])
            #expect(!d.gates.contains { $0.failed })
        }
        // The backup's gates ran before the master was touched.
        let log = fleet.log
        let d2Gates = log.lastIndex(of: "d2 drift")!
        let d1Apply = log.firstIndex(of: "d1 apply")!
        #expect(d2Gates < d1Apply)
    }

    @Test func planReportsEveryDirectorAndExits2() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d3") { $0.weight = 5 }
        let r = run(fleet, mode: .plan)
        #expect(r.outcome == .changesPending && r.exitStatus == 2)
        #expect(state(r, "d3") == .upToDate && state(r, "d1") == .changesPending)
        #expect(!fleet.log.contains { $0.hasSuffix(" apply") }, "plan changes nothing")
        let fleet2 = FakeFleet(["d1", "d2", "d3", "d4"])
        for n in ["d1", "d2", "d3", "d4"] { fleet2.with(n) { $0.weight = 5 } }
        #expect(run(fleet2, mode: .plan).exitStatus == 0)
        fleet2.with("d4") { $0.unreachable = true }
        let bad = run(fleet2, mode: .plan)
        #expect(bad.exitStatus == 1 && state(bad, "d4") == .unreachable)
    }

    @Test func aFailedHealthGateOnTheCanaryStopsAndRollsItBack() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d2") { $0.healthyAfterApply = false }
        let r = run(fleet, healthCheck: true)
        #expect(r.outcome == .failed && r.exitStatus == 1)
        #expect(r.stop?.director == "d2" && r.stop?.gate == .health && r.stop?.batch == 1)
        #expect(r.stop?.reason.contains("down") == true, "\(r.stop?.reason ?? "")")
        let d2 = director(r, "d2")
        #expect(d2.state == .rolledBack)
        #expect(d2.rollback?.to == 1 && d2.rollback?.revision == 3 && d2.rollback?.succeeded == true)
        for name in ["d1", "d3", "d4"] {
            #expect(state(r, name) == .notStarted)
            #expect(fleet.calls(name).filter { $0 == "apply" || $0.hasPrefix("rollback") }.isEmpty, "\(name) untouched")
        }
        #expect(fleet.with("d2") { $0.weight } == 3)
    }

    @Test func aFailureLaterRollsBackEveryChangedDirector() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d3") { $0.driftAfterApply = true }
        let r = run(fleet)
        #expect(r.stop?.gate == .drift && r.stop?.director == "d3")
        #expect(state(r, "d2") == .rolledBack && state(r, "d1") == .rolledBack && state(r, "d3") == .rolledBack)
        // d4 was in d3's batch: applied in parallel, then rolled back too.
        #expect(state(r, "d4") == .rolledBack)
        let rollbacks = fleet.log.filter { $0.contains("rollback") }
        #expect(rollbacks.first?.hasPrefix("d2") == true, "the changed directors are rolled back in the order they were changed: \(rollbacks)")
    }

    @Test func noRollbackLeavesThemAndSaysSo() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d1") { $0.driftAfterApply = true }
        let r = run(fleet, noRollback: true)
        #expect(r.exitStatus == 1)
        #expect(state(r, "d2") == .converged && state(r, "d1") == .failed)
        #expect(!fleet.log.contains { $0.contains("rollback") })
    }

    @Test func anUnreachableDirectorStopsItsBatchBeforeAnyChange() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d4") { $0.unreachable = true }
        let r = run(fleet)
        #expect(r.exitStatus == 1 && r.stop?.batch == 3 && r.stop?.director == "d4")
        #expect(r.stop?.reason.contains("unreachable") == true)
        #expect(state(r, "d4") == .unreachable)
        #expect(state(r, "d3") == .notStarted, "nothing in the stopped batch is changed")
        #expect(!fleet.calls("d3").contains("apply"))
        #expect(state(r, "d2") == .rolledBack && state(r, "d1") == .rolledBack)
    }

    @Test func versionSkewIsReportedAsSuch() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d2") { $0.skew = true }
        let r = run(fleet)
        #expect(state(r, "d2") == .error)
        #expect(director(r, "d2").error?.contains("version skew") == true)
        #expect(!fleet.log.contains { $0.hasSuffix(" apply") })
    }

    @Test func aRefusedPlanStopsTheBatch() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d2") { $0.refuse = true }
        let r = run(fleet)
        #expect(state(r, "d2") == .refused && r.exitStatus == 1)
        #expect(!fleet.log.contains { $0.hasSuffix(" apply") })
    }

    @Test func maxFailuresLetsTheRolloutGoOnAfterRollingBackTheFailedOne() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d3") { $0.driftAfterApply = true }
        let r = run(fleet, maxFailures: 1)
        #expect(r.exitStatus == 1, "not every director converged")
        #expect(state(r, "d3") == .rolledBack)
        #expect(state(r, "d4") == .converged && state(r, "d1") == .converged && state(r, "d2") == .converged)
    }

    @Test func theProbeIsAGate() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        let r = run(fleet, probe: "curl -f http://vip/", probeResult: { $0 != "d1" })
        #expect(r.stop?.gate == .probe && r.stop?.director == "d1")
        #expect(state(r, "d1") == .failed || state(r, "d1") == .rollbackFailed, "its rollback's probe fails too")
        #expect(state(r, "d2") == .rolledBack)
    }

    @Test func aStopRequestFinishesTheDirectorInProgressThenStops() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        let r = run(fleet, stopAfter: 1)
        #expect(r.outcome == .interrupted && r.exitStatus == 1)
        #expect(state(r, "d2") == .converged, "the director in progress finished, gates included")
        #expect(state(r, "d1") == .notStarted)
        #expect(!fleet.log.contains { $0.contains("rollback") })
    }

    @Test func aStalePlanIsRefusedBeforeAnything() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        let planned = run(fleet, mode: .plan)
        var expected: [String: ExpectedDirector] = [:]
        for d in planned.directors { expected[d.name] = ExpectedDirector(tableFingerprint: d.tableFingerprint!, revision: d.revisionBefore) }
        fleet.with("d3") { $0.weight = 4 }
        let r = run(fleet, expected: expected)
        #expect(r.outcome == .stalePlan && r.exitStatus == 1)
        #expect(r.stop?.reason.contains("d3") == true)
        #expect(!fleet.log.contains { $0.hasSuffix(" apply") })
        fleet.with("d3") { $0.weight = 3 }
        #expect(run(fleet, expected: expected).outcome == .converged, "an unchanged fleet takes the saved plan")
    }

    @Test func liveVRRPRolesOrderThePair() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d1") { $0.vrrp = [VRRPInstanceState(name: "VI_1", state: "BACKUP")] }
        fleet.with("d2") { $0.vrrp = [VRRPInstanceState(name: "VI_1", state: "MASTER")] }
        let r = run(fleet)
        #expect(r.batches.first == ["d1"])
        #expect(director(r, "d1").roleSource == "vrrp")
    }

    /// A director in maintenance (its instances in FAULT) holds no VIP: it is the pair's backup
    /// by its live roles, whatever the inventory says, and goes first.
    @Test func aDirectorInMaintenanceIsTheLiveBackup() {
        let fleet = FakeFleet(["d1", "d2", "d3", "d4"])
        fleet.with("d1") { $0.vrrp = [VRRPInstanceState(name: "VI_1", state: "FAULT", maintenance: true)] }
        fleet.with("d2") { $0.vrrp = [VRRPInstanceState(name: "VI_1", state: "MASTER")] }
        let r = run(fleet, batches: "100%")
        #expect(r.batches == [["d1", "d3", "d4"], ["d2"]])
        #expect(director(r, "d1").role == .backup && director(r, "d1").roleSource == "vrrp")
        #expect(director(r, "d2").role == .master && director(r, "d2").roleSource == "vrrp")
    }

    @Test(arguments: [
        (["MASTER", "BACKUP"], PairRole.master), (["BACKUP", "BACKUP"], .backup), (["FAULT", "BACKUP"], .backup),
        (["FAULT"], .backup), (["BACKUP", "UNKNOWN"], nil), (["STOP"], nil), ([], nil),
    ] as [([String], PairRole?)])
    func theLiveRoleOfADirector(states: [String], role: PairRole?) {
        let status = RemoteStatus(table: LiveTable(services: []), vrrp: states.enumerated().map { VRRPInstanceState(name: "VI_\($0.offset)", state: $0.element) })
        #expect(PairRoles.live(status) == role)
        // The live role wins over the inventory's; the inventory's is the fallback.
        let resolved = PairRoles.resolve(status: status, declared: .master)
        #expect(resolved.role == (role ?? .master) && resolved.source == (role == nil ? "inventory" : "vrrp"))
        #expect(PairRoles.resolve(status: nil, declared: nil) == (nil, nil))
    }

    @Test func aFaultedInstanceFailsTheVRRPGateUnlessInMaintenance() {
        let status = RemoteStatus(table: LiveTable(services: []), vrrp: [VRRPInstanceState(name: "VI_1", state: "FAULT")])
        #expect(GateRules.vrrp(status).outcome == .failed)
        let maintenance = RemoteStatus(table: LiveTable(services: []), vrrp: [VRRPInstanceState(name: "VI_1", state: "FAULT", maintenance: true)])
        #expect(GateRules.vrrp(maintenance).outcome == .passed)
        #expect(GateRules.vrrp(RemoteStatus(table: LiveTable(services: []))).outcome == .skipped)
    }
}

final class LinesBox: @unchecked Sendable {
    let lock = NSLock()
    var lines: [String] = []
    func add(_ s: String) {
        lock.lock()
        lines.append(s)
        lock.unlock()
    }
}
