import LVSHealth
import LVSModel
import Testing

@Suite struct HealthOverlayTests {
    static let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.1")!, port: 80)

    static func rs(_ last: Int, weight: UInt32 = 1) -> RealServerSpec {
        RealServerSpec(server: RealServer(id: RealServer.ID("10.0.0.\(last):80")!, forwarding: .masquerade, weight: weight))
    }

    static func key(_ last: Int) -> ServiceRealServerKey {
        ServiceRealServerKey(service: vip, realServer: RealServer.ID("10.0.0.\(last):80")!)
    }

    static let sorry = RealServer(id: RealServer.ID("10.0.0.99:80")!, forwarding: .masquerade, weight: 1)

    static func state(
        weights: [UInt32] = [100, 100, 100], inhibit: Bool = false, sorry: RealServer? = nil,
        quorum: UInt32? = nil, hysteresis: UInt32? = nil
    ) -> DesiredState {
        let servers = weights.enumerated().map { rs(11 + $0.offset, weight: $0.element) }
        return DesiredState(manifest: "web", services: [
            ServiceSpec(
                name: "web", service: VirtualService(id: vip), realServers: servers,
                healthCheck: HealthCheck(type: .tcp), sorryServer: sorry, quorum: quorum, hysteresis: hysteresis,
                inhibitOnFailure: inhibit)
        ])
    }

    /// (address last octet, weight) of the overlaid service, in order.
    static func table(_ r: HealthOverlay.Result) -> [String] {
        r.desired.services[0].realServers.map { "\($0.server.id.address.bytes[3])=\($0.server.weight)" }
    }

    @Test func allHealthyIsUnchanged() {
        let desired = Self.state()
        let r = HealthOverlay.apply(desired: desired, health: [Self.key(11): .up])
        #expect(r.desired == desired)
        #expect(r.quorum[Self.vip] == true)
        #expect(r.changes.isEmpty)
    }

    @Test func downServerIsRemovedWithoutInhibit() {
        let r = HealthOverlay.apply(desired: Self.state(), health: [Self.key(12): .down])
        #expect(Self.table(r) == ["11=100", "13=100"])
    }

    @Test func downServerGetsWeightZeroWithInhibit() {
        let r = HealthOverlay.apply(desired: Self.state(inhibit: true), health: [Self.key(12): .down])
        #expect(Self.table(r) == ["11=100", "12=0", "13=100"])
    }

    @Test func recoveredServerGetsItsManifestWeightBack() {
        let desired = Self.state(weights: [30, 70], inhibit: true)
        let down = HealthOverlay.apply(desired: desired, health: [Self.key(12): .down])
        #expect(Self.table(down) == ["11=30", "12=0"])
        let up = HealthOverlay.apply(desired: desired, health: [Self.key(12): .up], previousQuorum: down.quorum)
        #expect(Self.table(up) == ["11=30", "12=70"])
    }

    @Test func drainedServerGetsWeightZeroAndDoesNotCountForQuorum() {
        let r = HealthOverlay.apply(
            desired: Self.state(weights: [100, 100], sorry: Self.sorry, quorum: 150), health: [:],
            maintenance: [Self.key(11)], previousQuorum: [Self.vip: true])
        // 100 healthy < 150: quorum lost; the drained server stays at weight 0, the other goes.
        #expect(r.quorum[Self.vip] == false)
        #expect(Self.table(r) == ["11=0", "99=1"])
    }

    @Test func sorryServerWhenEveryServerIsDown() {
        let health: [ServiceRealServerKey: HealthState] = [Self.key(11): .down, Self.key(12): .down, Self.key(13): .down]
        let r = HealthOverlay.apply(desired: Self.state(sorry: Self.sorry), health: health, previousQuorum: [Self.vip: true])
        #expect(Self.table(r) == ["99=1"])
        #expect(r.changes.map(\.hasQuorum) == [false])
        #expect(r.changes.first?.initial == false)
        // Back up: the sorry server goes, the servers return.
        let back = HealthOverlay.apply(desired: Self.state(sorry: Self.sorry), health: [:], previousQuorum: r.quorum)
        #expect(Self.table(back) == ["11=100", "12=100", "13=100"])
        #expect(back.changes.map(\.hasQuorum) == [true])
    }

