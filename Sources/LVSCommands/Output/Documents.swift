import Foundation
import LVSModel
import LVSPlan
import LVSRealServer
import LVSStore

// Every command's output, text and JSON, in one place. Each document is a machine format
// (`MachineDocument`: kind, formatVersion, explicit keys) with its text form beside it. The
// formats are described in README.md ("Machine output") and `Manifests/lvsctl-*.schema.json`.

// MARK: - plan

/// `lvsctl plan`: the plan (`Plan+Codable.swift`) with `kind`.
struct PlanDocument: Rendered {
    static let kind = "plan"
    static var formatVersion: Int { Plan.currentFormatVersion }
    var plan: Plan

    func encode(to encoder: any Encoder) throws { try plan.encode(to: encoder) }

    func renderText(_ write: (String) -> Void) { PlanRenderer(plan: plan).render(write) }
}

// MARK: - apply

/// `lvsctl apply`: the plan, what was applied and the revision stored.
struct ApplyDocument: Rendered {
    static let kind = "apply"
    static let formatVersion = 1
    var plan: Plan
    var revision: RevisionObject?
    /// Changes applied (0 for a dry run or a refused plan).
    var applied: Int
    var auditRows: Int
    /// Write requests sent to the kernel by this command (undo writes included).
    var kernelWrites: Int
    var dryRun: Bool
    /// Whether the plan came from a saved plan file (`apply --plan`).
    var savedPlan: Bool = false
    /// Kernel writes the apply made (text only: whether to say what was applied).
    var writes: Int = 0
    /// Text only: the plan was printed before the apply (a saved plan); say only the outcome.
    var planShown = false

    private enum CodingKeys: String, CodingKey {
        case plan, revision, applied, auditRows, kernelWrites, dryRun, savedPlan
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(plan, forKey: .plan)
        try c.encodeIfPresent(revision, forKey: .revision)
        try c.encode(applied, forKey: .applied)
        try c.encode(auditRows, forKey: .auditRows)
        try c.encode(kernelWrites, forKey: .kernelWrites)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(savedPlan, forKey: .savedPlan)
    }

    func renderText(_ write: (String) -> Void) {
        if planShown {
            // Said already.
        } else if plan.isEmpty && plan.pendingDrains.isEmpty && plan.violations.isEmpty && plan.claims.isEmpty {
            var line = "No changes. The IPVS table matches"
            if let revision { line += " \(revision.manifest) revision \(revision.number)" } else { line += " the manifest" }
            write(line + ".\n")
        } else {
            PlanRenderer(plan: plan).render(write)
        }
        if writes > 0, let revision {
            write("Applied \(applied) change\(applied == 1 ? "" : "s") as \(revision.manifest) revision \(revision.number) "
                + "(\(auditRows) audit row\(auditRows == 1 ? "" : "s")).\n")
        } else if dryRun && !plan.isEmpty {
            write("Dry run: nothing was changed.\n")
        }
        let taken = plan.takenOver.count
        if taken > 0, !dryRun, let revision {
            write("Took over \(taken) service\(taken == 1 ? "" : "s") as \(revision.manifest) revision \(revision.number)"
                + (writes == 0 ? " without touching the kernel.\n" : ".\n"))
        }
    }
}

/// A stored revision, as `apply`, `rollback`, `adopt` and `revisions` print it (not its content:
/// `lvsctl show` prints that).
struct RevisionObject: Encodable {
    var manifest: String
    var number: Int
    var contentHash: String
    var author: String
    var message: String?
    var createdAt: Date
    var kind: Revision.Kind
    var basedOn: Int?
    var sourcePath: String?

    init(_ r: Revision) {
        manifest = r.manifest
        number = r.number
        contentHash = r.contentHash
        author = r.author
        message = r.message
        createdAt = r.createdAt
        kind = r.kind
        basedOn = r.basedOn
        sourcePath = r.sourcePath
    }

    private enum CodingKeys: String, CodingKey {
        case manifest, number, contentHash, author, message, createdAt, kind, basedOn, sourcePath
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(number, forKey: .number)
        try c.encode(contentHash, forKey: .contentHash)
        try c.encode(author, forKey: .author)
        try c.encodeIfPresent(message, forKey: .message)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(kind.rawValue, forKey: .kind)
        try c.encodeIfPresent(basedOn, forKey: .basedOn)
        try c.encodeIfPresent(sourcePath, forKey: .sourcePath)
    }
}

