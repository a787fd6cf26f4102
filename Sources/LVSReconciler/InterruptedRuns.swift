public import Foundation
public import LVSKernel
public import LVSModel
import LVSPlan
public import LVSStore

/// Closing runs left `running` by a process that ended before it finished them (SIGKILL, a
/// crash, power loss, a store that filled up): the one place that decides what became of their
/// kernel writes.
///
/// Every write of a run has an intent row (`planned`) committed before it was sent
/// (``Reconciler/apply(_:revisions:origin:author:recordEmptyRun:verifyFingerprint:)``). For each
/// row still `planned`, the object it names is looked up in the live table: when the kernel holds
/// the row's `after` value (or, for a removal, no longer holds the object) the write reached the
/// kernel, and the row becomes `applied`; otherwise it was never made, and the row is deleted (the
/// audit has one row per write that reached the kernel). Ownership follows: a service the run
/// claimed at its intent but never created is released, one it deleted is released. The run is
/// then closed as failed with a message that says how many writes were found.
///
/// Only for a caller that holds the writer lock: then a `running` run has no process behind it.
public enum InterruptedRuns {
    /// One closed run and what was found of its writes.
    public struct Recovered: Hashable, Sendable, CustomStringConvertible {
        public var run: ApplyRun
        /// Planned writes the kernel holds: audited as applied.
        public var foundDone: Int
        /// Planned writes the kernel does not hold: never made, their intent rows deleted.
        public var notMade: Int
        /// Writes whose outcome cannot be told from the kernel (kept as failed, with why).
        public var unknown: Int

        public var description: String {
            let what = run.manifest.map { "\(run.origin.rawValue) of \($0)" } ?? run.origin.rawValue
            return "run \(run.id) (\(what), started \(RFC3339.string(run.startedAt.timeIntervalSince1970.rounded(.down))) by \(run.author)) was interrupted; "
                + "closed it as failed: \(foundDone) of its planned kernel writes were found in the kernel "
                + "(audited as applied), \(notMade) were never made"
                + (unknown > 0 ? ", \(unknown) could not be told (audited as failed)" : "")
        }
    }

    /// The error text of a closed interrupted run.
    public static func error(foundDone: Int, notMade: Int, unknown: Int) -> String {
        "interrupted: the process applying this run ended before it finished; on recovery \(foundDone) of its planned "
            + "kernel writes were found in the kernel (audited as applied) and \(notMade) had not been made"
            + (unknown > 0 ? "; \(unknown) could not be told (audited as failed)" : "")
            + " (`lvsctl drift` shows whether the kernel matches the manifests)"
    }

    /// Resolves and closes every `running` run. Cheap when there is none (one lookup); reads the
    /// live table (`live`, else from `kernel`) only when there is.
    @discardableResult
    public static func recover(store: Store, kernel: any IPVSKernel, live known: LiveTable? = nil) throws -> [Recovered] {
        guard try store.hasRunningRun() else { return [] }
        let runs = try store.runningRuns()
        var live: LiveTable? = known
        var out: [Recovered] = []
        for run in runs {
            let rows = try store.plannedRows(runID: run.id)
            if !rows.isEmpty && live == nil { live = try kernel.snapshot() }
            let index = LiveIndex(live ?? LiveTable())
            var done: [IntentOutcome] = []
            var notMade: [Int64] = []
            var unknown: [IntentOutcome] = []
            var releases: [String: [VirtualService.ID]] = [:]
            for row in rows {
                guard let id = row.id else { continue }
                switch index.holds(row) {
                case true?:
                    done.append(IntentOutcome(id: id, result: .applied, durationMicroseconds: 0))
                    // A deleted service: its ownership goes with it (the run's end never came).
                    if row.action == "delete-service", let s = row.service { releases[row.manifest, default: []].append(s) }
                case false?:
                    notMade.append(id)
                    // Claimed at the intent, never created.
                    if row.action == "create-service", let s = row.service, index.services[s] == nil {
                        releases[row.manifest, default: []].append(s)
                    }
                case nil:
                    unknown.append(IntentOutcome(
                        id: id, result: .failed,
                        kernelError: "outcome unknown: the run was interrupted and the kernel's state does not show whether this write was made",
                        durationMicroseconds: 0))
                }
            }
            let error = Self.error(foundDone: done.count, notMade: notMade.count, unknown: unknown.count)
            try store.transaction { tx in
                try tx.markOutcomes(done)
                try tx.markOutcomes(unknown)
                try tx.deletePlanned(notMade)
                for (manifest, ids) in releases.sorted(by: { $0.key < $1.key }) {
                    _ = try tx.removeOwner(ids, manifest: manifest)
                }
                try tx.closeInterrupted(run.id, error: error)
            }
            var closed = try store.run(run.id) ?? run
            closed.error = error
            out.append(Recovered(run: closed, foundDone: done.count, notMade: notMade.count, unknown: unknown.count))
        }
        return out
    }

    /// What an idle check found: runs closed, or why they could not be.
    public enum IdleCheck: Sendable {
        /// No run was left `running`.
        case clean
        /// Interrupted runs, now closed.
        case closed([Recovered])
        /// A run is `running` and another process holds the writer lock: an apply in progress.
        case inProgress([ApplyRun], holderPID: Int32?)
        /// Interrupted runs that could not be closed (a read-only store), with why.
        case notClosed([ApplyRun], reason: String)

