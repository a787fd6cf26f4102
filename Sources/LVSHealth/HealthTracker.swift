import LVSModel

/// The health state machine of one real server, with keepalived's semantics; pure and clock-free.
///
/// Feed it each probe result with ``record(_:)``; it returns the new state, the transition if
/// the state changed (reported exactly once per change), and how long to wait before the next
/// probe. Rules:
/// - Start `up`, or `down` when the check has `alpha` set (keepalived: "be pessimistic until the
///   first check succeeds"); under `alpha` the first success brings the server up at once.
/// - An `up` server goes `down` after ``HealthCheck/failuresBeforeDown`` consecutive failures
///   (`fall`, else keepalived's `retry` + 1). While failures are being counted, the next probe comes after
///   `delayBeforeRetry`; otherwise after `interval` (`delay_loop`).
/// - A `down` server comes `up` after `rise` consecutive successes (at least 1).
/// - Any success resets the failure count; any failure resets the success count.
///
/// `retry` means what keepalived's `retry N` means: N more attempts after the first failure
/// (its checkers fail once `retry_it` reaches `retry`, i.e. after N + 1 failed attempts), so a
/// keepalived.conf imports and exports with the same number.
public struct HealthTracker: Hashable, Sendable {
    /// A change of state: up→down or down→up.
    public struct Transition: Hashable, Sendable, CustomStringConvertible {
        public var from: HealthState
        public var to: HealthState
        public init(from: HealthState, to: HealthState) {
            self.from = from
            self.to = to
        }
        public var description: String { "\(from.rawValue)→\(to.rawValue)" }
    }

    /// What one recorded result led to.
    public struct Step: Hashable, Sendable {
        public var state: HealthState
        /// Non-nil exactly when this result changed the state.
        public var transition: Transition?
        /// How long to wait before the next probe.
        public var nextDelay: Duration
    }

    public let check: HealthCheck
    public private(set) var state: HealthState
    public private(set) var consecutiveFailures: UInt32 = 0
    public private(set) var consecutiveSuccesses: UInt32 = 0
    /// True while an `alpha` check has not succeeded yet.
    public private(set) var awaitingFirstSuccess: Bool
    /// The last result recorded, if any.
    public private(set) var lastResult: ProbeResult?

    public init(check: HealthCheck) {
        self.check = check
        self.state = check.alpha ? .down : .up
        self.awaitingFirstSuccess = check.alpha
    }

    /// Consecutive failures that take an up server down.
    public var fallThreshold: UInt32 { check.failuresBeforeDown }
    /// Consecutive successes that bring a down server up.
    public var riseThreshold: UInt32 { max(1, check.rise) }

    /// The delay before the very first probe.
    public var initialDelay: Duration { .zero }

    public mutating func record(_ result: ProbeResult) -> Step {
        lastResult = result
        let before = state
        var delay = Self.duration(check.interval)
        if result.isSuccess {
            consecutiveFailures = 0
            consecutiveSuccesses &+= 1
            if state == .down && (awaitingFirstSuccess || consecutiveSuccesses >= riseThreshold) {
                state = .up
            }
            awaitingFirstSuccess = false
        } else {
            consecutiveSuccesses = 0
            consecutiveFailures &+= 1
            if state == .up {
                if consecutiveFailures >= fallThreshold {
                    state = .down
                } else {
                    delay = Self.duration(check.delayBeforeRetry)
                }
            }
        }
        return Step(
            state: state,
            transition: before == state ? nil : Transition(from: before, to: state),
            nextDelay: delay)
    }

    static func duration(_ seconds: Double) -> Duration {
        .milliseconds(Int64((max(seconds, 0) * 1000).rounded()))
    }
}
