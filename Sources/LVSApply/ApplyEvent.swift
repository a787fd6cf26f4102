public import LVSKernel
public import LVSPlan

/// One kernel write made while applying a plan: the caller writes one audit row per event.
public struct ApplyEvent: Hashable, Sendable {
    /// Why the write was made.
    public enum Origin: String, Hashable, Sendable, Codable {
        /// A change of the plan.
        case plan
        /// Taking back a change of the plan after a later one failed.
        case undo
    }

    public var origin: Origin
    /// The index of the change in `Plan.changes` (for an undo: of the change being undone).
    public var index: Int
    public var change: Change
    public var write: KernelWrite
    public var outcome: WriteOutcome
    /// The time of the kernel call that carried this write. Writes are pipelined in chunks
    /// (``WritePipeline``), so the writes of a chunk share it.
    public var duration: Duration

    public init(origin: Origin, index: Int, change: Change, write: KernelWrite, outcome: WriteOutcome, duration: Duration) {
        self.origin = origin
        self.index = index
        self.change = change
        self.write = write
        self.outcome = outcome
        self.duration = duration
    }
}

/// What an apply did: counts and every event.
public struct ApplyReport: Hashable, Sendable {
    /// Writes sent to the kernel (plan and undo; skipped ones not counted).
    public var writes: Int = 0
    /// Plan changes the kernel applied (including ones undone later).
    public var applied: Int = 0
    /// Writes the kernel refused (plan and undo).
    public var failed: Int = 0
    /// Plan changes not sent because an earlier one failed.
    public var skipped: Int = 0
    /// Plan changes taken back completely after a failure.
    public var undone: Int = 0

    public init() {}
}
