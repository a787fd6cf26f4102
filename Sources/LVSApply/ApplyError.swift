public import LVSKernel
public import LVSPlan

/// Why a plan was not applied, or not applied completely.
public enum ApplyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The plan has guard violations; nothing was written.
    case planHasViolations([GuardViolation])
    /// The live table changed since the plan was made; nothing was written.
    case stalePlan(planned: String, live: String)
    /// The plan file has a newer format than this lvsctl reads; nothing was written.
    case unsupportedFormat(Int)
    /// A change lacks what it needs to be applied or undone; nothing was written.
    case malformedChange(index: Int, change: Change, problem: ChangeProblem)
    /// Reading the live table failed; nothing was written.
    case kernelRead(KernelError)
    /// A kernel write failed; the changes made before it were undone (see `ApplyFailure`).
    case changeFailed(ApplyFailure)
    /// Every kernel write succeeded but what had to follow them (writing a rendered file) failed;
    /// the kernel writes were undone.
    case afterWritesFailed(AfterWritesFailure)

    public var description: String {
        switch self {
        case .planHasViolations(let v):
            return "the plan has \(v.count) guard violation\(v.count == 1 ? "" : "s") and was not applied: "
                + v.map(\.description).joined(separator: "; ")
        case .stalePlan(let planned, let live):
            return "the plan is stale: the kernel's IPVS table changed since it was made (fingerprint \(planned.prefix(12)) planned, \(live.prefix(12)) live); nothing was written; run lvsctl plan again"
        case .unsupportedFormat(let v):
            return "the plan has format version \(v), newer than this lvsctl reads (\(Plan.currentFormatVersion)); nothing was written; use a newer lvsctl or plan again"
        case .malformedChange(let i, let c, let p):
            return "change \(i + 1) (\(c.subject)) cannot be applied: \(p); nothing was written; plan again instead of editing plan files"
        case .kernelRead(let e):
            return "cannot read the live IPVS table: \(e); nothing was written"
        case .changeFailed(let f):
            return f.description
        case .afterWritesFailed(let f):
            return f.description
        }
    }
}

/// A kernel write that failed mid-apply, and what was done about it.
public struct ApplyFailure: Hashable, Sendable, CustomStringConvertible {
    /// The index of the failed change in `Plan.changes`.
    public var index: Int
    public var change: Change
    /// The kernel's reason.
    public var error: KernelError
    /// Undo writes the kernel refused: the kernel is left partly changed.
    public var undoFailures: [ApplyEvent]
    /// Everything that happened, including the undo.
    public var report: ApplyReport

    public init(index: Int, change: Change, error: KernelError, undoFailures: [ApplyEvent], report: ApplyReport) {
        self.index = index
        self.change = change
        self.error = error
        self.undoFailures = undoFailures
        self.report = report
    }

    /// `apply failed at change 3 (web: services[0].realServers[1]): add real server …: … (errno 22 EINVAL); undid 2 earlier changes; the kernel is as before the apply`.
    public var description: String {
        let place = "\(change.manifest)\(change.path.isEmpty ? "" : ": \(change.path)")"
        // The kernel's message already names the write it refused.
        var s = "apply failed at change \(index + 1) (\(place)): " + (error.write == nil ? "\(change.subject): " : "") + "\(error)"
        let n = report.undone
        if undoFailures.isEmpty {
            s += n == 0
                ? "; no earlier change had been made, the kernel is as before the apply"
                : "; undid \(n) earlier change\(n == 1 ? "" : "s"), the kernel is as before the apply"
        } else {
            s += "; undid \(n) earlier change\(n == 1 ? "" : "s") but \(undoFailures.count) undo write\(undoFailures.count == 1 ? "" : "s") failed ("
            s += undoFailures.map { e in e.outcome.error.map { $0.write == nil ? "\(e.write): \($0)" : "\($0)" } ?? "\(e.write): not sent" }
                .joined(separator: "; ")
            s += "); the kernel is partly changed: run lvsctl plan to see what is left"
        }
        return s
    }
}

/// The step after the kernel writes (writing a rendered file) failed, and what was done about it.
public struct AfterWritesFailure: Hashable, Sendable, CustomStringConvertible {
    /// What failed, in words.
    public var problem: String
    /// Undo writes the kernel refused: the kernel is left partly changed.
    public var undoFailures: [ApplyEvent]
    public var report: ApplyReport

    public init(problem: String, undoFailures: [ApplyEvent], report: ApplyReport) {
        self.problem = problem
        self.undoFailures = undoFailures
        self.report = report
    }

    public var description: String {
        var s = problem
        let n = report.undone
        if undoFailures.isEmpty {
            s += n == 0 ? "; the kernel was not changed" : "; undid the \(n) kernel change\(n == 1 ? "" : "s") made before it, the kernel is as before the apply"
        } else {
            s += "; undid \(n) kernel change\(n == 1 ? "" : "s") but \(undoFailures.count) undo write\(undoFailures.count == 1 ? "" : "s") failed; the kernel is partly changed: run lvsctl plan to see what is left"
        }
        return s
    }
}
