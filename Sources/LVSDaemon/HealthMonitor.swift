public import Foundation
public import LVSHealth
import LVSModel
public import LVSStore
public import Logging

/// The daemon's view of real server health: the checker's trackers, seeded with the states the
/// store kept from the previous run, persisted on every transition, and once more after each
/// new revision (``confirmNextResults()``).
///
/// ``HealthChecker`` starts every tracker `up` (or `down` under `alpha`), so a restart would
/// forget that a server was down. The monitor keeps a restored state until the tracker has
/// evidence for the other state: a restored `down` stays down until the tracker has seen
/// `rise` consecutive successes; a restored `up` goes down when the tracker does. A restored
/// state that the tracker's first results agree with is confirmed and forgotten.
public actor HealthMonitor {
    /// A real server changed state, as the daemon sees it.
    public struct Transition: Hashable, Sendable {
        public var key: ServiceRealServerKey
        public var serviceName: String
        public var to: HealthState
        /// The probe result that decided it, as text.
        public var message: String
    }

    public let checker: HealthChecker
    let store: Store?
    let logger: Logger
    let now: @Sendable () -> Date
    private var restored: [ServiceRealServerKey: HealthState]
    private var effective: [ServiceRealServerKey: HealthState]
    private var names: [ServiceRealServerKey: String] = [:]
    private var started = false
    /// Targets whose state has been settled by probes in this lifetime (``unsettled()``).
    private var settled: Set<ServiceRealServerKey> = []
    /// Targets whose next probe result is persisted even if it changes nothing, with their
    /// tracker's counters when that was asked (nil: no result yet); a result since moves them.
    private var confirming: [ServiceRealServerKey: ResultMark?] = [:]

    /// Where a tracker's results stand: every recorded result changes it (a success counts up
    /// the successes and clears the failures, a failure the other way round).
    struct ResultMark: Hashable {
        var successes: UInt32
        var failures: UInt32
        init?(_ t: HealthTracker) {
            guard t.lastResult != nil else { return nil }
            successes = t.consecutiveSuccesses
            failures = t.consecutiveFailures
        }
    }

    /// - Parameters:
    ///   - restored: the states kept from the previous run (`ReconcileOverlay.healthStates(_:)`).
    ///   - store: where transitions are persisted; nil = nowhere (tests).
    public init(
        checker: HealthChecker, store: Store?, restored: [ServiceRealServerKey: HealthState] = [:],
        logger: Logger = Logger(label: "lvsctl.health"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.checker = checker
        self.store = store
        self.restored = restored
        self.effective = restored
        self.logger = logger
        self.now = now
    }

    /// The current state of every checked real server (restored ones included).
    public func states() -> [ServiceRealServerKey: HealthState] { effective }

    /// The targets whose health no probe of this daemon has settled yet: none has run, or the
    /// results so far neither confirmed the state nor changed it (failures still counting
    /// towards `retry`). Once settled, a target stays settled: one failed probe of a healthy
    /// server does not make the director unready.
    public func unsettled() -> [ServiceRealServerKey] {
        names.keys.filter { !settled.contains($0) }.sorted()
    }

    /// Sets the targets (from the accepted manifests); starts the checker the first time.
    public func update(targets: [HealthTarget]) async {
        await checker.update(targets: targets)
        for t in targets { names[t.key] = t.serviceName }
        let keys = Set(targets.map(\.key))
        for key in effective.keys where !keys.contains(key) {
            effective[key] = nil
            restored[key] = nil
            names[key] = nil
            settled.remove(key)
            confirming[key] = nil
            _ = try? store?.removeHealth(service: key.service, realServer: key.realServer)
        }
        if !started {
            started = true
            await checker.start()
        }
    }

    /// Asks for the next probe result of every checked real server to be persisted even when it
    /// changes no state (the daemon asks when it sees a new revision).
    ///
    /// Why: only transitions are persisted otherwise, so a server that stays healthy keeps the
    /// `lastCheck` of its last transition, and `status` could never show a check made after an
    /// apply; the rollout's health gate waits for one. What must stay true: the persisted
    /// `lastCheck` is only ever later than a probe result recorded after this call, and this
    /// costs one write per real server per call, not one per probe.
    public func confirmNextResults() async {
        for key in names.keys {
            confirming[key] = await checker.tracker(for: key).flatMap(ResultMark.init)
        }
    }

    /// Reads the checker and returns the transitions since the last call (each persisted).
    public func refresh() async -> [Transition] {
        var out: [Transition] = []
        let trackerStates = await checker.states()
        for key in trackerStates.keys.sorted() {
            guard let tracker = await checker.tracker(for: key) else { continue }
            let state = decide(key, tracker)
            if let last = tracker.lastResult, last.isSuccess == (state == .up) { settled.insert(key) }
            let before = effective[key]
            if let mark = confirming[key], tracker.lastResult != nil, ResultMark(tracker) != mark {
                confirming[key] = nil
                // A transition below persists it anyway.
                if before == state { persist(key, state, tracker, confirming: true) }
            }
            guard before != state else { continue }
            effective[key] = state
            persist(key, state, tracker)
            guard before != nil else { continue }
            let t = Transition(
                key: key, serviceName: names[key] ?? "", to: state,
                message: tracker.lastResult.map { "\($0)" } ?? "restored state")
            logger.notice(
                "real server \(state == .up ? "up" : "down")",
                metadata: ["health.target": "\(key.checkName)", "health.result": "\(t.message)"])
            out.append(t)
        }
        return out
    }

    private func decide(_ key: ServiceRealServerKey, _ tracker: HealthTracker) -> HealthState {
        guard let r = restored[key] else { return tracker.state }
        guard tracker.lastResult != nil else { return r }
        switch (r, tracker.state) {
        case (.down, .up):
            if tracker.consecutiveSuccesses >= tracker.riseThreshold {
                restored[key] = nil
                return .up
            }
            return .down
        case (.up, .down), (.up, .up), (.down, .down):
            restored[key] = nil
            return tracker.state
        }
    }

    /// Persists a target's state; `confirming`: the state did not change, so the stored
    /// `changedAt` stays (only the check is new).
    private func persist(_ key: ServiceRealServerKey, _ state: HealthState, _ tracker: HealthTracker, confirming: Bool = false) {
        guard let store else { return }
        let at = now()
        do {
            let changedAt = confirming ? (try store.health(service: key.service, realServer: key.realServer)?.changedAt ?? at) : at
            try store.upsertHealth(HealthRecord(
                service: key.service, realServer: key.realServer, healthy: state == .up,
                lastCheck: tracker.lastResult == nil ? nil : at, lastError: tracker.lastResult?.error,
                consecutiveSuccesses: Int(tracker.consecutiveSuccesses),
                consecutiveFailures: Int(tracker.consecutiveFailures), changedAt: changedAt))
        } catch {
            logger.error("cannot save the health state", metadata: ["health.target": "\(key.checkName)", "error": "\(error)"])
        }
    }
}
