import LVSModel
import LVSPlan
import Testing

/// One drift case: a live table differing from the declared one in one way.
struct DriftCase: Sendable, CustomTestStringConvertible {
    var name: String
    var declared: ServiceSpec
    var live: LiveService?
    /// `kind realServer? field expected live` per item.
    var expected: [String]
    var testDescription: String { name }
}

private func describe(_ i: DriftItem) -> String {
    [i.kind.rawValue, i.realServer.map { "\($0)" }, i.field, i.expected ?? "-", i.live ?? "-"].compactMap { $0 }.joined(separator: " ")
}

extension DriftCase {
    static let base = F.spec(F.svc(scheduler: .wrr), [F.rs(1, weight: 10), F.rs(2, weight: 10)])
    static func with(_ change: (inout VirtualService, inout [RealServer]) -> Void) -> LiveService {
        var s = base.service
        var r = base.realServers.map(\.server)
        change(&s, &r)
        return F.live(s, r)
    }

    static let all: [DriftCase] = [
        DriftCase(name: "in sync", declared: base, live: with { _, _ in }, expected: []),
        DriftCase(name: "service missing", declared: base, live: nil, expected: ["missing service tcp/10.0.0.100:80 -"]),
        DriftCase(name: "scheduler", declared: base, live: with { s, _ in s.scheduler = .rr }, expected: ["changed scheduler wrr rr"]),
        DriftCase(name: "flags", declared: base, live: with { s, _ in s.flags = .onePacket }, expected: ["changed flags none one-packet"]),
        DriftCase(name: "timeout", declared: base, live: with { s, _ in s.timeout = 30 }, expected: ["changed timeout 0 30"]),
        DriftCase(name: "netmask", declared: base, live: with { s, _ in s.netmask = 0xffff_0000 }, expected: ["changed netmask 255.255.255.255 255.255.0.0"]),
        DriftCase(name: "persistence engine", declared: base, live: with { s, _ in s.persistenceEngine = "sip" }, expected: ["changed persistenceEngine none sip"]),
        DriftCase(name: "weight", declared: base, live: with { _, r in r[0].weight = 3 }, expected: ["changed 10.0.0.1:80 weight 10 3"]),
        DriftCase(name: "forwarding", declared: base, live: with { _, r in r[1].forwarding = .masquerade }, expected: ["changed 10.0.0.2:80 forwarding dr nat"]),
        DriftCase(name: "upper threshold", declared: base, live: with { _, r in r[0].upperThreshold = 5 }, expected: ["changed 10.0.0.1:80 upperThreshold 0 5"]),
        DriftCase(name: "lower threshold", declared: base, live: with { _, r in r[0].lowerThreshold = 5; r[0].upperThreshold = 9 },
                  expected: ["changed 10.0.0.1:80 upperThreshold 0 9", "changed 10.0.0.1:80 lowerThreshold 0 5"]),
        DriftCase(name: "tunnel type", declared: base, live: with { _, r in r[0].tunnel.type = .gre }, expected: ["changed 10.0.0.1:80 tunnel.type ipip gre"]),
        DriftCase(name: "tunnel port", declared: base, live: with { _, r in r[0].tunnel.port = 9 }, expected: ["changed 10.0.0.1:80 tunnel.port 0 9"]),
        DriftCase(name: "tunnel checksum", declared: base, live: with { _, r in r[0].tunnel.checksum = .checksum }, expected: ["changed 10.0.0.1:80 tunnel.checksum nocsum csum"]),
        DriftCase(name: "real server missing", declared: base, live: with { _, r in r.removeLast() }, expected: ["missing 10.0.0.2:80 realServer 10.0.0.2:80 -"]),
        DriftCase(name: "real server unexpected", declared: base, live: with { _, r in r.append(F.rs(3, weight: 4)) },
                  expected: ["unexpected 10.0.0.3:80 realServer - 10.0.0.3:80 weight 4"]),
    ]
}

@Suite("Drift: declared vs live, field by field")
struct DriftTests {
    @Test(arguments: DriftCase.all)
    func field(_ c: DriftCase) {
        let items = Drift.compute(
            desired: [F.desired([c.declared])], live: F.table(c.live.map { [$0] } ?? []), owners: [F.sid(): "web"])
        #expect(items.map(describe) == c.expected)
        #expect(items.allSatisfy { $0.manifest == "web" && $0.service == F.sid() })
    }

    @Test func ownedServiceNotDeclaredIsUnexpectedForeignIsSeparate() {
        let live = F.table([
            F.live(F.svc(), [F.rs(1)]),
            F.live(F.svc(443), [F.rs(1, port: 443)]),
            F.live(F.svc(8080), [F.rs(1)]),
            F.live(F.svc(5432), [F.rs(1)]),
        ])
        let owners: [VirtualService.ID: String] = [F.sid(): "web", F.sid(443): "web", F.sid(5432): "db"]
        let desired = [F.desired([F.spec(F.svc(), [F.rs(1)])])]
        let items = Drift.compute(desired: desired, live: live, owners: owners)
        #expect(items.map(describe) == ["unexpected service - tcp/10.0.0.100:443 with 1 real servers"])
        #expect(items.first?.service == F.sid(443))
        #expect(Drift.foreign(desired: desired, live: live, owners: owners) == [F.sid(8080)])
    }

    @Test func weightOverridesAreNotDrift() {
        let d = [F.desired([F.spec(F.svc(), [F.rs(1, weight: 10)])])]
        let live = F.table([F.live(F.svc(), [F.rs(1, weight: 0)])])
        #expect(Drift.compute(desired: d, live: live, owners: [F.sid(): "web"]).count == 1)
        #expect(Drift.compute(desired: d, live: live, owners: [F.sid(): "web"], weightOverrides: [F.key(80, 1): 0]).isEmpty)
    }

    @Test func kernelWideSettings() {
        let settings = GlobalSettings(
            timeouts: Timeouts(tcp: 600, tcpFin: 0, udp: 300),
            syncDaemons: [SyncDaemon(state: .master, interface: "eth0", syncID: 3), SyncDaemon(state: .backup, interface: "eth0")])
        let live = F.table([], daemons: [SyncDaemon(state: .master, interface: "eth0", syncID: 4, maxLength: 1472, port: 8848, ttl: 1)])
        let items = Drift.compute(desired: [F.desired([], settings: settings)], live: live, owners: [:])
        #expect(items.map(describe) == [
            "changed timeouts.tcp 600 900",
            "changed syncDaemons[master].syncID 3 4",
            "missing syncDaemon backup on eth0 -",
        ])
        #expect(items.allSatisfy { $0.service == nil })
    }

    @Test func driftIsEmptyExactlyWhenThePlanIsEmpty() {
        let d = [F.desired([F.spec(F.svc(), [F.rs(1, weight: 10)])])]
        let same = F.table([F.live(F.svc(), [F.rs(1, weight: 10)])])
        let other = F.table([F.live(F.svc(), [F.rs(1, weight: 11)])])
        let owners = [F.sid(): "web"]
        #expect(Drift.compute(desired: d, live: same, owners: owners).isEmpty)
        #expect(Planner.plan(PlanInput(desired: d, live: same, owners: owners, now: 0)).isEmpty)
        #expect(!Drift.compute(desired: d, live: other, owners: owners).isEmpty)
        #expect(!Planner.plan(PlanInput(desired: d, live: other, owners: owners, now: 0)).isEmpty)
    }
}