        /// Lines for standard error (none when clean).
        public var notes: [String] {
            switch self {
            case .clean:
                return []
            case .closed(let runs):
                return runs.map(\.description)
            case .inProgress(let runs, let pid):
                let who = pid.map { "pid \($0)" } ?? "another process"
                return runs.map { "run \($0.id) (\($0.origin.rawValue)\($0.manifest.map { " of \($0)" } ?? "")) is in progress (\(who) holds the writer lock); what it writes may not show yet" }
            case .notClosed(let runs, let reason):
                return runs.map {
                    "run \($0.id) (\($0.origin.rawValue)\($0.manifest.map { " of \($0)" } ?? ""), started \(RFC3339.string($0.startedAt.timeIntervalSince1970.rounded(.down)))) "
                        + "was interrupted and is not closed yet (\(reason)); its kernel writes not yet marked are not in the history: "
                        + "the next lvsctl command that can read the kernel and write the store closes it"
                }
            }
        }
    }

    /// For a command that does not otherwise write (drift, status, plan): when a run is left
    /// `running`, takes the writer lock without waiting and closes it; when the lock is held,
    /// says an apply is in progress; when the store cannot be written, says so. Never throws for
    /// the store's sake: the command's own answer matters more.
    public static func closeIfIdle(store: Store, kernel: any IPVSKernel, live: LiveTable? = nil) -> IdleCheck {
        closeIfIdle(store: store, openKernel: { kernel }, live: live)
    }

    /// The same for a command that does not otherwise read the kernel (`history`): the kernel is
    /// opened only when a run is left `running`, and a kernel that cannot be read (not root, no
    /// IPVS) leaves the run as it is, said so.
    public static func closeIfIdle(store: Store, openKernel: () throws -> any IPVSKernel, live: LiveTable? = nil) -> IdleCheck {
        let runs: [ApplyRun]
        do {
            guard try store.hasRunningRun() else { return .clean }
            runs = try store.runningRuns()
        } catch {
            return .clean
        }
        let kernel: any IPVSKernel
        do {
            kernel = try openKernel()
        } catch {
            return .notClosed(runs, reason: "the kernel's table, which tells which of its writes were made, cannot be read: \(error)")
        }
        do {
            let closed = try store.withWriterLock(timeout: .zero) {
                try recover(store: store, kernel: kernel, live: live)
            }
            return closed.isEmpty ? .clean : .closed(closed)
        } catch StoreError.lockTimeout(_, let pid, _) {
            return .inProgress(runs, holderPID: pid)
        } catch {
            return .notClosed(runs, reason: "\(error)")
        }
    }
}

/// The live table indexed for looking up the object an audit row names.
private struct LiveIndex {
    var services: [VirtualService.ID: LiveService] = [:]
    var realServers: [VirtualService.ID: [RealServer.ID: RealServer]] = [:]
    let table: LiveTable
    let json = AuditJSON()
    let decoder = JSONDecoder()

    init(_ table: LiveTable) {
        self.table = table
        for s in table.services {
            services[s.service.id] = s
            var rs: [RealServer.ID: RealServer] = [:]
            for r in s.realServers { rs[r.server.id] = r.server }
            realServers[s.service.id] = rs
        }
    }

    /// Whether the kernel holds the row's `after` (true), does not (false), or it cannot be told (nil).
    func holds(_ row: AuditEntry) -> Bool? {
        if let service = row.service {
            if let realServer = row.realServer {
                let live = realServers[service]?[realServer]
                guard let after = row.after else { return live == nil }
                guard let live else { return false }
                return json.text(.realServer(live)) == after ? true : decoded(after).map { $0 == .realServer(live) } ?? nil
            }
            let live = services[service]?.service
            guard let after = row.after else { return live == nil }
            guard let live else { return false }
            if json.text(.service(live)) == after { return true }
            switch decoded(after) {
            case .service(let s)?: return s == live
            case .entry(let e)?: return e.service == live
            case nil: return nil
            default: return nil
            }
        }
        // Kernel-wide: timeouts, sync daemons, sysctls.
        guard let after = row.after else {
            // A stopped sync daemon.
            if let before = row.before, case .syncDaemon(let d)? = decoded(before) {
                return !table.syncDaemons.contains { $0.state == d.state }
            }
            return nil
        }
        switch decoded(after) {
        case .timeouts(let t)?: return table.timeouts == t
        case .syncDaemon(let d)?: return table.syncDaemons.contains(d)
        case .sysctls(let s)?: return Self.declared(s, holdIn: table.sysctls)
        default: return nil
        }
    }

    private func decoded(_ text: String) -> Change.Value? {
        try? decoder.decode(Change.Value.self, from: Data(text.utf8))
    }

    /// Every sysctl `declared` sets (a non-null field) has that value in `live`.
    static func declared(_ declared: IPVSSysctls, holdIn live: IPVSSysctls) -> Bool? {
        let encoder = JSONEncoder()
        guard let d = try? JSONSerialization.jsonObject(with: encoder.encode(declared)) as? [String: Any],
            let l = try? JSONSerialization.jsonObject(with: encoder.encode(live)) as? [String: Any]
        else { return nil }
        for (key, value) in d where !(value is NSNull) {
            guard let lv = l[key], NSDictionary(dictionary: [key: value]).isEqual(to: [key: lv]) else { return false }
        }
        return true
    }
}