// MARK: - revisions

/// `lvsctl revisions`.
struct RevisionsDocument: Rendered {
    static let kind = "revisions"
    static let formatVersion = 1
    var revisions: [RevisionObject]

    private enum CodingKeys: String, CodingKey {
        case revisions
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(revisions, forKey: .revisions)
    }

    func renderText(_ write: (String) -> Void) {
        write("REVISION              CREATED               KIND      AUTHOR               HASH          MESSAGE\n")
        for r in revisions {
            var kind = r.kind.rawValue
            if let b = r.basedOn { kind += " of #\(b)" }
            write([
                pad("\(r.manifest)@\(r.number)", 21), pad(r.createdAt.iso8601, 21), pad(kind, 9),
                pad(r.author, 20), pad(String(r.contentHash.prefix(12)), 13), r.message ?? "",
            ].joined(separator: " ") + "\n")
        }
    }
}

// MARK: - status

/// `lvsctl status`: the live table with lvsctl's owners, drains and health.
struct StatusDocument: Rendered {
    static let kind = "status"
    /// 3: `bgp` (announced routes and BGP sessions). 2: `maintenance` (the `lvsctl drain` flags
    /// with who, when and why) and `director` (the director pair's VRRP roles, maintenance and
    /// readiness); 1 had neither.
    static let formatVersion = 3
    var info: KernelInfo
    var table: LiveTable
    var owners: [VirtualService.ID: String]
    var drains: [DrainRecord]
    var health: [HealthRecord]
    var maintenance: [MaintenanceFlag] = []
    var now: Date
    /// nil when the applied manifests have no `vrrp` section.
    var director: DirectorStatus? = nil
    /// nil when the applied manifests have no `bgp` section.
    var bgp: BGPStatus? = nil

    private enum CodingKeys: String, CodingKey {
        case ipvsVersion, connectionTableSize, table, owners, drains, health, maintenance, director, bgp
    }

    private struct Owner: Encodable {
        var service: VirtualService.ID
        var manifest: String
        enum CodingKeys: String, CodingKey { case service, manifest }
    }

    private struct Drain: Encodable {
        var record: DrainRecord
        enum CodingKeys: String, CodingKey { case service, realServer, manifest, startedAt, deadline, reason }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(record.service, forKey: .service)
            try c.encode(record.realServer, forKey: .realServer)
            try c.encode(record.manifest, forKey: .manifest)
            try c.encode(record.startedAt, forKey: .startedAt)
            try c.encodeIfPresent(record.deadline, forKey: .deadline)
            try c.encode(record.reason.rawValue, forKey: .reason)
        }
    }

    private struct Health: Encodable {
        var record: HealthRecord
        enum CodingKeys: String, CodingKey { case service, realServer, healthy, lastCheck, lastError, changedAt }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(record.service, forKey: .service)
            try c.encode(record.realServer, forKey: .realServer)
            try c.encode(record.healthy, forKey: .healthy)
            try c.encodeIfPresent(record.lastCheck, forKey: .lastCheck)
            try c.encodeIfPresent(record.lastError, forKey: .lastError)
            try c.encode(record.changedAt, forKey: .changedAt)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(info.versionString, forKey: .ipvsVersion)
        try c.encode(info.connectionTableSize, forKey: .connectionTableSize)
        try c.encode(table, forKey: .table)
        try c.encode(owners.sorted { $0.key < $1.key }.map { Owner(service: $0.key, manifest: $0.value) }, forKey: .owners)
        try c.encode(drains.map(Drain.init), forKey: .drains)
        try c.encode(health.map(Health.init), forKey: .health)
        try c.encode(maintenance.sorted(by: Self.order).map(MaintenanceFlagObject.init), forKey: .maintenance)
        if let director { try c.encode(director, forKey: .director) } else { try c.encodeNil(forKey: .director) }
        if let bgp { try c.encode(bgp, forKey: .bgp) } else { try c.encodeNil(forKey: .bgp) }
    }

    static func order(_ a: MaintenanceFlag, _ b: MaintenanceFlag) -> Bool {
        (a.service, a.realServer?.description ?? "") < (b.service, b.realServer?.description ?? "")
    }

    /// `maintenance by alice since 2026-05-28T20:26:40Z: "disk swap"`.
    static func maintenanceNote(_ flag: MaintenanceFlag) -> String {
        var note = "maintenance by \(flag.author) since \(flag.since.iso8601)"
        if let reason = flag.reason, !reason.isEmpty { note += ": \"\(reason)\"" }
        return note
    }

    func renderText(_ write: (String) -> Void) {
        defer {
            director.map { $0.renderText(write) }
            bgp.map { $0.renderText(write) }
        }
        var annotations = StatusRenderer.Annotations()
        annotations.owners = owners
        for flag in maintenance.sorted(by: Self.order) {
            if let rs = flag.realServer {
                annotations.realServerNotes[flag.service, default: [:]][rs, default: []].append(Self.maintenanceNote(flag))
            } else {
                annotations.serviceNotes[flag.service, default: []].append(Self.maintenanceNote(flag))
            }
        }
        for d in drains {
            var note = "draining (\(d.reason.rawValue))"
            if let deadline = d.deadline {
                note += ", \(max(0, Int(deadline.timeIntervalSince(now)))) s left"
            }
            annotations.realServerNotes[d.service, default: [:]][d.realServer, default: []].append(note)
        }
        for h in health {
            var note = "health \(h.healthy ? "up" : "down")"
            if let last = h.lastCheck { note += ", checked \(last.iso8601)" }
            if let err = h.lastError, !h.healthy { note += " (\(err))" }
            annotations.realServerNotes[h.service, default: [:]][h.realServer, default: []].append(note)
        }
        write(StatusRenderer(info: info, table: table, annotations: annotations).render())
    }
}

