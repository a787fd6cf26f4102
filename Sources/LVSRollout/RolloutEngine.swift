import Dispatch
import Foundation
import LVSModel
import LVSPlan

/// What a rollout applies, and how.
public struct RolloutOptions: Sendable {
    public var manifest: Data
    public var desired: DesiredState
    public var digest: String
    public var batches: BatchSpec
    /// Directors of one batch that may fail (each rolled back at once) before the rollout stops.
    public var maxFailures: Int
    /// Seconds between batches.
    public var pause: Double
    public var noRollback: Bool
    /// A shell command run here after each director's apply (and rollback); exit 0 passes.
    public var probe: String?
    /// How long the health gate waits for the director's daemon to check the touched services.
    public var healthTimeout: Double
    public var healthInterval: Double
    public var probeTimeout: Double
    /// The revision message on every director.
    public var message: String
    /// `rollout apply --plan`: what each director looked like when planned.
    public var expected: [String: ExpectedDirector]?

    public init(
        manifest: Data, desired: DesiredState, digest: String, batches: BatchSpec = .serial, maxFailures: Int = 0,
        pause: Double = 0, noRollback: Bool = false, probe: String? = nil, healthTimeout: Double = 60,
        healthInterval: Double = 1, probeTimeout: Double = 60, message: String, expected: [String: ExpectedDirector]? = nil
    ) {
        self.manifest = manifest
        self.desired = desired
        self.digest = digest
        self.batches = batches
        self.maxFailures = maxFailures
        self.pause = pause
        self.noRollback = noRollback
        self.probe = probe
        self.healthTimeout = healthTimeout
        self.healthInterval = healthInterval
        self.probeTimeout = probeTimeout
        self.message = message
        self.expected = expected
    }
}

/// A director as a saved rollout plan saw it.
public struct ExpectedDirector: Hashable, Sendable {
    public var tableFingerprint: String
    public var revision: Int?
    public init(tableFingerprint: String, revision: Int?) {
        self.tableFingerprint = tableFingerprint
        self.revision = revision
    }
}

/// What the engine needs from the world: connections, the local probe, time, and whether a
/// stop was asked for (SIGINT/SIGTERM). Tests give scripted ones.
public struct RolloutWorld: Sendable {
    public var connect: @Sendable (Inventory.Director) -> any DirectorConnection
    /// Runs the probe for a director: passed, and a sentence.
    public var probe: @Sendable (String, Inventory.Director) -> (Bool, String)
    /// One line of progress for people.
    public var progress: @Sendable (String) -> Void
    public var stopRequested: @Sendable () -> Bool
    public var sleep: @Sendable (Double) -> Void
    public var now: @Sendable () -> Double

    public init(
        connect: @escaping @Sendable (Inventory.Director) -> any DirectorConnection,
        probe: @escaping @Sendable (String, Inventory.Director) -> (Bool, String),
        progress: @escaping @Sendable (String) -> Void, stopRequested: @escaping @Sendable () -> Bool,
        sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.connect = connect
        self.probe = probe
        self.progress = progress
        self.stopRequested = stopRequested
        self.sleep = sleep
        self.now = now
    }
}

/// The rollout state machine.
///
/// What must stay true:
/// - a director is changed only after every director of the batches before it converged (or
///   failed within `--max-failures` and was rolled back);
/// - a batch whose preflight fails (unreachable director, refusal, version skew) changes none of
///   its directors; an unreachable director is never skipped;
/// - when the rollout stops on a failure, every director it changed is rolled back to the
///   revision it had before (unless `noRollback`), and each rollback passes the same gates;
/// - a stop request lets the directors in progress finish (apply and gates), then stops.
public final class RolloutEngine: @unchecked Sendable {
    let directors: [Inventory.Director]
    let options: RolloutOptions
    let world: RolloutWorld
    var report: RolloutReport

    public init(directors: [Inventory.Director], options: RolloutOptions, world: RolloutWorld, report: RolloutReport) {
        self.directors = directors
        self.options = options
        self.world = world
        self.report = report
        self.report.directors = directors.map { DirectorReport($0, state: .notStarted) }
    }

    var manifestName: String { options.desired.manifest }

    func index(_ name: String) -> Int { report.directors.firstIndex { $0.name == name }! }

