import LVSModel
import Logging

/// Daemon-side settings of the health checker; never read from manifests.
public struct HealthCheckerConfig: Hashable, Sendable, Codable {
    /// Whether `exec` checks may run. Off by default: a manifest (from CI, say) must never make
    /// the director run programs unless the operator allowed it here.
    public var allowExec: Bool
    /// The most probes in flight at once.
    public var maxConcurrentProbes: Int

    public init(allowExec: Bool = false, maxConcurrentProbes: Int = 16) {
        self.allowExec = allowExec
        self.maxConcurrentProbes = maxConcurrentProbes
    }
}

/// A real server changed state.
public struct HealthEvent: Hashable, Sendable {
    public var key: ServiceRealServerKey
    public var serviceName: String
    public var transition: HealthTracker.Transition
    /// The probe result that caused the change.
    public var result: ProbeResult
}

/// Runs the probes of a set of targets on their schedules and publishes state changes.
///
/// Each target has its own loop: probe, feed its ``HealthTracker``, sleep for the delay the
/// tracker returns. At most ``HealthCheckerConfig/maxConcurrentProbes`` probes run at once.
/// Changes are published on ``events``; ``states()`` gives the current state of every target.
/// ``stop()`` cancels every loop and finishes the stream. Sleep is injected so tests need not
/// wait for real intervals.
public actor HealthChecker {
    public typealias Sleep = @Sendable (Duration) async throws -> Void

    public nonisolated let events: AsyncStream<HealthEvent>
    private let continuation: AsyncStream<HealthEvent>.Continuation
    private let config: HealthCheckerConfig
    private let prober: any Prober
    private let sleep: Sleep
    private let logger: Logger

    private var targets: [ServiceRealServerKey: HealthTarget] = [:]
    private var trackers: [ServiceRealServerKey: HealthTracker] = [:]
    private var loops: [ServiceRealServerKey: (generation: UInt64, task: Task<Void, Never>)] = [:]
    private var nextGeneration: UInt64 = 0
    private var running = false
    private var stopped = false
    private var inFlight = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameters:
    ///   - prober: how to probe; default ``ProbeRunner`` with the config's `allowExec`.
    ///   - sleep: how to wait between probes; default `Task.sleep(for:)`.
    public init(
        config: HealthCheckerConfig = HealthCheckerConfig(), targets: [HealthTarget] = [],
        prober: (any Prober)? = nil,
        sleep: @escaping Sleep = { try await Task.sleep(for: $0) },
        logger: Logger = Logger(label: "lvsctl.health")
    ) {
        self.config = config
        self.prober = prober ?? ProbeRunner(allowExec: config.allowExec)
        self.sleep = sleep
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: HealthEvent.self, bufferingPolicy: .unbounded)
        for t in targets {
            self.targets[t.key] = t
            self.trackers[t.key] = HealthTracker(check: t.check)
        }
    }

    /// The services and real servers of `state` that use an `exec` check, as
    /// `service-name` or `service-name real server 10.0.0.11:80`; the daemon rejects such a
    /// manifest up front unless its config sets `allowExec: true`.
    public static func execChecks(in state: DesiredState) -> [String] {
        var out: [String] = []
        for service in state.services {
            if service.healthCheck?.type == .exec { out.append(service.name) }
            for rs in service.realServers where rs.healthCheck?.type == .exec {
                out.append("\(service.name) real server \(rs.server.id)")
            }
        }
        return out
    }

    /// Starts a loop for every target. Calling it again does nothing.
    public func start() {
        guard !running, !stopped else { return }
        running = true
        if !config.allowExec {
            for t in targets.values.sorted(by: { $0.key < $1.key }) where t.check.type == .exec {
                logger.info(
                    "exec check refused: allowExec is off",
                    metadata: ["health.target": "\(t.key.checkName)", "ipvs.service": "\(t.serviceName)"])
            }
        }
        for key in targets.keys.sorted() { launch(key) }
    }

    /// Replaces the target set. Unchanged targets keep their state and schedule; new or
    /// changed ones start afresh (a changed check gets a new tracker); removed ones stop.
    public func update(targets newTargets: [HealthTarget]) {
        guard !stopped else { return }
        let incoming = Dictionary(newTargets.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
        for key in targets.keys where incoming[key] == nil {
            loops[key]?.task.cancel()
            loops[key] = nil
            targets[key] = nil
            trackers[key] = nil
        }
        for (key, target) in incoming.sorted(by: { $0.key < $1.key }) where targets[key] != target {
            loops[key]?.task.cancel()
            loops[key] = nil
            targets[key] = target
            trackers[key] = HealthTracker(check: target.check)
            if running { launch(key) }
        }
    }

    /// Cancels every loop and finishes ``events``. The checker cannot be restarted.
    public func stop() {
        stopped = true
        running = false
        for (_, loop) in loops { loop.task.cancel() }
        loops = [:]
        let pending = waiters
        waiters = []
        for w in pending { w.resume() }
        continuation.finish()
    }

    /// The current state of every target.
    public func states() -> [ServiceRealServerKey: HealthState] {
        trackers.mapValues(\.state)
    }

    /// The tracker of one target (its counters and last result), if it is checked.
    public func tracker(for key: ServiceRealServerKey) -> HealthTracker? { trackers[key] }

    private func launch(_ key: ServiceRealServerKey) {
        guard let target = targets[key], let tracker = trackers[key] else { return }
        nextGeneration += 1
        let generation = nextGeneration
        let prober = self.prober
        let sleep = self.sleep
        let first = tracker.initialDelay
        let task = Task { [weak self] in
            var delay = first
            while !Task.isCancelled {
                if delay > .zero {
                    do { try await sleep(delay) } catch { return }
                }
                guard let checker = self else { return }
                guard await checker.acquire() else { return }
                let result = await prober.probe(target)
                await checker.release()
                guard let next = await checker.record(result, for: key, generation: generation) else { return }
                delay = next
            }
        }
        loops[key] = (generation, task)
    }

    /// Waits for a probe slot; false when the checker was stopped meanwhile.
    private func acquire() async -> Bool {
        if stopped || Task.isCancelled { return false }
        if inFlight < max(config.maxConcurrentProbes, 1) {
            inFlight += 1
            return true
        }
        await withCheckedContinuation { waiters.append($0) }
        // The releaser handed its slot over to us.
        if stopped || Task.isCancelled {
            release()
            return false
        }
        return true
    }

    private func release() {
        if !waiters.isEmpty {
            waiters.removeFirst().resume()
        } else {
            inFlight = max(inFlight - 1, 0)
        }
    }

    /// Feeds a result to the target's tracker; the next delay, or nil when the loop is stale.
    private func record(_ result: ProbeResult, for key: ServiceRealServerKey, generation: UInt64) -> Duration? {
        guard !stopped, loops[key]?.generation == generation, var tracker = trackers[key],
            let target = targets[key]
        else { return nil }
        let step = tracker.record(result)
        trackers[key] = tracker
        if let transition = step.transition {
            logger.info(
                "real server health changed",
                metadata: [
                    "health.target": "\(key.checkName)", "ipvs.service": "\(target.serviceName)",
                    "health.transition": "\(transition)", "health.result": "\(result)",
                ])
            continuation.yield(HealthEvent(key: key, serviceName: target.serviceName, transition: transition, result: result))
        }
        return step.nextDelay
    }
}