// MARK: - drift

/// One drift item with when lvsctl last set that object (from the audit).
struct DriftReport: Encodable {
    var item: DriftItem
    var lastSetByLvsctl: Date?
    var lastSetAction: String?

    private enum CodingKeys: String, CodingKey {
        case kind, manifest, service, realServer, field, expected, live, lastSetByLvsctl, lastSetAction
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(item.kind.rawValue, forKey: .kind)
        try c.encode(item.manifest, forKey: .manifest)
        try c.encodeIfPresent(item.service, forKey: .service)
        try c.encodeIfPresent(item.realServer, forKey: .realServer)
        try c.encode(item.field, forKey: .field)
        try c.encodeIfPresent(item.expected, forKey: .expected)
        try c.encodeIfPresent(item.live, forKey: .live)
        try c.encodeIfPresent(lastSetByLvsctl, forKey: .lastSetByLvsctl)
        try c.encodeIfPresent(lastSetAction, forKey: .lastSetAction)
    }
}

/// `lvsctl drift [--fix]`.
struct DriftDocument: Rendered {
    static let kind = "drift"
    static let formatVersion = 1
    var drift: [DriftReport]
    /// Real servers being drained: in the kernel on purpose, not drift.
    var draining: [ServiceRealServerKey]
    var foreign: [VirtualService.ID]
    /// With `--fix`: the plan that brought the kernel back, and the changes applied.
    var fix: Fix?

    struct Fix: Encodable {
        var plan: Plan
        var applied: Int
        enum CodingKeys: String, CodingKey { case plan, applied }
    }

    private enum CodingKeys: String, CodingKey {
        case drift, draining, foreign, fix
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(drift, forKey: .drift)
        try c.encode(draining, forKey: .draining)
        try c.encode(foreign, forKey: .foreign)
        try c.encodeIfPresent(fix, forKey: .fix)
    }

    /// The report; the fix's text is written by ``renderFix(_:)`` once it is done.
    func renderText(_ write: (String) -> Void) {
        if drift.isEmpty { write("No drift: the live table matches the applied revisions.\n") }
        for r in drift {
            var line = "  \(r.item)"
            if let at = r.lastSetByLvsctl {
                line += " (lvsctl last set it at \(at.iso8601) by \(r.lastSetAction ?? "?"); changed outside lvsctl since)"
            } else {
                line += " (never set by lvsctl)"
            }
            write(line + "\n")
        }
        if !draining.isEmpty {
            write("Draining (removed from the manifest; deleted when their connections end):\n")
            for d in draining { write("  \(d.realServer) of \(d.service)\n") }
        }
        if !foreign.isEmpty {
            write("Foreign services (not managed by lvsctl, left alone):\n")
            for f in foreign { write("  \(f)\n") }
        }
        if let fix { Self.renderFix(fix, write) }
    }

    static func renderFix(_ fix: Fix, _ write: (String) -> Void) {
        PlanRenderer(plan: fix.plan).render(write)
        write("Fixed: applied \(fix.applied) change\(fix.applied == 1 ? "" : "s").\n")
    }
}