    @Test func sorryServerWithInhibitKeepsServersAtWeightZero() {
        let health: [ServiceRealServerKey: HealthState] = [Self.key(11): .down, Self.key(12): .down, Self.key(13): .up]
        let r = HealthOverlay.apply(
            desired: Self.state(inhibit: true, sorry: Self.sorry, quorum: 200), health: health,
            previousQuorum: [Self.vip: true])
        // 100 < 200: quorum lost; even the healthy server is taken out (weight 0), as keepalived does.
        #expect(Self.table(r) == ["11=0", "12=0", "13=0", "99=1"])
    }

    @Test func withoutSorryServerQuorumLossIsReportedOnly() {
        let health: [ServiceRealServerKey: HealthState] = [Self.key(11): .down, Self.key(12): .down, Self.key(13): .down]
        let r = HealthOverlay.apply(desired: Self.state(), health: health, previousQuorum: [Self.vip: true])
        #expect(Self.table(r) == [])
        #expect(r.changes.map(\.hasQuorum) == [false])
    }

    struct QuorumCase: Sendable, CustomStringConvertible {
        var previous: Bool?
        var healthyServers: Int
        var expected: Bool
        var change: Bool?
        var description: String { "previous \(String(describing: previous)), \(healthyServers) healthy" }
    }

    /// quorum 250, hysteresis 50, servers of weight 100: lost below 200, regained at 300.
    @Test(arguments: [
        QuorumCase(previous: nil, healthyServers: 3, expected: true, change: nil),
        QuorumCase(previous: nil, healthyServers: 2, expected: false, change: false),
        QuorumCase(previous: true, healthyServers: 2, expected: true, change: nil),
        QuorumCase(previous: true, healthyServers: 1, expected: false, change: false),
        QuorumCase(previous: false, healthyServers: 2, expected: false, change: nil),
        QuorumCase(previous: false, healthyServers: 3, expected: true, change: true),
        QuorumCase(previous: true, healthyServers: 0, expected: false, change: false),
    ])
    func quorumWithHysteresis(_ c: QuorumCase) {
        var health: [ServiceRealServerKey: HealthState] = [:]
        for i in 0..<3 { health[Self.key(11 + i)] = i < c.healthyServers ? .up : .down }
        let previous = c.previous.map { [Self.vip: $0] } ?? [:]
        let r = HealthOverlay.apply(
            desired: Self.state(sorry: Self.sorry, quorum: 250, hysteresis: 50), health: health, previousQuorum: previous)
        #expect(r.quorum[Self.vip] == c.expected)
        #expect(r.changes.first?.hasQuorum == c.change)
        #expect(r.changes.count == (c.change == nil ? 0 : 1))
        if c.previous == nil, c.change != nil { #expect(r.changes.first?.initial == true) }
        #expect(Self.table(r).contains("99=1") == !c.expected)
    }

    @Test func hysteresisLargerThanQuorumLosesOnlyAtZero() {
        var health: [ServiceRealServerKey: HealthState] = [Self.key(11): .up, Self.key(12): .down, Self.key(13): .down]
        let desired = Self.state(weights: [1, 1, 1], quorum: 2, hysteresis: 5)
        var r = HealthOverlay.apply(desired: desired, health: health, previousQuorum: [Self.vip: true])
        #expect(r.quorum[Self.vip] == true)
        health[Self.key(11)] = .down
        r = HealthOverlay.apply(desired: desired, health: health, previousQuorum: r.quorum)
        #expect(r.quorum[Self.vip] == false)
    }

    @Test func sorryServerReplacesARealServerWithTheSameAddress() {
        let sameAsFirst = RealServer(id: RealServer.ID("10.0.0.11:80")!, forwarding: .masquerade, weight: 5)
        let health: [ServiceRealServerKey: HealthState] = [Self.key(11): .down, Self.key(12): .down, Self.key(13): .down]
        let r = HealthOverlay.apply(
            desired: Self.state(inhibit: true, sorry: sameAsFirst), health: health, previousQuorum: [Self.vip: true])
        #expect(Self.table(r) == ["12=0", "13=0", "11=5"])
    }

    @Test func serversWithoutHealthEntriesCountAsUp() {
        let r = HealthOverlay.apply(desired: Self.state(sorry: Self.sorry), health: [:])
        #expect(Self.table(r) == ["11=100", "12=100", "13=100"])
        #expect(r.quorum[Self.vip] == true)
    }

    @Test func serviceWithoutRealServersStartsWithTheSorryServer() {
        let r = HealthOverlay.apply(desired: Self.state(weights: [], sorry: Self.sorry), health: [:])
        #expect(Self.table(r) == ["99=1"])
        #expect(r.changes.first?.initial == true)
    }
}
