import Foundation
import LVSHealth
import LVSModel
import LVSTestSupport
import Testing

/// A prober that plays a script of results per target and records concurrency.
actor ScriptedProber: Prober {
    private var scripts: [ServiceRealServerKey: [ProbeResult]]
    private(set) var calls: [ServiceRealServerKey: Int] = [:]
    private(set) var maxInFlight = 0
    private var inFlight = 0
    let holdFor: Duration

    init(scripts: [ServiceRealServerKey: [ProbeResult]], holdFor: Duration = .zero) {
        self.scripts = scripts
        self.holdFor = holdFor
    }

    nonisolated func probe(_ target: HealthTarget) async -> ProbeResult {
        await begin()
        if holdFor > .zero { try? await Task.sleep(for: holdFor) }
        return await end(target.key)
    }

    private func begin() {
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
    }

    private func end(_ key: ServiceRealServerKey) -> ProbeResult {
        inFlight -= 1
        calls[key, default: 0] += 1
        guard var script = scripts[key], !script.isEmpty else { return .success }
        let r = script.removeFirst()
        scripts[key] = script
        return r
    }

    func callCount(_ key: ServiceRealServerKey) -> Int { calls[key] ?? 0 }
}

/// Records the delays the checker asks for and returns at once (after a yield).
final class DelayLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Duration] = []
    var sleep: HealthChecker.Sleep {
        { d in
            self.append(d)
            try await Task.sleep(for: .milliseconds(2))
        }
    }
    private func append(_ d: Duration) { lock.withLock { items.append(d) } }
    var values: [Duration] { lock.withLock { items } }
}

@Suite struct HealthCheckerTests {
    static let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.1")!, port: 80)

    static func target(_ last: Int, check: HealthCheck = HealthCheck(type: .tcp, interval: 1)) -> HealthTarget {
        let id = RealServer.ID("10.0.0.\(last):80")!
        return HealthTarget(key: ServiceRealServerKey(service: vip, realServer: id), serviceName: "web", address: id.address, port: 80, check: check)
    }

