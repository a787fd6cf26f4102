import Foundation
import LVSApply
import LVSKernel
import LVSModel
import LVSPlan
import LVSStore

/// Turns the applier's events into audit rows and writes them in batches, so that an apply of
/// a hundred thousand changes never holds a hundred thousand rows in memory.
///
/// Used inside the store transaction of ``Reconciler/apply(_:revisions:origin:author:recordEmptyRun:verifyFingerprint:)``:
/// `record` is the applier's `onEvent`; `finish` writes what is left and reports the first
/// store error, which `record` (called by code that cannot throw) had to keep for later.
final class AuditWriter {
    private let store: Store
    private let runID: Int64
    private let revisions: [String: Revision]
    private let origin: ChangeOrigin
    private let now: @Sendable () -> Date
    private let json = AuditJSON()
    private var pending: [AuditEntry] = []
    /// Of each pending row: the plan change it is for, and whether it is an applied plan write
    /// or an applied undo write (what finding undone rows needs; nothing else is kept).
    private var pendingChanges: [(index: Int, kind: RowKind)] = []
    private var error: (any Error)?
    /// Applied plan rows, by change index (ascending: plan events come in order), and their ids.
    private var appliedChanges: [Int] = []
    private var appliedRowIDs: [Int64] = []
    /// Changes an applied undo write took back.
    private var undoneChanges: Set<Int> = []
    private var actions: [String: String] = [:]

    /// Rows written so far.
    private(set) var count = 0

    private enum RowKind {
        case appliedPlan, appliedUndo, other
    }

    init(store: Store, runID: Int64, revisions: [String: Revision], origin: ChangeOrigin, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.runID = runID
        self.revisions = revisions
        self.origin = origin
        self.now = now
        pending.reserveCapacity(Self.batch)
    }

    static let batch = 1024

    /// One row for a write that reached the kernel (skipped writes leave none).
    func record(_ event: ApplyEvent) {
        if case .skipped = event.outcome { return }
        let c = event.change
        let undo = event.origin == .undo
        let error = event.outcome.error
        pending.append(AuditEntry(
            runID: runID, revisionID: revisions[c.manifest]?.id, manifest: c.manifest, at: now(),
            action: action(c.action, undo: undo), service: c.service, realServer: c.realServer,
            before: json.text(undo ? c.after : c.before), after: json.text(undo ? c.before : c.after),
            result: error == nil ? .applied : .failed, errno: error.map { $0.errno == 0 ? nil : $0.errno } ?? nil,
            kernelError: error?.description,
            durationMicroseconds: Self.micros(event.duration), origin: undo ? .undo : origin))
        pendingChanges.append((event.index, error != nil ? .other : undo ? .appliedUndo : .appliedPlan))
        if pending.count >= Self.batch { flush() }
    }

    /// Writes the remaining rows; throws the first store error met on the way.
    func finish() throws {
        flush()
        if let error { throw error }
    }

    private func flush() {
        guard error == nil, !pending.isEmpty else { return }
        do {
            let ids = try store.appendAuditRows(pending)
            count += pending.count
            for (change, id) in zip(pendingChanges, ids) {
                switch change.kind {
                case .appliedPlan:
                    appliedChanges.append(change.index)
                    appliedRowIDs.append(id)
                case .appliedUndo:
                    undoneChanges.insert(change.index)
                case .other:
                    break
                }
            }
        } catch {
            self.error = error
        }
        pending.removeAll(keepingCapacity: true)
        pendingChanges.removeAll(keepingCapacity: true)
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

    /// The ids of applied rows whose change an applied undo row took back.
    func undoneRows() -> [Int64] {
        undoneChanges.sorted().compactMap { change in
            // Binary search: appliedChanges is ascending.
            var low = 0
            var high = appliedChanges.count
            while low < high {
                let mid = (low + high) / 2
                if appliedChanges[mid] < change { low = mid + 1 } else { high = mid }
            }
            return low < appliedChanges.count && appliedChanges[low] == change ? appliedRowIDs[low] : nil
        }
    }
}