// MARK: - history

/// One audit row. `before` and `after` are the stored objects (`Model+Codable.swift`), as JSON
/// objects, never as text.
struct AuditObject: Encodable {
    var entry: AuditEntry

    private enum CodingKeys: String, CodingKey {
        case id, run, revision, manifest, at, action, service, realServer, before, after, result, errno, kernelError
        case durationMicroseconds, origin
    }

    func encode(to encoder: any Encoder) throws {
        let e = entry
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(e.id, forKey: .id)
        try c.encode(e.runID, forKey: .run)
        try c.encodeIfPresent(e.revisionID, forKey: .revision)
        try c.encode(e.manifest, forKey: .manifest)
        try c.encode(e.at, forKey: .at)
        try c.encode(e.action, forKey: .action)
        try c.encodeIfPresent(e.service, forKey: .service)
        try c.encodeIfPresent(e.realServer, forKey: .realServer)
        try c.encodeIfPresent(e.before.map(Self.object), forKey: .before)
        try c.encodeIfPresent(e.after.map(Self.object), forKey: .after)
        try c.encode(e.result.rawValue, forKey: .result)
        try c.encodeIfPresent(e.errno, forKey: .errno)
        try c.encodeIfPresent(e.kernelError, forKey: .kernelError)
        try c.encode(e.durationMicroseconds, forKey: .durationMicroseconds)
        try c.encode(e.origin.rawValue, forKey: .origin)
    }

    /// The stored text as the object it is; text that is not JSON stays a string.
    static func object(_ text: String) -> JSONValue { JSONValue(parsing: text) ?? .string(text) }
}

/// `lvsctl history`: the audit rows, and the runs they belong to with the revision each applied
/// and its `-m` message (format 2; format 1 had no runs).
struct HistoryDocument: Rendered {
    static let kind = "history"
    static let formatVersion = 2
    var entries: [AuditEntry]
    /// The runs of `entries`, each with the revision it applied (nil when it applied none).
    var runs: [HistoryRun] = []

    struct HistoryRun {
        var run: ApplyRun
        var revision: Revision?
    }

    /// The runs of `rows` and their revisions, read once each.
    static func runs(of rows: [AuditEntry], in store: Store) throws -> [HistoryRun] {
        var seen = Set<Int64>()
        var out: [HistoryRun] = []
        for id in rows.map(\.runID) where seen.insert(id).inserted {
            guard let run = try store.run(id) else { continue }
            out.append(HistoryRun(run: run, revision: try run.revisionID.flatMap { try store.revision(id: $0, withContent: false) }))
        }
        return out
    }

    private enum CodingKeys: String, CodingKey {
        case entries, runs
    }

