public import LVSKernel
import LVSModel
public import LVSPlan

/// Runs a plan against an `IPVSKernel`: one kernel write per change, undone on failure.
///
/// Nothing is written when the plan has guard violations, a change is malformed, or the live
/// table's fingerprint no longer matches the plan's. The writes go to the kernel in order and stop
/// at the first error (the netlink adapter pipelines them; a large plan is sent in chunks from a
/// second thread while the caller records the outcomes of the chunks before, see
/// ``WritePipeline``). If a write fails, the changes
/// already made are taken back in reverse order from their `before` values, and the error names
/// the failed change, its manifest path and the kernel's reason.
///
/// Persisting the plan's bookkeeping (ownership claims and releases, drains started and finished)
/// is the caller's job, after a successful apply only.
public final class Applier {
    public let kernel: any IPVSKernel
    /// Called at the end of each step with the step's name (profiling).
    public var trace: (String) -> Void

    /// Writes per chunk of a pipelined apply (see ``WritePipeline``).
    public let pipelineChunk: Int

    /// - Parameter pipelineChunk: writes per chunk when a plan is sent from a second thread while
    ///   this one handles the outcomes: small enough that the audit of the first chunk starts
    ///   early, large enough that the netlink adapter's own pipeline rarely drains. Plans of at
    ///   most one chunk are sent from the calling thread.
    public init(kernel: any IPVSKernel, pipelineChunk: Int = 1024, trace: @escaping (String) -> Void = { _ in }) {
        self.kernel = kernel
        self.pipelineChunk = max(1, pipelineChunk)
        self.trace = trace
    }

    /// Applies `plan`.
    ///
    /// - Parameters:
    ///   - verifyFingerprint: read the live table first and refuse the plan if it changed since
    ///     the plan was made. Only a caller that planned from a snapshot it just read may skip it.
    ///   - onEvent: called once per kernel write (plan and undo), in order, as soon as its outcome
    ///     is known: one audit row each.
    ///   - willUndo: called with the undo writes (the change each takes back, in the order they
    ///     will be sent and reported) before any is sent, so their intent can be recorded first.
    /// - Returns: the counts of a complete apply (each event went to `onEvent`).
    ///   - afterWrites: runs once every kernel write succeeded (the reconciler writes the rendered
    ///     files there); if it throws, the kernel writes are undone as after a failed write and
    ///     the apply throws ``ApplyError/afterWritesFailed(_:)``.
    /// - Throws: `ApplyError`; `.changeFailed` after a kernel write failed and the earlier changes
    ///   were undone.
    @discardableResult
    public func apply(
        _ plan: Plan, verifyFingerprint: Bool = true, onEvent: (ApplyEvent) -> Void = { _ in },
        willUndo: ([(index: Int, change: Change)]) -> Void = { _ in },
        afterWrites: () throws -> Void = {}
    ) throws(ApplyError) -> ApplyReport {
        guard plan.violations.isEmpty else { throw .planHasViolations(plan.violations) }
        guard plan.formatVersion <= Plan.currentFormatVersion else { throw .unsupportedFormat(plan.formatVersion) }

        var writes: [KernelWrite] = []
        for (i, c) in plan.changes.enumerated() {
            do {
                writes.append(try c.kernelWrite())
                _ = try c.undoWrites()
            } catch {
                throw .malformedChange(index: i, change: c, problem: error)
            }
        }

        if verifyFingerprint {
            let live: String
            do {
                live = try kernel.snapshot().fingerprint
            } catch {
                throw .kernelRead(error)
            }
            guard live == plan.baseFingerprint else { throw .stalePlan(planned: plan.baseFingerprint, live: live) }
        }

        var report = ApplyReport()
        guard !writes.isEmpty else {
            do {
                try afterWrites()
            } catch {
                throw .afterWritesFailed(AfterWritesFailure(problem: "\(error)", undoFailures: [], report: report))
            }
            return report
        }
        trace("kernel writes built")

        var failedAt: (index: Int, error: KernelError)? = nil
        var appliedIndices: [Int] = []
        var delivered = 0
        func deliver(_ outcomes: ArraySlice<WriteOutcome>, duration: Duration) {
            for outcome in outcomes {
                let i = delivered
                delivered += 1
                switch outcome {
                case .applied:
                    report.writes += 1
                    report.applied += 1
                    appliedIndices.append(i)
                case .failed(let e):
                    report.writes += 1
                    report.failed += 1
                    if failedAt == nil { failedAt = (i, e) }
                case .skipped:
                    report.skipped += 1
                }
                onEvent(ApplyEvent(
                    origin: .plan, index: i, change: plan.changes[i], write: writes[i], outcome: outcome, duration: duration))
            }
        }
        WritePipeline(kernel: kernel, chunk: pipelineChunk).run(writes, deliver: deliver)
        // Writes after a failure were never sent.
        if delivered < writes.count {
            deliver(ArraySlice(repeating: .skipped, count: writes.count - delivered), duration: .zero)
        }
        trace("kernel writes sent and acknowledged")

        var afterWritesProblem: String? = nil
        if failedAt == nil {
            do {
                try afterWrites()
                return report
            } catch {
                afterWritesProblem = "\(error)"
            }
        }

        // Undo every change the kernel applied (with pipelining, possibly some after the failed
        // one), newest first. Keep going past an undo failure: undoing the rest still helps.
        var undo: [(index: Int, write: KernelWrite)] = []
        for i in appliedIndices.reversed() {
            // Checked above, before anything was written.
            let ws = (try? plan.changes[i].undoWrites()) ?? []
            undo += ws.map { (i, $0) }
        }
        var undoFailures: [ApplyEvent] = []
        if !undo.isEmpty {
            willUndo(undo.map { ($0.index, plan.changes[$0.index]) })
            let clock = ContinuousClock()
            let undoStart = clock.now
            let undoOutcomes = kernel.execute(undo.map(\.write), stopOnError: false)
            let undoElapsed = clock.now - undoStart
            var failedChanges: Set<Int> = []
            for (k, u) in undo.enumerated() {
                let outcome = k < undoOutcomes.count ? undoOutcomes[k] : .skipped
                if outcome != .skipped { report.writes += 1 }
                if outcome != .applied {
                    failedChanges.insert(u.index)
                    if case .failed = outcome { report.failed += 1 }
                }
                let event = ApplyEvent(
                    origin: .undo, index: u.index, change: plan.changes[u.index], write: u.write, outcome: outcome,
                    duration: undoElapsed)
                if outcome != .applied { undoFailures.append(event) }
                onEvent(event)
            }
            report.undone = appliedIndices.filter { !failedChanges.contains($0) }.count
        }

        guard let failure = failedAt else {
            throw .afterWritesFailed(AfterWritesFailure(
                problem: afterWritesProblem ?? "failed", undoFailures: undoFailures, report: report))
        }
        throw .changeFailed(ApplyFailure(
            index: failure.index, change: plan.changes[failure.index], error: failure.error,
            undoFailures: undoFailures, report: report))
    }
}
