import Foundation
import LVSApply
import LVSKernel
import LVSModel
import LVSPlan
import LVSStore

/// The audit of one apply, written as intent before the kernel writes and completed with their
/// outcomes as the kernel answers.
///
/// ``writeIntent(_:in:)`` stores one `planned` row per change of the plan (in plan order, so the
/// row of change *i* is `firstID + i`), inside the transaction that begins the run, before the
/// first kernel write. `record` (the applier's `onEvent`) collects outcomes and marks them in
/// batches, each batch one transaction of its own: a process killed at any moment leaves every
/// write that may have reached the kernel with a row, marked or `planned` (the next command
/// resolves those against the kernel, ``InterruptedRuns``). Undo writes get their intent rows
/// the same way, before they are sent (``planUndo(_:)``). Memory stays flat in the size of the
/// plan: a batch of outcomes at a time.
final class AuditWriter {
    private let store: Store
    private let runID: Int64
    private let revisions: [String: Revision]
    private let origin: ChangeOrigin
    private let now: @Sendable () -> Date
    private let json = AuditJSON()
    private var actions: [String: String] = [:]
    /// The intent row of plan change 0 (the rest follow, one per change).
    private(set) var firstID: Int64 = 0
    /// The intent row of each undo write, in the order the applier sends them.
    private var undoIDs: [Int64] = []
    private var pending: [IntentOutcome] = []
    private var error: (any Error)?
    /// Changes an applied undo write took back.
    private var undoneChanges: Set<Int> = []
    /// Plan changes the kernel applied.
    private(set) var appliedChanges: Set<Int> = []

    /// Rows marked with an outcome (one per kernel write that reached it).
    private(set) var count = 0

    init(store: Store, runID: Int64, revisions: [String: Revision], origin: ChangeOrigin, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.runID = runID
        self.revisions = revisions
        self.origin = origin
        self.now = now
        pending.reserveCapacity(Self.batch)
    }

    /// Outcomes per transaction: one pipelined chunk of kernel writes (``Applier/pipelineChunk``),
    /// so that a kill loses at most one chunk's marks (found again by recovery).
    static let batch = 1024

    /// Stores a `planned` row for every change of `plan`, in `transaction` (the one that begins
    /// the run). Rows are built and stored a batch at a time.
    func writeIntent(_ plan: Plan, in transaction: Store) throws {
        var rows: [AuditEntry] = []
        rows.reserveCapacity(min(plan.changes.count, Self.batch))
        var first: Int64? = nil
        let at = now()
        func flush() throws {
            guard !rows.isEmpty else { return }
            let ids = try transaction.appendAuditRows(rows)
            if first == nil { first = ids.lowerBound }
            rows.removeAll(keepingCapacity: true)
        }
        for c in plan.changes {
            rows.append(entry(c, undo: false, at: at))
            if rows.count >= Self.batch { try flush() }
        }
        try flush()
        firstID = first ?? 0
        intents = plan.changes.count
    }

    /// Intent rows of plan changes.
    private var intents = 0

    /// Stores the intent rows of the undo writes, in their own transaction, before they are sent.
    /// A store that cannot take them (disk full) must not stop the undo: the kernel's state
    /// matters more; the rows are then written with the outcomes, or left to recovery.
    func planUndo(_ undo: [(index: Int, change: Change)]) {
        guard error == nil else { return }
        flush()
        let at = now()
        do {
            let ids = try store.appendAuditRows(undo.map { entry($0.change, undo: true, at: at) })
            undoIDs = Array(ids)
        } catch {
            self.error = error
        }
    }

    private func entry(_ c: Change, undo: Bool, at: Date) -> AuditEntry {
        AuditEntry(
            runID: runID, revisionID: revisions[c.manifest]?.id, manifest: c.manifest, at: at,
            action: action(c.action, undo: undo), service: c.service, realServer: c.realServer,
            before: json.text(undo ? c.after : c.before), after: json.text(undo ? c.before : c.after),
            result: .planned, durationMicroseconds: 0, origin: undo ? .undo : origin)
    }

    private var undoSeen = 0

    /// The outcome of one kernel write (a skipped write leaves its row `planned`: deleted when
    /// the run ends, as it never reached the kernel).
    func record(_ event: ApplyEvent) {
        let undo = event.origin == .undo
        let id: Int64?
        if undo {
            id = undoSeen < undoIDs.count ? undoIDs[undoSeen] : nil
            undoSeen += 1
        } else {
            id = firstID + Int64(event.index)
        }
        if case .skipped = event.outcome { return }
        let error = event.outcome.error
        if error == nil {
            if undo { undoneChanges.insert(event.index) } else { appliedChanges.insert(event.index) }
        }
        guard let id else { return }
        pending.append(IntentOutcome(
            id: id, result: error == nil ? .applied : .failed,
            errno: error.map { $0.errno == 0 ? nil : $0.errno } ?? nil, kernelError: error?.description,
            durationMicroseconds: Self.micros(event.duration)))
        if pending.count >= Self.batch { flush() }
    }

    /// Marks the remaining outcomes; throws the first store error met on the way.
    func finish() throws {
        flush()
        if let error { throw error }
    }

    /// Whether every intent row got its outcome (none is left `planned`).
    var allMarked: Bool { error == nil && count == intents + undoIDs.count }

    /// Whether the store failed to take an intent or an outcome (the run is then left to recovery).
    var failed: Bool { error != nil }

    private func flush() {
        guard error == nil, !pending.isEmpty else { return }
        do {
            try store.markOutcomes(pending)
            count += pending.count
        } catch {
            self.error = error
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// `create-service`, `update-real-server`, …; undo rows say `undo-…`.
    private func action(_ a: Change.Action, undo: Bool) -> String {
        let key = undo ? "undo-" + a.rawValue : a.rawValue
        if let known = actions[key] { return known }
        var out = ""
        for ch in a.rawValue {
            if ch.isUppercase { out += "-" + ch.lowercased() } else { out.append(ch) }
        }
        let text = undo ? "undo-" + out : out
        actions[key] = text
        return text
    }

    static func micros(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1_000_000 + atto / 1_000_000_000_000
    }

    /// Whether plan change `index` is in the kernel now: applied, and not taken back.
    func holds(_ index: Int) -> Bool { appliedChanges.contains(index) && !undoneChanges.contains(index) }

    /// The ids of applied plan rows whose change an applied undo write took back.
    func undoneRows() -> [Int64] {
        undoneChanges.filter(appliedChanges.contains).sorted().map { firstID + Int64($0) }
    }
}