    private struct RunObject: Encodable {
        var item: HistoryRun
        enum CodingKeys: String, CodingKey { case id, origin, author, status, startedAt, finishedAt, error, manifest, revision, message }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            let r = item.run
            try c.encode(r.id, forKey: .id)
            try c.encode(r.origin.rawValue, forKey: .origin)
            try c.encode(r.author, forKey: .author)
            try c.encode(r.status.rawValue, forKey: .status)
            try c.encode(r.startedAt, forKey: .startedAt)
            try c.encodeIfPresent(r.finishedAt, forKey: .finishedAt)
            try c.encodeIfPresent(r.error, forKey: .error)
            try c.encodeIfPresent(item.revision?.manifest ?? r.manifest, forKey: .manifest)
            try c.encodeIfPresent(item.revision?.number, forKey: .revision)
            try c.encodeIfPresent(item.revision?.message, forKey: .message)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entries.map(AuditObject.init), forKey: .entries)
        try c.encode(runs.sorted { $0.run.id < $1.run.id }.map(RunObject.init), forKey: .runs)
    }

    /// `run 12: apply demo@3 by alice: "raise web weights"`.
    static func runLine(_ item: HistoryRun) -> String {
        var line = "run \(item.run.id): \(item.run.origin.rawValue)"
        if let rev = item.revision { line += " \(rev.manifest)@\(rev.number)" } else if let m = item.run.manifest { line += " \(m)" }
        line += " by \(item.run.author), \(item.run.status.rawValue)"
        if let message = item.revision?.message, !message.isEmpty { line += ": \"\(message)\"" }
        return line
    }

    func renderText(_ write: (String) -> Void) {
        if entries.isEmpty {
            write("No audit rows.\n")
            return
        }
        let byID = Dictionary(runs.map { ($0.run.id, $0) }, uniquingKeysWith: { a, _ in a })
        write("TIME                  RUN  ORIGIN     ACTION               OBJECT                                   RESULT   DETAIL\n")
        var current: Int64? = nil
        for r in entries {
            if r.runID != current, let item = byID[r.runID] {
                write(Escaped.lines(Self.runLine(item)) + "\n")
            }
            current = r.runID
            let object = [r.service.map { "\($0)" }, r.realServer.map { "\($0)" }].compactMap { $0 }.joined(separator: " ")
            let detail = r.kernelError ?? Self.delta(before: r.before, after: r.after)
            write([
                pad(r.at.iso8601, 21), pad(String(r.runID), 4), pad(r.origin.rawValue, 10),
                pad(r.action, 20), pad(object.isEmpty ? "(global)" : object, 40),
                pad(r.result.rawValue, 8), detail,
            ].joined(separator: " ") + "\n")
        }
    }

    /// A short before → after summary of the fields that changed (weights, schedulers…).
    static func delta(before: String?, after: String?) -> String {
        func fields(_ s: String?) -> [String: String] {
            guard let s, case .object(let outer)? = JSONValue(parsing: s), case .object(let inner)? = outer.values.first
            else { return [:] }
            var out: [String: String] = [:]
            for (k, v) in inner {
                switch v {
                case .int(let i): out[k] = "\(i)"
                case .double(let d): out[k] = "\(d)"
                case .string(let s): out[k] = s
                case .bool(let b): out[k] = "\(b)"
                case .null, .array, .object: break
                }
            }
            return out
        }
        let b = fields(before), a = fields(after)
        if b.isEmpty && a.isEmpty { return "" }
        if b.isEmpty { return "new" }
        if a.isEmpty { return "removed" }
        let changed = a.keys.sorted().filter { b[$0] != a[$0] }.map { "\($0) \(b[$0] ?? "-") → \(a[$0] ?? "-")" }
        return changed.joined(separator: ", ")
    }
}

// MARK: - validate

/// `lvsctl validate`.
struct ValidationDocument: Rendered {
    static let kind = "validation"
    static let formatVersion = 1
    /// The files that are valid manifests (warnings aside).
    var valid: [String]
    var diagnostics: [Diagnostic]

    private enum CodingKeys: String, CodingKey {
        case valid, diagnostics
    }

    private struct DiagnosticObject: Encodable {
        var d: Diagnostic
        enum CodingKeys: String, CodingKey { case severity, file, path, line, column, message, hint }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(d.severity.rawValue, forKey: .severity)
            try c.encodeIfPresent(d.file, forKey: .file)
            try c.encode(d.path, forKey: .path)
            try c.encodeIfPresent(d.line, forKey: .line)
            try c.encodeIfPresent(d.column, forKey: .column)
            try c.encode(d.message, forKey: .message)
            try c.encodeIfPresent(d.hint, forKey: .hint)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(valid, forKey: .valid)
        try c.encode(diagnostics.map(DiagnosticObject.init), forKey: .diagnostics)
    }

    /// Diagnostics go to standard error, the valid files to standard output.
    func renderText(_ write: (String) -> Void) {
        for d in diagnostics { printError(d.description) }
        for f in valid { write("\(f): valid\n") }
    }
}

// MARK: - rollback

/// `lvsctl rollback`.
struct RollbackDocument: Rendered {
    static let kind = "rollback"
    static let formatVersion = 1
    var manifest: String
    /// The revision number rolled back to.
    var to: Int
    var plan: Plan
    /// The new revision (nil for a dry run or a refused plan).
    var revision: RevisionObject?
    var applied: Int
    var dryRun: Bool

    private enum CodingKeys: String, CodingKey {
        case manifest, to, plan, revision, applied, dryRun
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(to, forKey: .to)
        try c.encode(plan, forKey: .plan)
        try c.encodeIfPresent(revision, forKey: .revision)
        try c.encode(applied, forKey: .applied)
        try c.encode(dryRun, forKey: .dryRun)
    }

    func renderText(_ write: (String) -> Void) {
        PlanRenderer(plan: plan).render(write)
        if let revision {
            write("Rolled back \(manifest) to revision \(to) as revision \(revision.number) "
                + "(\(applied) kernel change\(applied == 1 ? "" : "s")).\n")
        }
    }
}

