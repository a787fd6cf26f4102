import Foundation
import Logging

/// Dispatches notifications to every sink, once per real change of state; operator actions only
/// to the sinks that opted in (``NotificationSink/accepts(_:)``).
///
/// Deduplication follows the seed's `notify.sh`: the last state sent for each subject
/// (`REALSERVER tcp/10.0.0.1:80/10.0.0.11:80`, `SERVICE tcp/10.0.0.1:80`) is remembered, and a
/// state-change notification (`realServerUp/Down`, `quorumLost/Gained`) whose state equals the
/// remembered one is dropped. Occurrences (`driftDetected`, `applyFailed`) are always sent; the
/// daemon decides how often to raise them. The remembered states start from `initialStates`
/// (what the daemon persisted, from ``lastSentStates()``) so a restart does not re-alert.
///
/// ``notify(_:)`` returns at once: each sink runs in its own task, bounded by its own timeout.
/// Failures are logged (at info, as a library should) and kept in ``recentFailures()``.
/// ``flush()`` waits for the deliveries in progress (tests, shutdown).
public actor Notifier {
    /// A delivery that failed.
    public struct Failure: Hashable, Sendable {
        public var sink: String
        public var notification: Notification
        public var error: String
    }

    private let sinks: [any NotificationSink]
    private let logger: Logger
    private var states: [String: String]
    private var pending: [UInt64: Task<Void, Never>] = [:]
    private var nextID: UInt64 = 0
    private var failures: [Failure] = []
    private let maxFailuresKept = 100

    public init(sinks: [any NotificationSink], initialStates: [String: String] = [:], logger: Logger = Logger(label: "lvsctl.notify")) {
        self.sinks = sinks
        self.states = initialStates
        self.logger = logger
    }

    public init(config: NotifyConfig, initialStates: [String: String] = [:], logger: Logger = Logger(label: "lvsctl.notify")) {
        self.init(sinks: config.makeSinks(), initialStates: initialStates, logger: logger)
    }

    /// Sends `notification` to every sink unless it repeats the last state of its subject.
    /// Returns whether it was dispatched.
    @discardableResult
    public func notify(_ notification: Notification) -> Bool {
        if notification.kind.isStateChange {
            if states[notification.subject] == notification.state {
                logger.debug("notification unchanged, not sent", metadata: ["notify.subject": "\(notification.subject)", "notify.state": "\(notification.state)"])
                return false
            }
            states[notification.subject] = notification.state
        }
        for sink in sinks where sink.accepts(notification) {
            nextID += 1
            let id = nextID
            let logger = self.logger
            pending[id] = Task { [weak self] in
                do {
                    try await sink.send(notification)
                    logger.debug("notification sent", metadata: ["notify.sink": "\(sink.name)", "notify.summary": "\(notification.summary)"])
                } catch {
                    logger.info(
                        "notification delivery failed",
                        metadata: [
                            "notify.sink": "\(sink.name)", "notify.summary": "\(notification.summary)",
                            "notify.error": "\(error)",
                        ])
                    await self?.recordFailure(Failure(sink: sink.name, notification: notification, error: "\(error)"))
                }
                await self?.finished(id)
            }
        }
        return true
    }

    /// The last state sent per subject; persist it and pass it back as `initialStates`.
    public func lastSentStates() -> [String: String] { states }

    /// The most recent failed deliveries (up to 100), oldest first.
    public func recentFailures() -> [Failure] { failures }

    /// Waits until every delivery started so far has finished.
    public func flush() async {
        // Each task removes itself (via `finished`) before it completes.
        while let (id, task) = pending.first {
            await task.value
            pending[id] = nil
        }
    }

    private func finished(_ id: UInt64) { pending[id] = nil }

    private func recordFailure(_ f: Failure) {
        failures.append(f)
        if failures.count > maxFailuresKept { failures.removeFirst(failures.count - maxFailuresKept) }
    }
}