    /// Runs `body` for each item at once (each on a thread of its own); results in order.
    static func parallel<T: Sendable, R: Sendable>(_ items: [T], _ body: @Sendable (T) -> R) -> [R] {
        let box = ResultsBox<R>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in box.set(i, body(items[i])) }
        return box.values
    }

    // MARK: - plan

    /// Every selected director's plan, read in parallel; nothing is changed.
    public func plan() -> RolloutReport {
        world.progress("Planning \(manifestName) on \(directors.count) director\(directors.count == 1 ? "" : "s")…")
        let results = Self.parallel(directors) { [world, options, manifestName] d -> DirectorReport in
            let start = world.now()
            var r = DirectorReport(d, state: .upToDate)
            let conn = world.connect(d)
            do throws(RemoteError) {
                let status = try conn.status()
                r.tableFingerprint = status.fingerprint
                (r.role, r.roleSource) = PairRoles.resolve(status: status, declared: d.role)
                r.revisionBefore = try conn.revisions(manifest: manifestName).map(\.number).max()
                let plan = try conn.plan(manifest: options.manifest)
                r.plan = PlanSummary(plan)
                r.state = !plan.isApplyable ? .refused : plan.isEmpty ? .upToDate : .changesPending
            } catch {
                r.state = error.isUnreachable ? .unreachable : .error
                r.error = error.description
            }
            r.seconds = world.now() - start
            return r
        }
        report.directors = results
        for r in results { world.progress("  \(Self.line(r))") }
        if let bad = results.first(where: { [.unreachable, .error, .refused].contains($0.state) }) {
            report.outcome = .failed
            report.stop = .init(director: bad.name, reason: "\(bad.name): \(bad.error ?? bad.plan?.refusals.first ?? bad.state.rawValue)")
        } else {
            report.outcome = results.contains { $0.state == .changesPending } ? .changesPending : .converged
        }
        report.finishedAt = world.now()
        return report
    }

    static func line(_ r: DirectorReport) -> String {
        var s = "\(r.name): \(r.state.rawValue)"
        if let p = r.plan { s += " (\(p.text))" }
        if let refusal = r.plan?.refusals.first, r.state == .refused { s += ": \(refusal)" }
        if let e = r.error { s += ": \(e)" }
        return s
    }

    // MARK: - apply

    public func apply() -> RolloutReport {
        defer { report.finishedAt = world.now() }
        if let expected = options.expected, !checkSavedPlan(expected) { return report }
        let ordered = BatchPlanner.order(directors, roles: liveRoles())
        let batches = BatchPlanner.batches(ordered, spec: options.batches)
        report.batches = batches.map { $0.map(\.name) }
        report.batchSpec = options.batches.description
        for (k, b) in batches.enumerated() { for d in b { report.directors[index(d.name)].batch = k + 1 } }
        world.progress("Rolling out \(manifestName) to \(directors.count) director\(directors.count == 1 ? "" : "s") in \(batches.count) batch\(batches.count == 1 ? "" : "es"): "
            + report.batches.map { "[\($0.joined(separator: " "))]" }.joined(separator: " "))
        var changed: [String] = []
        var failed = false
        for (k, batch) in batches.enumerated() {
            if world.stopRequested() {
                interrupted(at: k + 1)
                break
            }
            if k > 0 && options.pause > 0 {
                world.progress("Pausing \(formatSeconds(options.pause)) s before batch \(k + 1)…")
                if !pause() {
                    interrupted(at: k + 1)
                    break
                }
            }
            world.progress("Batch \(k + 1)/\(batches.count): \(batch.map(\.name).joined(separator: ", "))")
            guard preflight(batch, number: k + 1) else {
                failed = true
                break
            }
            let toApply = batch.filter { report.directors[index($0.name)].state == .notStarted }
            let results = Self.parallel(toApply) { [self] d in applyOne(d) }
            var failures: [String] = []
            for (d, (r, didChange)) in zip(toApply, results) {
                report.directors[index(d.name)] = r
                if didChange { changed.append(d.name) }
                if !r.converged { failures.append(d.name) }
            }
            if failures.isEmpty { continue }
            let first = report.directors[index(failures[0])]
            let gate = first.gates.first(where: \.failed)
            if failures.count <= options.maxFailures {
                world.progress("Batch \(k + 1): \(failures.count) failure\(failures.count == 1 ? "" : "s") within --max-failures \(options.maxFailures); rolling back \(failures.joined(separator: ", ")) and going on")
                for name in failures where changed.contains(name) {
                    rollBack(name)
                    changed.removeAll { $0 == name }
                }
                report.outcome = .failed
                continue
            }
            report.stop = .init(
                batch: k + 1, director: first.name, gate: gate?.gate,
                reason: gate.map { "\(first.name): gate \($0.gate.rawValue) failed: \($0.detail)" } ?? "\(first.name): \(first.error ?? first.state.rawValue)")
            failed = true
            break
        }
        if failed {
            report.outcome = .failed
            world.progress("Stopped: \(report.stop?.reason ?? "a director failed")")
            if options.noRollback {
                if !changed.isEmpty { world.progress("Not rolling back (--no-rollback): \(changed.joined(separator: ", ")) keep the new revision") }
            } else {
                for name in changed { rollBack(name) }
            }
        } else if report.outcome != .interrupted && report.directors.allSatisfy(\.converged) {
            report.outcome = .converged
        } else if report.outcome != .interrupted {
            report.outcome = .failed
        }
        world.progress(summaryLine())
        return report
    }

    func summaryLine() -> String {
        var counts: [DirectorReport.State: Int] = [:]
        for d in report.directors { counts[d.state, default: 0] += 1 }
        let parts = counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }
        return "Rollout \(report.outcome.rawValue): " + parts.joined(separator: ", ")
    }

    func interrupted(at batch: Int) {
        report.outcome = .interrupted
        report.stop = .init(batch: batch, reason: "interrupted (SIGINT/SIGTERM): the directors in progress finished; batch \(batch) and later not started")
        world.progress("Interrupted: stopping before batch \(batch).")
    }

    /// Sleeps `--pause`, waking for a stop request; false when one came.
    func pause() -> Bool {
        var left = options.pause
        while left > 0 {
            if world.stopRequested() { return false }
            let step = min(left, 0.5)
            world.sleep(step)
            left -= step
        }
        return !world.stopRequested()
    }

    /// The live VRRP roles of pair members (read-only, in parallel); a member that cannot be
    /// read now is ordered by its inventory role and fails at its own batch.
    func liveRoles() -> [String: PairRole] {
        let members = directors.filter { $0.pair != nil }
        let roles = Self.parallel(members) { [world] d -> (String, PairRole?, String?) in
            let (role, source) = PairRoles.resolve(status: try? world.connect(d).status(), declared: d.role)
            return (d.name, role, source)
        }
        var out: [String: PairRole] = [:]
        for (name, role, source) in roles {
            out[name] = role
            report.directors[index(name)].role = role
            report.directors[index(name)].roleSource = source
        }
        return out
    }

    /// `rollout apply --plan`: every director must look as it did when planned.
    func checkSavedPlan(_ expected: [String: ExpectedDirector]) -> Bool {
        world.progress("Checking that no director changed since the saved plan…")
        let results = Self.parallel(directors) { [world, manifestName] d -> (String, String?, Bool) in
            guard let e = expected[d.name] else { return (d.name, "not in the saved plan", false) }
            do throws(RemoteError) {
                let conn = world.connect(d)
                let status = try conn.status()
                let revision = try conn.revisions(manifest: manifestName).map(\.number).max()
                if status.fingerprint != e.tableFingerprint { return (d.name, "its IPVS table changed since the plan", false) }
                if revision != e.revision {
                    return (d.name, "revision of \(manifestName) is \(revision.map(String.init) ?? "none") now, \(e.revision.map(String.init) ?? "none") when planned", false)
                }
                return (d.name, nil, false)
            } catch {
                return (d.name, error.description, error.isUnreachable)
            }
        }
        let stale = results.filter { $0.1 != nil }
        if stale.isEmpty { return true }
        for (name, why, unreachable) in stale {
            report.directors[index(name)].state = unreachable ? .unreachable : .error
            report.directors[index(name)].error = why
        }
        report.outcome = stale.contains { $0.2 } ? .failed : .stalePlan
        report.stop = .init(
            director: stale[0].0,
            reason: "the saved plan is stale: " + stale.map { "\($0.0): \($0.1!)" }.joined(separator: "; ")
                + "; run `lvsctl rollout plan --out` again and review it")
        world.progress(report.stop!.reason)
        return false
    }

    /// Reads each director of the batch (revisions, plan) before any of them is changed; false
    /// (the batch stops, nothing in it changed) when one cannot be reached or refuses.
    func preflight(_ batch: [Inventory.Director], number: Int) -> Bool {
        let results = Self.parallel(batch) { [world, options, manifestName] d -> (Int?, Plan?, RemoteError?) in
            let conn = world.connect(d)
            do throws(RemoteError) {
                let before = try conn.revisions(manifest: manifestName).map(\.number).max()
                return (before, try conn.plan(manifest: options.manifest), nil)
            } catch {
                return (nil, nil, error)
            }
        }
        var problems: [(String, String, DirectorReport.State)] = []
        for (d, (before, plan, error)) in zip(batch, results) {
            let i = index(d.name)
            if let error {
                let state: DirectorReport.State = error.isUnreachable ? .unreachable : .error
                report.directors[i].state = state
                report.directors[i].error = error.description
                problems.append((d.name, error.description, state))
                continue
            }
            report.directors[i].revisionBefore = before
            report.directors[i].plan = plan.map(PlanSummary.init)
            if let plan, !plan.isApplyable {
                report.directors[i].state = .refused
                let why = plan.violations.map(\.description).joined(separator: "; ")
                report.directors[i].error = why
                problems.append((d.name, "plan refused: \(why)", .refused))
            } else if let plan, plan.isEmpty {
                report.directors[i].state = .upToDate
                world.progress("  \(d.name): up to date")
            }
        }
        guard let first = problems.first else { return true }
        for (name, why, _) in problems { world.progress("  \(name): \(why)") }
        report.stop = .init(
            batch: number, director: first.0,
            reason: "batch \(number) stopped before any change: \(first.0) \(first.2 == .unreachable ? "is unreachable" : "failed"): \(first.1)")
        // The rest of the batch was read but not changed.
        for d in batch where report.directors[index(d.name)].state == .upToDate && report.directors[index(d.name)].plan?.isEmpty == false {
            report.directors[index(d.name)].state = .notStarted
        }
        return false
    }

    /// Applies to one director and runs its gates. Returns its report and whether its kernel
    /// may have been changed (so a rollback is due if the rollout stops).
    func applyOne(_ d: Inventory.Director) -> (DirectorReport, Bool) {
        var r = report.directors[index(d.name)]
        let start = world.now()
        defer { r.seconds = world.now() - start }
        let conn = world.connect(d)
        world.progress("  \(d.name): applying \(r.plan?.text ?? "")")
        let result: RemoteApply
        do {
            result = try conn.apply(manifest: options.manifest, message: options.message)
        } catch {
            r.error = error.description
            switch error {
            case .failed:
                // The director's lvsctl undid what it had written (its revision is marked failed).
                r.state = .failed
                world.progress("  \(d.name): apply failed: \(error.description)")
                return (r, false)
            case .unreachable, .timedOut, .document:
                r.state = error.isUnreachable ? .unreachable : .failed
                world.progress("  \(d.name): apply outcome unknown: \(error.description)")
                return (r, true)
            }
        }
        r.plan = PlanSummary(result.plan)
        guard result.plan.isApplyable else {
            r.state = .refused
            r.error = result.plan.violations.map(\.description).joined(separator: "; ")
            return (r, false)
        }
        r.applied = result.applied
        r.auditRows = result.auditRows
        r.revisionAfter = result.revision?.number
        world.progress("  \(d.name): applied \(result.applied) change\(result.applied == 1 ? "" : "s") as revision \(result.revision.map { String($0.number) } ?? "-")")
        let since = result.revision?.createdAtSeconds ?? 0
        r.gates = gates(conn, d, desired: options.desired, plan: result.plan, since: since)
        r.state = r.gates.contains(where: \.failed) ? .failed : .converged
        world.progress("  \(d.name): \(r.state == .converged ? "converged" : "FAILED")")
        return (r, result.applied > 0 || result.revision != nil)
    }

    /// The gates, in order, stopping at the first that fails.
    func gates(_ conn: any DirectorConnection, _ d: Inventory.Director, desired: DesiredState, plan: Plan, since: Double) -> [GateResult] {
        var out: [GateResult] = []
        func record(_ g: GateResult) -> Bool {
            out.append(g)
            world.progress("    \(d.name): gate \(g.gate.rawValue) \(g.outcome.rawValue): \(g.detail)")
            return !g.failed
        }
        var t = world.now()
        let drift: GateResult
        do {
            drift = GateRules.drift(try conn.drift(manifest: desired.manifest), manifest: desired.manifest)
        } catch {
            drift = GateResult(.drift, .failed, error.description)
        }
        guard record(with(drift, seconds: world.now() - t)) else { return out }

        t = world.now()
        var lastStatus: RemoteStatus?
        let (services, added) = GateRules.touched(plan, desired: desired)
        let deadline = world.now() + options.healthTimeout
        var health: GateResult?
        while health == nil {
            let status: RemoteStatus
            do {
                status = try conn.status()
            } catch {
                health = GateResult(.health, .failed, error.description)
                break
            }
            lastStatus = status
            switch GateRules.health(services: services, added: added, status: status, since: since) {
            case .pass(let why): health = GateResult(.health, .passed, why)
            case .fail(let why): health = GateResult(.health, .failed, why)
            case .noState(let why):
                if world.now() >= deadline { health = GateResult(.health, .skipped, why) }
            case .wait(let why):
                if world.now() >= deadline {
                    health = GateResult(.health, .failed, "not settled within \(formatSeconds(options.healthTimeout)) s: \(why)")
                }
            }
            if health == nil {
                if world.stopRequested() && world.now() >= deadline { break }
                world.sleep(options.healthInterval)
            }
        }
        guard record(with(health ?? GateResult(.health, .failed, "stopped"), seconds: world.now() - t)) else { return out }

        t = world.now()
        let vrrp: GateResult
        if let lastStatus {
            vrrp = GateRules.vrrp(lastStatus)
        } else {
            do { vrrp = GateRules.vrrp(try conn.status()) } catch { vrrp = GateResult(.vrrp, .failed, error.description) }
        }
        guard record(with(vrrp, seconds: world.now() - t)) else { return out }

        t = world.now()
        if let probe = options.probe {
            let (ok, why) = world.probe(probe, d)
            _ = record(GateResult(.probe, ok ? .passed : .failed, why, seconds: world.now() - t))
        } else {
            _ = record(GateResult(.probe, .skipped, "no --probe given"))
        }
        return out
    }

    func with(_ g: GateResult, seconds: Double) -> GateResult {
        var g = g
        g.seconds = seconds
        return g
    }

    /// Rolls one changed director back to the revision it had before, verified by the gates.
    func rollBack(_ name: String) {
        let i = index(name)
        let d = directors.first { $0.name == name }!
        guard let before = report.directors[i].revisionBefore else {
            report.directors[i].state = report.directors[i].state == .converged ? .converged : .failed
            report.directors[i].error = (report.directors[i].error.map { $0 + "; " } ?? "")
                + "not rolled back: it had no earlier revision of \(manifestName)"
            if report.directors[i].state == .converged { report.directors[i].state = .failed }
            world.progress("  \(name): cannot roll back: no earlier revision of \(manifestName)")
            return
        }
        world.progress("  \(name): rolling back to revision \(before)")
        var rb = RollbackReport(to: before)
        let conn = world.connect(d)
        do {
            let result = try conn.rollback(manifest: manifestName, to: before, message: "lvsctl rollout \(report.id): rollback to revision \(before)")
            rb.revision = result.revision?.number
            rb.applied = result.applied
            let old = try conn.show(manifest: manifestName, number: before)
            rb.gates = gates(conn, d, desired: old, plan: result.plan, since: result.revision?.createdAtSeconds ?? 0)
            rb.succeeded = !rb.gates.contains(where: \.failed)
        } catch {
            rb.error = error.description
            rb.succeeded = false
        }
        report.directors[i].rollback = rb
        report.directors[i].state = rb.succeeded ? .rolledBack : .rollbackFailed
        world.progress("  \(name): \(rb.succeeded ? "rolled back to revision \(before) as revision \(rb.revision.map(String.init) ?? "-")" : "ROLLBACK FAILED: \(rb.error ?? rb.gates.first(where: \.failed)?.detail ?? "")")")
    }
}

final class ResultsBox<R>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [R?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: R) {
        lock.lock()
        items[i] = value
        lock.unlock()
    }
    var values: [R] { items.map { $0! } }
}

func formatSeconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s))" : String(format: "%.1f", s) }

extension Error {
    var isUnreachable: Bool { (self as? RemoteError)?.isUnreachable ?? false }
}