// MARK: - adopt

/// `lvsctl adopt`.
struct AdoptDocument: Rendered {
    static let kind = "adopt"
    static let formatVersion = 1
    var manifest: String
    var adopted: [VirtualService.ID]
    /// The new revision (nil when nothing was adopted).
    var revision: RevisionObject?
    /// The file the manifest was written to (`--out`).
    var out: String?

    private enum CodingKeys: String, CodingKey {
        case manifest, adopted, revision, out
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(adopted, forKey: .adopted)
        try c.encodeIfPresent(revision, forKey: .revision)
        try c.encodeIfPresent(out, forKey: .out)
    }

    func renderText(_ write: (String) -> Void) {
        guard let revision, !adopted.isEmpty else {
            write("No foreign services to adopt.\n")
            return
        }
        write("Adopted \(adopted.count) service\(adopted.count == 1 ? "" : "s") into \(manifest) "
            + "revision \(revision.number): " + adopted.map { "\($0)" }.joined(separator: ", ") + "\n")
    }
}

// MARK: - drain / undrain

/// `lvsctl drain` and `lvsctl undrain`.
struct MaintenanceDocument: Rendered {
    static let kind = "maintenance"
    static let formatVersion = 1

    enum Action: String, Encodable {
        case drain, undrain
    }

    var action: Action
    var service: VirtualService.ID
    /// nil: every real server of the service.
    var realServer: RealServer.ID?
    /// false with `--no-apply`: only the flag was changed; a running `lvsctl run` applies it.
    var applied: Bool
    /// Weight changes written (audit rows of origin maintenance).
    var weightChanges: Int
    /// With `drain --wait`: the drained real servers had no active connections left.
    var idle: Bool?

    private enum CodingKeys: String, CodingKey {
        case action, service, realServer, applied, weightChanges, idle
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(action, forKey: .action)
        try c.encode(service, forKey: .service)
        try c.encodeIfPresent(realServer, forKey: .realServer)
        try c.encode(applied, forKey: .applied)
        try c.encode(weightChanges, forKey: .weightChanges)
        try c.encodeIfPresent(idle, forKey: .idle)
    }

    func renderText(_ write: (String) -> Void) {
        let n = weightChanges
        switch (action, applied) {
        case (.drain, false):
            write("Maintenance flag set on \(realServer.map { "\($0) of \(service)" } ?? "every real server of \(service)"); a running `lvsctl run` applies it.\n")
        case (.drain, true):
            write("Drained \(realServer.map { "\($0) of \(service)" } ?? "every real server of \(service)"): \(n) weight change\(n == 1 ? "" : "s") to 0.\n")
        case (.undrain, false):
            write("Maintenance flag cleared on \(realServer.map { "\($0) of \(service)" } ?? "\(service)"); a running `lvsctl run` applies it.\n")
        case (.undrain, true):
            write("Undrained \(realServer.map { "\($0) of \(service)" } ?? "\(service)"): \(n) weight change\(n == 1 ? "" : "s").\n")
        }
        if idle == true { write("No active connections left.\n") }
    }
}

// MARK: - realserver status

/// `lvsctl realserver status`: each piece of a real server's set-up, present or missing.
struct RealServerStatusDocument: Rendered {
    static let kind = "realServerStatus"
    static let formatVersion = 1
    /// `dr` or `tunnel`.
    var mode: String
    /// The VIPs as given (`--vip`).
    var vips: String
    var checks: [RealServerCheck]

    private enum CodingKeys: String, CodingKey {
        case mode, checks
    }

    private struct CheckObject: Encodable {
        var check: RealServerCheck
        enum CodingKeys: String, CodingKey { case what, ok, detail }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(check.what, forKey: .what)
            try c.encode(check.ok, forKey: .ok)
            try c.encodeIfPresent(check.detail, forKey: .detail)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mode, forKey: .mode)
        try c.encode(checks.map(CheckObject.init), forKey: .checks)
    }

    func renderText(_ write: (String) -> Void) {
        for c in checks {
            write(c.ok ? "ok       \(c.what)\n" : "MISSING  \(c.what): \(c.detail ?? "")\n")
        }
        let missing = checks.filter { !$0.ok }.count
        write(missing == 0
            ? "Real server set up for \(mode).\n"
            : "\(missing) of \(checks.count) missing; run `lvsctl realserver up --vip \(vips) --mode \(mode)`.\n")
    }
}
