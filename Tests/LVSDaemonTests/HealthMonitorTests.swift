import Foundation
import LVSDaemon
import LVSHealth
import LVSModel
import LVSNotify
import LVSStore
import Testing

/// A prober whose answers the test sets per target.
final class ScriptedProber: Prober, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [ServiceRealServerKey: ProbeResult] = [:]
    func set(_ key: ServiceRealServerKey, _ r: ProbeResult) { lock.withLock { answers[key] = r } }
    func probe(_ target: HealthTarget) async -> ProbeResult {
        lock.withLock { answers[target.key] ?? .success }
    }
}

actor TransitionsBox {
    private(set) var all: [HealthMonitor.Transition] = []
    func add(_ t: [HealthMonitor.Transition]) { all += t }
}

/// A sink that remembers what it was sent.
actor RecordingSink: NotificationSink {
    nonisolated var name: String { "recording" }
    private(set) var sent: [LVSNotify.Notification] = []
    func send(_ notification: LVSNotify.Notification) async throws { sent.append(notification) }
}

@Suite struct HealthMonitorTests {
    let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.100")!, port: 80)
    let rs = RealServer.ID(address: IPAddress("10.0.0.11")!, port: 80)
    var key: ServiceRealServerKey { ServiceRealServerKey(service: vip, realServer: rs) }

    func target(rise: UInt32 = 1) -> HealthTarget {
        HealthTarget(
            key: key, serviceName: "web", address: rs.address, port: 80,
            check: HealthCheck(type: .tcp, retry: 2, delayBeforeRetry: 0.01, interval: 0.01, rise: rise))
    }

    /// Polls `body` until it is true or 5 s pass.
    func eventually(_ body: () async -> Bool) async -> Bool {
        for _ in 0..<500 {
            if await body() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// A monitor over an in-memory store with one target, polled until its first result (up).
    func monitorWithOneServerUp() async throws -> (Store, ScriptedProber, HealthChecker, HealthMonitor) {
        let store = try Store.inMemory()
        let prober = ScriptedProber()
        let checker = HealthChecker(prober: prober)
        let monitor = HealthMonitor(checker: checker, store: store)
        await monitor.update(targets: [target()])
        let k = key
        #expect(await eventually {
            _ = await monitor.refresh()
            return await monitor.states()[k] == .up
        })
        return (store, prober, checker, monitor)
    }

    @Test func transitionsArePersistedAndReportedOnce() async throws {
        let (store, prober, checker, monitor) = try await monitorWithOneServerUp()
        prober.set(key, .failure("connect refused"))
        var seen: [HealthMonitor.Transition] = []
        #expect(await eventually {
            seen += await monitor.refresh()
            return !seen.isEmpty
        })
        #expect(seen.map(\.to) == [.down])
        #expect(seen.first?.message == "connect refused")
        #expect(try store.health(service: vip, realServer: rs)?.healthy == false)
        try? await Task.sleep(for: .milliseconds(100))
        #expect(await monitor.refresh().isEmpty, "no transition while it stays down")
        await checker.stop()
    }

    /// After a new revision the next result is stored even though the state holds: `status`
    /// shows a check made since (the rollout's health gate waits for one); when it changed stays.
    @Test func aConfirmationStoresTheNextCheckWithoutATransition() async throws {
        let (store, _, checker, monitor) = try await monitorWithOneServerUp()
        let first = try #require(try store.health(service: vip, realServer: rs))
        try? await Task.sleep(for: .milliseconds(100))
        #expect(await monitor.refresh().isEmpty)
        #expect(try store.health(service: vip, realServer: rs)?.lastCheck == first.lastCheck, "only transitions are stored")
        await monitor.confirmNextResults()
        let asked = Date()
        let (v, r) = (vip, rs)
        let transitions = TransitionsBox()
        #expect(await eventually {
            await transitions.add(await monitor.refresh())
            return (try? store.health(service: v, realServer: r))??.lastCheck.map { $0 >= asked } == true
        })
        #expect(await transitions.all.isEmpty, "no transition")
        let confirmed = try #require(try store.health(service: vip, realServer: rs))
        #expect(confirmed.healthy && confirmed.changedAt == first.changedAt)
        // Once: later results are not stored again.
        try? await Task.sleep(for: .milliseconds(100))
        _ = await monitor.refresh()
        #expect(try store.health(service: vip, realServer: rs)?.lastCheck == confirmed.lastCheck)
        await checker.stop()
    }

    @Test func restoredDownStaysDownUntilRiseSuccesses() async throws {
        let store = try Store.inMemory()
        let prober = ScriptedProber()
        prober.set(key, .failure("timeout"))
        let checker = HealthChecker(prober: prober)
        let monitor = HealthMonitor(checker: checker, store: store, restored: [key: .down])
        await monitor.update(targets: [target(rise: 3)])
        // The tracker starts up and needs two failures to go down: the restored down holds.
        try? await Task.sleep(for: .milliseconds(100))
        #expect(await monitor.refresh().isEmpty)
        let held = await monitor.states()[key]
        #expect(held == .down)
        prober.set(key, .success)
        var seen: [HealthMonitor.Transition] = []
        #expect(await eventually {
            seen += await monitor.refresh()
            return !seen.isEmpty
        })
        #expect(seen.map(\.to) == [.up])
        #expect(try store.health(service: vip, realServer: rs)?.healthy == true)
        await checker.stop()
    }

    @Test func notifierDedupesRepeatedStates() async throws {
        let sink = RecordingSink()
        let notifier = Notifier(sinks: [sink], initialStates: ["REALSERVER \(key.checkName)": "UP"])
        func rsNote(_ up: Bool) -> LVSNotify.Notification {
            .realServer(up: up, service: vip, realServer: rs, message: "m")
        }
        #expect(await notifier.notify(rsNote(true)) == false, "restored state: not re-sent")
        #expect(await notifier.notify(rsNote(false)) == true)
        #expect(await notifier.notify(rsNote(false)) == false)
        #expect(await notifier.notify(rsNote(true)) == true)
        await notifier.flush()
        let states = await sink.sent.map(\.state)
        #expect(states == ["DOWN", "UP"])
    }

    @Test func configDefaultsAndPartialFiles() throws {
        // A missing file is an error naming it (a mistyped --config once meant every default).
        #expect { try DaemonConfig.load(path: "/nonexistent/daemon.json") } throws: { e in
            "\(e)".contains("/nonexistent/daemon.json: no daemon config")
        }
        #expect(try DaemonConfig.parse(Array("{}".utf8), file: "d.json") == DaemonConfig())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("d.json").path
        try Data(#"{"interval": 2, "allowExecChecks": true, "notify": {"exec": {"path": "/bin/true", "timeout": 5}}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let c = try DaemonConfig.load(path: path)
        #expect(c.interval == 2 && c.allowExecChecks && c.metricsAddress == "127.0.0.1:9470")
        #expect(c.notify.exec?.path == "/bin/true")
        try Data(#"{"metricsAddress": "nope"}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: DaemonConfig.LoadError.self) { try DaemonConfig.load(path: path) }
    }
}