    @Test func publishesEachTransitionOnce() async throws {
        let t = Self.target(11)
        let prober = ScriptedProber(scripts: [
            t.key: [.success, .failure("connect refused"), .failure("connect refused"), .failure("connect refused"), .success, .success]
        ])
        let delays = DelayLog()
        let checker = HealthChecker(targets: [t], prober: prober, sleep: delays.sleep)
        await checker.start()
        var events: [HealthEvent] = []
        for await e in checker.events {
            events.append(e)
            if events.count == 2 { break }
        }
        await checker.stop()
        #expect(events.map(\.transition) == [
            HealthTracker.Transition(from: .up, to: .down), HealthTracker.Transition(from: .down, to: .up),
        ])
        #expect(events[0].result == .failure("connect refused"))
        #expect(events[0].key == t.key)
        #expect(events[0].serviceName == "web")
        #expect(await prober.callCount(t.key) >= 5)
        #expect(delays.values.prefix(2) == [.seconds(1), .seconds(1)])
    }

    @Test func boundsProbesInFlight() async throws {
        let targets = (11..<19).map { Self.target($0) }
        let prober = ScriptedProber(scripts: [:], holdFor: .milliseconds(50))
        let checker = HealthChecker(
            config: HealthCheckerConfig(maxConcurrentProbes: 3), targets: targets, prober: prober,
            sleep: { _ in try await Task.sleep(for: .milliseconds(1)) })
        await checker.start()
        // Wait (up to 10 s on a loaded machine) until every target was probed at least twice.
        for _ in 0..<1000 {
            var done = true
            for t in targets where await prober.callCount(t.key) < 2 { done = false }
            if done { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        await checker.stop()
        #expect(await prober.maxInFlight == 3)
        for t in targets { #expect(await prober.callCount(t.key) >= 2) }
    }

    @Test func stopFinishesTheStreamAndProbing() async throws {
        let t = Self.target(11)
        let prober = ScriptedProber(scripts: [:])
        let checker = HealthChecker(targets: [t], prober: prober, sleep: { _ in try await Task.sleep(for: .milliseconds(5)) })
        await checker.start()
        try await Task.sleep(for: .milliseconds(50))
        await checker.stop()
        var count = 0
        for await _ in checker.events { count += 1 }
        #expect(count == 0)
        let calls = await prober.callCount(t.key)
        try await Task.sleep(for: .milliseconds(50))
        #expect(await prober.callCount(t.key) <= calls + 1)
    }

    @Test func updateDropsRemovedTargetsAndKeepsUnchangedOnes() async throws {
        let a = Self.target(11)
        let b = Self.target(12, check: HealthCheck(type: .tcp, interval: 1, alpha: true))
        let prober = ScriptedProber(scripts: [a.key: [.failure("connect refused")]])
        let checker = HealthChecker(targets: [a, b], prober: prober, sleep: { _ in try await Task.sleep(for: .seconds(60)) })
        #expect(await checker.states() == [a.key: .up, b.key: .down])
        await checker.start()
        var iterator = checker.events.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.key == a.key || first?.key == b.key)
        await checker.update(targets: [a])
        let states = await checker.states()
        #expect(states.keys.sorted() == [a.key])
        await checker.stop()
    }

    @Test func realTCPChecksEndToEnd() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let closed = try LoopbackServer.closedPort()
        let vip = Self.vip
        func target(_ port: UInt16) -> HealthTarget {
            let id = RealServer.ID(address: IPAddress("127.0.0.1")!, port: port)
            return HealthTarget(
                key: ServiceRealServerKey(service: vip, realServer: id), serviceName: "web", address: id.address, port: port,
                check: HealthCheck(type: .tcp, connectTimeout: 1, retry: 2, delayBeforeRetry: 0.05, interval: 0.05))
        }
        let good = target(server.port)
        let bad = target(closed)
        let checker = HealthChecker(targets: [good, bad])
        await checker.start()
        var iterator = checker.events.makeAsyncIterator()
        let event = try #require(await iterator.next())
        #expect(event.key == bad.key)
        #expect(event.transition.to == .down)
        #expect(event.result == .failure("connect refused"))
        let states = await checker.states()
        #expect(states[good.key] == .up)
        #expect(states[bad.key] == .down)
        #expect(await checker.tracker(for: bad.key)?.consecutiveFailures ?? 0 >= 2)
        await checker.stop()
    }

    @Test func execChecksAreListedForRejection() {
        let exec = HealthCheck(type: .exec, command: ["/usr/local/bin/check"])
        let state = DesiredState(manifest: "m", services: [
            ServiceSpec(name: "a", service: VirtualService(id: Self.vip), healthCheck: exec),
            ServiceSpec(
                name: "b", service: VirtualService(id: .address(.tcp, IPAddress("10.0.0.2")!, port: 80)),
                realServers: [
                    RealServerSpec(server: RealServer(id: RealServer.ID("10.0.0.21:80")!), healthCheck: exec),
                    RealServerSpec(server: RealServer(id: RealServer.ID("10.0.0.22:80")!)),
                ], healthCheck: HealthCheck(type: .tcp)),
            ServiceSpec(name: "c", service: VirtualService(id: .address(.tcp, IPAddress("10.0.0.3")!, port: 80)), healthCheck: HealthCheck(type: .http)),
        ])
        #expect(HealthChecker.execChecks(in: state) == ["a", "b real server 10.0.0.21:80"])
    }

    @Test func targetsComeFromTheDesiredState() {
        let check = HealthCheck(type: .http, port: 8080)
        let state = DesiredState(manifest: "m", services: [
            ServiceSpec(
                name: "web", service: VirtualService(id: Self.vip),
                realServers: [
                    RealServerSpec(server: RealServer(id: RealServer.ID("10.0.0.11:80")!)),
                    RealServerSpec(server: RealServer(id: RealServer.ID("10.0.0.12:81")!), healthCheck: HealthCheck(type: .tcp)),
                ], healthCheck: check, sorryServer: RealServer(id: RealServer.ID("10.0.0.99:80")!)),
            ServiceSpec(
                name: "unchecked", service: VirtualService(id: .address(.udp, IPAddress("10.0.0.1")!, port: 53)),
                realServers: [RealServerSpec(server: RealServer(id: RealServer.ID("10.0.0.31:53")!))]),
        ])
        let targets = HealthTarget.targets(in: state)
        #expect(targets.map(\.port) == [8080, 81])
        #expect(targets.map(\.check.type) == [.http, .tcp])
        #expect(targets.map(\.key.checkName) == ["tcp/10.0.0.1:80/10.0.0.11:80", "tcp/10.0.0.1:80/10.0.0.12:81"])
    }
}
