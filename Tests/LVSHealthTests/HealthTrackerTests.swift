import LVSHealth
import LVSModel
import Testing

@Suite struct HealthTrackerTests {
    /// One table case: a check, a sequence of results ("+" success, "-" failure), and what
    /// should follow each result: the state after it ("U"/"D"), whether it was a transition
    /// ("!" marks one), and the delay in seconds before the next probe.
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var check: HealthCheck
        var results: String
        var states: String
        var transitions: String
        var delays: [Double]
        var description: String { name }
    }

    static let base = HealthCheck(type: .tcp, retry: 0, delayBeforeRetry: 2, interval: 10)

    static func with(_ f: (inout HealthCheck) -> Void) -> HealthCheck {
        var c = base
        f(&c)
        return c
    }

    @Test(arguments: [
        Case(
            name: "retry 0: one failure takes it down, one success brings it back",
            check: base, results: "+-+", states: "UDU", transitions: ".!!", delays: [10, 10, 10]),
        Case(
            name: "retry 2 (keepalived's meaning): down on the third consecutive failure, retries use delayBeforeRetry",
            check: with { $0.retry = 2 }, results: "---", states: "UUD", transitions: "..!", delays: [2, 2, 10]),
        Case(
            name: "retry 2: a success in between resets the count",
            check: with { $0.retry = 2 }, results: "--+---", states: "UUUUUD", transitions: ".....!",
            delays: [2, 2, 10, 2, 2, 10]),
        Case(
            name: "fall overrides retry",
            check: with { $0.retry = 5; $0.fall = 2 }, results: "--", states: "UD", transitions: ".!", delays: [2, 10]),
        Case(
            name: "rise 3: needs three consecutive successes to come back",
            check: with { $0.rise = 3 }, results: "-++-+++", states: "DDDDDDU", transitions: "!.....!",
            delays: [10, 10, 10, 10, 10, 10, 10]),
        Case(
            name: "while down, failures wait the normal interval and report nothing",
            check: base, results: "----", states: "DDDD", transitions: "!...", delays: [10, 10, 10, 10]),
        Case(
            name: "alpha: starts down, first success brings it up even with rise 3",
            check: with { $0.alpha = true; $0.rise = 3 }, results: "-+", states: "DU", transitions: ".!", delays: [10, 10]),
        Case(
            name: "alpha: after a real failure, rise applies again",
            check: with { $0.alpha = true; $0.rise = 2 }, results: "+-++", states: "UDDU", transitions: "!!.!",
            delays: [10, 10, 10, 10]),
        Case(
            name: "retry 1 (keepalived's default): down on the second consecutive failure",
            check: with { $0.retry = 1 }, results: "--", states: "UD", transitions: ".!", delays: [2, 10]),
        Case(
            name: "the default check (retry 1, as keepalived) takes two failures",
            check: HealthCheck(type: .tcp, delayBeforeRetry: 2, interval: 10), results: "--", states: "UD", transitions: ".!", delays: [2, 10]),
    ])
    func sequence(_ c: Case) {
        var tracker = HealthTracker(check: c.check)
        #expect(tracker.state == (c.check.alpha ? .down : .up))
        var states = ""
        var transitions = ""
        var delays: [Double] = []
        for r in c.results {
            let step = tracker.record(r == "+" ? .success : .failure("connect refused"))
            states.append(step.state == .up ? "U" : "D")
            transitions.append(step.transition == nil ? "." : "!")
            delays.append(Double(step.nextDelay.components.seconds) + Double(step.nextDelay.components.attoseconds) / 1e18)
            #expect(step.state == tracker.state)
        }
        #expect(states == c.states)
        #expect(transitions == c.transitions)
        #expect(delays == c.delays)
    }

    @Test func transitionsNameBothStates() {
        var tracker = HealthTracker(check: Self.base)
        #expect(tracker.record(.failure("x")).transition == HealthTracker.Transition(from: .up, to: .down))
        #expect(tracker.record(.success).transition == HealthTracker.Transition(from: .down, to: .up))
        #expect(tracker.lastResult == .success)
        #expect(tracker.consecutiveSuccesses == 1)
    }

    @Test func fractionalDelays() {
        var tracker = HealthTracker(check: HealthCheck(type: .tcp, retry: 2, delayBeforeRetry: 0.25, interval: 1.5))
        #expect(tracker.record(.failure("x")).nextDelay == .milliseconds(250))
        #expect(tracker.record(.success).nextDelay == .milliseconds(1500))
    }
}
