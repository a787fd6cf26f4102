import Foundation
import LVSModel
import LVSPlan
import Testing

@Suite("Planner: bookkeeping, values, order and format")
struct PlannerTests {
    static let owned: [VirtualService.ID: String] = [F.sid(80): "web", F.sid(443): "web"]

    @Test func changesCarryFullValuesAndManifestPaths() {
        let d = F.desired([
            F.spec(F.svc(443), [F.rs(1, port: 443)]),
            F.spec(F.svc(scheduler: .rr), [F.rs(1), F.rs(2, weight: 50)]),
        ])
        let live = F.table([F.live(F.svc(), [F.rs(1), F.rs(2, weight: 100), F.rs(3)], active: [3: 1])])
        let plan = Planner.plan(PlanInput(desired: [d], live: live, owners: [F.sid(80): "web"], now: 1000))
        let byAction = Dictionary(grouping: plan.changes, by: \.action)

        let create = byAction[.createService]?.first
        #expect(create?.path == "services[0]")
        #expect(create?.after == .service(F.svc(443)))
        #expect(create?.before == nil)
        #expect(byAction[.addRealServer]?.first?.path == "services[0].realServers[0]")

        let update = byAction[.updateService]?.first
        #expect(update?.path == "services[1]")
        #expect(update?.before == .service(F.svc()))
        #expect(update?.after == .service(F.svc(scheduler: .rr)))

        let weight = byAction[.updateRealServer]?.first
        #expect(weight?.path == "services[1].realServers[1]")
        #expect(weight?.before == .realServer(F.rs(2, weight: 100)))
        #expect(weight?.after == .realServer(F.rs(2, weight: 50)))

        let drain = byAction[.drainRealServer]?.first
        #expect(drain?.path == "services[1]")
        #expect(drain?.before == .realServer(F.rs(3)))
        #expect(drain?.after == .realServer(F.rs(3, weight: 0)))
        #expect(drain?.manifest == "web")

        #expect(plan.claims == [Claim(service: F.sid(443), manifest: "web")])
        #expect(plan.changes.map(\.action) == [.createService, .updateService, .addRealServer, .updateRealServer, .drainRealServer])
    }

