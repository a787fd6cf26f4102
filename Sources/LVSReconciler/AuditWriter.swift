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
    private var error: (any Error)?
    /// What finding undone rows needs of each stored row (not its JSON).
    private var written: [Summary] = []
    private var actions: [String: String] = [:]

    /// Rows written so far.
    var count: Int { written.count }

    private struct Summary {
        var id: Int64
        var action: String
        var service: VirtualService.ID?
        var realServer: RealServer.ID?
        var undo: Bool
        var applied: Bool
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
            for row in try store.appendAudit(pending) {
                written.append(Summary(
                    id: row.id ?? 0, action: row.action, service: row.service, realServer: row.realServer,
                    undo: row.origin == .undo, applied: row.result == .applied))
            }
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

    /// The ids of applied rows whose change an undo row took back.
    func undoneRows() -> [Int64] {
        var undone: [Int64] = []
        for undo in written where undo.undo && undo.applied {
            let original = undo.action.dropFirst("undo-".count)
            if let match = written.last(where: {
                !$0.undo && $0.applied && $0.action == original
                    && $0.service == undo.service && $0.realServer == undo.realServer
            }) {
                undone.append(match.id)
            }
        }
        return undone
    }
}