    @Test func drainStartIsRecordedWithDeadlineAndPending() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)], drainTimeout: 45)])
        let live = F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3)], active: [3: 4], inactive: [3: 2])])
        let plan = Planner.plan(PlanInput(desired: [d], live: live, owners: Self.owned, now: 5000))
        #expect(plan.drainsToStart == [DrainState(service: F.sid(), realServer: F.rid(3), manifest: "web", startedAt: 5000, deadline: 5045)])
        #expect(plan.drainsToFinish.isEmpty)
        #expect(plan.pendingDrains == [PendingDrain(
            service: F.sid(), realServer: F.rid(3), manifest: "web", activeConnections: 4, inactiveConnections: 2,
            startedAt: 5000, deadline: 5045)])
        let after = plan.drains(after: [])
        #expect(after.map(\.key) == [F.key(80, 3)])
    }

    @Test func removedServerAlreadyAtWeightZeroWithConnectionsStartsADrainWithoutAWrite() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])
        let live = F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0)], inactive: [3: 2])])
        let plan = Planner.plan(PlanInput(desired: [d], live: live, owners: [F.sid(): "web"], now: 2000))
        #expect(plan.isEmpty)
        #expect(plan.hasBookkeeping)
        #expect(plan.drainsToStart == [DrainState(service: F.sid(), realServer: F.rid(3), manifest: "web", startedAt: 2000, deadline: 2030)])
        #expect(plan.pendingDrains.map(\.inactiveConnections) == [2])
    }

    @Test func duplicateRealServerInAManifestCountsOnce() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1, weight: 4), F.rs(1, weight: 9)])])
        let plan = Planner.plan(PlanInput(desired: [d], live: F.table([]), now: 0))
        #expect(plan.changes.map(F.line) == [
            "createService tcp/10.0.0.100:80: new service",
            "addRealServer tcp/10.0.0.100:80 10.0.0.1:80: new real server",
        ])
        #expect(plan.changes.last?.after == .realServer(F.rs(1, weight: 4)))
    }

    @Test func drainInProgressIsPendingAndKept() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2)])])
        let live = F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0)], active: [3: 1])])
        let drain = F.drain(3, started: 1000, deadline: 1030)
        let plan = Planner.plan(PlanInput(desired: [d], live: live, owners: Self.owned, drains: [drain], now: 1020))
        #expect(plan.isEmpty)
        #expect(plan.pendingDrains.map(\.realServer) == [F.rid(3)])
        #expect(plan.pendingDrains.first?.deadline == 1030)
        #expect(plan.drainsToStart.isEmpty)
        #expect(plan.drainsToFinish.isEmpty)
        #expect(plan.drains(after: [drain]) == [drain])
    }

    @Test func drainFinishedAndCancelledAndStaleRecordsAreReleased() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2), F.rs(4, weight: 3)])])
        let live = F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3, weight: 0), F.rs(4, weight: 0)], active: [4: 9])])
        // 3 finished (no connections), 4 cancelled (back in manifest), 5 stale (gone from the kernel),
        // and a drain of a service owned by another manifest stays.
        let others = DrainState(service: F.sid(5432), realServer: F.rid(1), manifest: "db", startedAt: 1000, deadline: 1030)
        let drains = [F.drain(3), F.drain(4), F.drain(5), others]
        let plan = Planner.plan(PlanInput(
            desired: [d], live: F.table(live.services + [F.live(F.svc(5432), [F.rs(1, port: 5432)])]),
            owners: Self.owned.merging([F.sid(5432): "db"]) { a, _ in a }, drains: drains, now: 1010))
        #expect(plan.changes.map(F.line) == [
            "updateRealServer tcp/10.0.0.100:80 10.0.0.4:80: back in manifest, drain cancelled: weight 0 → 3",
            "deleteRealServer tcp/10.0.0.100:80 10.0.0.3:80: drained: no connections left",
        ])
        #expect(plan.drainsToFinish == [F.key(80, 3), F.key(80, 4), F.key(80, 5)])
        #expect(plan.drains(after: drains) == [others])
    }

    @Test func drainRecordOfADeletedServiceIsReleased() {
        let live = F.table([F.live(F.svc(443), [F.rs(1, port: 443)])])
        let plan = Planner.plan(PlanInput(
            desired: [F.desired([])], live: live, owners: Self.owned, drains: [F.drain(443, 1), F.drain(8080, 1)], now: 1000,
            policy: PlanPolicy(allowDelete: true)))
        #expect(plan.changes.map(\.action) == [.deleteService])
        #expect(plan.drainsToFinish == [F.key(443, 1), F.key(8080, 1)])
        #expect(plan.releases == [F.sid(80), F.sid(443)])
        #expect(plan.owners(after: Self.owned).isEmpty)
        guard case .entry(let e)? = plan.changes.first?.before else {
            Issue.record("deleteService must carry the service and its real servers")
            return
        }
        #expect(e.service == F.svc(443))
        #expect(e.realServers == [F.rs(1, port: 443)])
    }

    @Test func foreignServicesAreListedAndUntouched() {
        let live = F.table([
            F.live(F.svc(), [F.rs(1)]),
            F.live(F.svc(8080), [F.rs(7)]),
            F.live(F.svc(53, .udp), [F.rs(7, port: 53)]),
        ])
        let plan = Planner.plan(PlanInput(
            desired: [F.desired([])], live: live, owners: [F.sid(80): "web"], now: 1000,
            policy: PlanPolicy(allowDelete: true)))
        #expect(plan.foreign == [F.sid(8080), F.sid(53, .udp)])
        #expect(plan.changes.map(\.service) == [F.sid(80)])
    }

    @Test func guardMessagesNameTheServiceAndTheNumbers() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1)])])
        let live = F.table([
            F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3), F.rs(4)]),
            F.live(F.svc(443), [F.rs(1, port: 443), F.rs(2, port: 443)]),
        ])
        let plan = Planner.plan(PlanInput(desired: [d], live: live, owners: Self.owned, now: 1000))
        #expect(plan.violations.map(\.description) == [
            "web: tcp/10.0.0.100:80: would remove 3 of 4 real servers (75% > 50%); pass --allow-removal",
            "web: tcp/10.0.0.100:443: would delete the service and its 2 real servers (not in manifest web); pass --allow-delete",
        ])
        #expect(!plan.isApplyable)
    }

    @Test func removalFractionIsConfigurable() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1), F.rs(2), F.rs(3)])])
        let live = F.table([F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3), F.rs(4)])])
        let strict = Planner.plan(PlanInput(desired: [d], live: live, owners: Self.owned, now: 1000, policy: PlanPolicy(maxRemovalFraction: 0.2)))
        #expect(strict.violations.map(\.message) == ["would remove 1 of 4 real servers (25% > 20%); pass --allow-removal"])
        let lax = Planner.plan(PlanInput(desired: [d], live: live, owners: Self.owned, now: 1000, policy: PlanPolicy(maxRemovalFraction: 0.25)))
        #expect(lax.violations.isEmpty)
    }

    @Test func portChangesCountAsRemovals() {
        let d = F.desired([F.spec(F.svc(), [F.rs(1, port: 81), F.rs(2, port: 81)])])
        let live = F.table([F.live(F.svc(), [F.rs(1), F.rs(2)])])
        let plan = Planner.plan(PlanInput(desired: [d], live: live, owners: Self.owned, now: 1000))
        #expect(plan.changes.map(\.action) == [.addRealServer, .addRealServer, .deleteRealServer, .deleteRealServer])
        #expect(plan.violations.map(\.kind) == [.removalFraction])
    }

    @Test func settingsConflictBetweenManifests() {
        let a = F.desired("a", [], settings: GlobalSettings(timeouts: Timeouts(tcp: 600, tcpFin: 0, udp: 0)))
        let b = F.desired("b", [], settings: GlobalSettings(timeouts: Timeouts(tcp: 700, tcpFin: 0, udp: 0)))
        let plan = Planner.plan(PlanInput(desired: [b, a], live: F.table([]), now: 1000))
        #expect(plan.violations.map(\.kind) == [.settingsConflict])
        #expect(plan.violations.first?.manifest == "b")
        #expect(plan.changes.first?.after == .timeouts(Timeouts(tcp: 600, tcpFin: 0, udp: 0)))
        #expect(plan.changes.first?.before == .timeouts(.kernelDefault))
        #expect(plan.changes.first?.path == "settings.timeouts")
    }

    @Test func oneManifestOwnsTheBGPSection() {
        let bgp = BGPConfig(localAS: 65001, routerID: ["d1": .v4(0x0a14_0002)], peers: [BGPPeer(address: .v4(0x0a14_0001), asn: 65000)])
        var a = F.desired("a", [])
        var b = F.desired("b", [])
        a.bgp = bgp
        #expect(Planner.plan(PlanInput(desired: [a, b], live: F.table([]), now: 1000)).violations.isEmpty)
        b.bgp = bgp
        let plan = Planner.plan(PlanInput(desired: [a, b], live: F.table([]), now: 1000))
        #expect(plan.violations.map(\.kind) == [.settingsConflict])
        #expect(plan.violations.first?.manifest == "b")
        #expect(plan.violations.first?.message.contains("bgp section") == true)
    }

    @Test func theSafeOrderAcrossEveryKindOfChange() {
        let d = F.desired(
            [
                F.spec(F.svc(443), [F.rs(2, port: 443), F.rs(1, port: 443)]),
                F.spec(F.svc(scheduler: .rr), [F.rs(1, weight: 5), F.rs(2), F.rs(3), F.rs(5)]),
            ],
            settings: GlobalSettings(timeouts: Timeouts(tcp: 60, tcpFin: 0, udp: 0), syncDaemons: [SyncDaemon(state: .master, interface: "eth0")]))
        let live = F.table(
            [
                F.live(F.svc(), [F.rs(1), F.rs(2), F.rs(3), F.rs(4), F.rs(6, weight: 0)], active: [4: 1]),
                F.live(F.svc(8443), [F.rs(1, port: 8443)]),
            ],
            daemons: [SyncDaemon(state: .backup, interface: "eth0")])
        let owners: [VirtualService.ID: String] = [F.sid(80): "web", F.sid(8443): "web"]
        let input = PlanInput(
            desired: [d], live: live, owners: owners, drains: [F.drain(80, 6)], now: 1000,
            policy: PlanPolicy(allowDelete: true))
        let plan = Planner.plan(input)
        #expect(plan.changes.map(F.line) == [
            "setTimeouts: tcp 900 → 60",
            "startSyncDaemon: not running",
            "createService tcp/10.0.0.100:443: new service",
            "updateService tcp/10.0.0.100:80: scheduler wlc → rr",
            "addRealServer tcp/10.0.0.100:80 10.0.0.5:80: new real server",
            "addRealServer tcp/10.0.0.100:443 10.0.0.1:443: new real server",
            "addRealServer tcp/10.0.0.100:443 10.0.0.2:443: new real server",
            "updateRealServer tcp/10.0.0.100:80 10.0.0.1:80: weight 1 → 5",
            "drainRealServer tcp/10.0.0.100:80 10.0.0.4:80: not in manifest: drain (weight 1 → 0, up to 30 s)",
            "deleteRealServer tcp/10.0.0.100:80 10.0.0.6:80: drained: no connections left",
            "deleteService tcp/10.0.0.100:8443: not in manifest (with its 1 real servers)",
            "stopSyncDaemon: not in manifest",
        ])

        // The same input in any order gives the same plan.
        var shuffled = input
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20 {
            shuffled.desired = [DesiredState(
                manifest: "web", services: d.services.shuffled(using: &rng).map { s in
                    var s = s
                    s.realServers.shuffle(using: &rng)
                    return s
                }, settings: d.settings)]
            let p = Planner.plan(shuffled)
            #expect(p.changes.map(F.line) == plan.changes.map(F.line))
        }
        #expect(Planner.plan(input) == plan)
    }

    @Test func planJSONRoundTrip() throws {
        let d = F.desired(
            [F.spec(F.svc(443, .tcp, scheduler: .sh, flags: [.sched1]), [F.rs(1, port: 443)]),
             F.spec(F.svc(), [F.rs(1, fwd: .tunnel, tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .remoteChecksum))])],
            settings: GlobalSettings(timeouts: Timeouts(tcp: 60, tcpFin: 0, udp: 0), syncDaemons: [SyncDaemon(state: .master, interface: "eth0")]))
        let live = F.table(
            [F.live(F.svc(), [F.rs(1), F.rs(2)], active: [2: 1]), F.live(F.svc(8443), [F.rs(3, port: 8443)])],
            daemons: [SyncDaemon(state: .backup, interface: "eth0", group: .v4(0xe000_0051))])
        let plan = Planner.plan(PlanInput(
            desired: [d], live: live, owners: [F.sid(80): "web", F.sid(8443): "web"], drains: [F.drain(80, 9)], now: 1234.5,
            policy: PlanPolicy(allowDelete: true)))
        #expect(Set(plan.changes.map(\.action)).count >= 7)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(plan)
        let back = try JSONDecoder().decode(Plan.self, from: data)
        #expect(back == plan)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"formatVersion\":\(Plan.currentFormatVersion)"))
        #expect(json.contains("\"baseFingerprint\":\"\(live.fingerprint)\""))
        #expect(json.contains("\"action\":\"drainRealServer\""))
        #expect(json.contains("\"entry\":{"))
    }

    @Test func aChangeValueWithTwoKindsIsRejected() {
        let json = #"{"timeouts":{"tcp":1,"tcpFin":2,"udp":3},"syncDaemon":{"state":1,"interface":"lo","syncID":0,"maxLength":0,"port":0,"ttl":0}}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Change.Value.self, from: Data(json.utf8)) }
    }

    @Test(arguments: [
        (Change.Action.createService, Character("+")), (.addRealServer, "+"), (.startSyncDaemon, "+"),
        (.updateService, "~"), (.updateRealServer, "~"), (.drainRealServer, "~"), (.setTimeouts, "~"),
        (.deleteService, "-"), (.deleteRealServer, "-"), (.stopSyncDaemon, "-"),
    ])
    func actionSymbols(_ action: Change.Action, _ symbol: Character) {
        #expect(action.symbol == symbol)
    }

    @Test func ipv6AndFwmarkServices() {
        guard let v6 = IPAddress("2001:db8::10"), let rs6 = IPAddress("2001:db8::1") else {
            Issue.record("test addresses must parse")
            return
        }
        let s6 = VirtualService(id: .address(.tcp, v6, port: 80), netmask: 64)
        let fw = VirtualService(id: .fwmark(7, .ipv4), scheduler: .rr)
        let r6 = RealServer(id: RealServer.ID(address: rs6, port: 80))
        let d = F.desired([F.spec(s6, [r6]), F.spec(fw, [F.rs(1, port: 0)])])
        let live = F.table([F.live(VirtualService(id: s6.id), [r6]), F.live(VirtualService(id: fw.id), [])])
        let plan = Planner.plan(PlanInput(desired: [d], live: live, owners: [s6.id: "web", fw.id: "web"], now: 1))
        #expect(plan.changes.map(F.line) == [
            "updateService tcp/[2001:db8::10]:80: netmask /128 → /64",
            "updateService fwmark/7: scheduler wlc → rr",
            "addRealServer fwmark/7 10.0.0.1:0: new real server",
        ])
    }
}

/// A small seeded generator, so shuffles and random tables repeat.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
