import Foundation
import LVSManifest
import LVSModel
import LVSRollout

// `lvsctl rollout plan|apply`: the report (kind `rollout`) and the saved plan (kind
// `savedRolloutPlan`), described by `Manifests/lvsctl-rollout-v1.schema.json` and
// `Manifests/lvsctl-savedRolloutPlan-v1.schema.json`.

/// `lvsctl rollout plan` and `lvsctl rollout apply`: per director its plan, revisions, gates
/// and rollback; where and why the rollout stopped.
struct RolloutDocument: Rendered {
    static let kind = "rollout"
    static let formatVersion = 1
    var report: RolloutReport

    private enum CodingKeys: String, CodingKey {
        case id, mode, manifest, manifestDigest, inventory, author, startedAt, finishedAt, batchSpec, batches, outcome, stop
        case directors
    }

    func encode(to encoder: any Encoder) throws {
        let r = report
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(r.id, forKey: .id)
        try c.encode(r.mode.rawValue, forKey: .mode)
        try c.encode(r.manifest, forKey: .manifest)
        try c.encode(r.manifestDigest, forKey: .manifestDigest)
        try c.encode(r.inventory, forKey: .inventory)
        try c.encode(r.author, forKey: .author)
        try c.encode(RFC3339.string(r.startedAt), forKey: .startedAt)
        try c.encode(RFC3339.string(r.finishedAt), forKey: .finishedAt)
        try c.encodeIfPresent(r.batchSpec, forKey: .batchSpec)
        try c.encode(r.batches, forKey: .batches)
        try c.encode(r.outcome.rawValue, forKey: .outcome)
        try c.encodeIfPresent(r.stop.map(StopObject.init), forKey: .stop)
        try c.encode(r.directors.map(DirectorObject.init), forKey: .directors)
    }

    struct StopObject: Encodable {
        var stop: RolloutReport.Stop
        enum CodingKeys: String, CodingKey { case batch, director, gate, reason }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(stop.batch, forKey: .batch)
            try c.encodeIfPresent(stop.director, forKey: .director)
            try c.encodeIfPresent(stop.gate?.rawValue, forKey: .gate)
            try c.encode(stop.reason, forKey: .reason)
        }
    }

    struct GateObject: Encodable {
        var gate: GateResult
        enum CodingKeys: String, CodingKey { case gate, outcome, detail, durationSeconds }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(gate.gate.rawValue, forKey: .gate)
            try c.encode(gate.outcome.rawValue, forKey: .outcome)
            try c.encode(gate.detail, forKey: .detail)
            try c.encode(Self.rounded(gate.seconds), forKey: .durationSeconds)
        }
        static func rounded(_ s: Double) -> Double { (s * 1000).rounded() / 1000 }
    }

    struct PlanObject: Encodable {
        var plan: PlanSummary
        enum CodingKeys: String, CodingKey { case add, change, remove, refusals, changes }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(plan.add, forKey: .add)
            try c.encode(plan.change, forKey: .change)
            try c.encode(plan.remove, forKey: .remove)
            try c.encode(plan.refusals, forKey: .refusals)
            try c.encode(plan.changes, forKey: .changes)
        }
    }

    struct RollbackObject: Encodable {
        var rollback: RollbackReport
        enum CodingKeys: String, CodingKey { case to, revision, applied, gates, succeeded, error }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rollback.to, forKey: .to)
            try c.encodeIfPresent(rollback.revision, forKey: .revision)
            try c.encode(rollback.applied, forKey: .applied)
            try c.encode(rollback.gates.map(GateObject.init), forKey: .gates)
            try c.encode(rollback.succeeded, forKey: .succeeded)
            try c.encodeIfPresent(rollback.error, forKey: .error)
        }
    }

    struct DirectorObject: Encodable {
        var d: DirectorReport
        enum CodingKeys: String, CodingKey {
            case name, ssh, pair, role, roleSource, batch, state, plan, tableFingerprint, revisionBefore, revisionAfter
            case applied, auditRows, gates, rollback, error, durationSeconds
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(d.name, forKey: .name)
            try c.encode(d.ssh, forKey: .ssh)
            try c.encodeIfPresent(d.pair, forKey: .pair)
            try c.encodeIfPresent(d.role?.rawValue, forKey: .role)
            try c.encodeIfPresent(d.roleSource, forKey: .roleSource)
            try c.encodeIfPresent(d.batch, forKey: .batch)
            try c.encode(d.state.rawValue, forKey: .state)
            try c.encodeIfPresent(d.plan.map(PlanObject.init), forKey: .plan)
            try c.encodeIfPresent(d.tableFingerprint, forKey: .tableFingerprint)
            try c.encodeIfPresent(d.revisionBefore, forKey: .revisionBefore)
            try c.encodeIfPresent(d.revisionAfter, forKey: .revisionAfter)
            try c.encode(d.applied, forKey: .applied)
            try c.encode(d.auditRows, forKey: .auditRows)
            try c.encode(d.gates.map(GateObject.init), forKey: .gates)
            try c.encodeIfPresent(d.rollback.map(RollbackObject.init), forKey: .rollback)
            try c.encodeIfPresent(d.error, forKey: .error)
            try c.encode(GateObject.rounded(d.seconds), forKey: .durationSeconds)
        }
    }

    /// The final table for people (progress lines were printed as the rollout went).
    func renderText(_ write: (String) -> Void) {
        let r = report
        write("\n")
        write(pad("DIRECTOR", 14) + " " + pad("BATCH", 5) + " " + pad("STATE", 15) + " " + pad("PLAN", 12) + " "
            + pad("REVISION", 12) + " GATES\n")
        for d in r.directors {
            let revision: String
            switch (d.revisionBefore, d.revisionAfter) {
            case (let b?, let a?): revision = "\(b) → \(a)"
            case (nil, let a?): revision = "- → \(a)"
            case (let b?, nil): revision = "\(b)"
            case (nil, nil): revision = "-"
            }
            var gates = d.gates.map { "\($0.gate.rawValue) \($0.outcome.rawValue)" }.joined(separator: ", ")
            if let rb = d.rollback {
                gates += (gates.isEmpty ? "" : "; ") + "rollback to \(rb.to): " + (rb.succeeded ? "verified" : "FAILED")
            }
            write(pad(d.name, 14) + " " + pad(d.batch.map(String.init) ?? "-", 5) + " " + pad(d.state.rawValue, 15) + " "
                + pad(d.plan?.text ?? "-", 12) + " " + pad(revision, 12) + " " + gates + "\n")
            if r.mode == .plan, let p = d.plan {
                for line in p.changes.prefix(20) { write("    \(line)\n") }
                if p.changes.count > 20 { write("    … \(p.changes.count - 20) more\n") }
                for refusal in p.refusals { write("    refused: \(refusal)\n") }
            }
            if let e = d.error { write("    \(e)\n") }
        }
        if let stop = r.stop { write("Stopped: \(stop.reason)\n") }
        switch (r.mode, r.outcome) {
        case (.plan, .converged): write("Nothing to do on any director.\n")
        case (.plan, .changesPending):
            let n = r.directors.filter { $0.state == .changesPending }.count
            write("Changes pending on \(n) of \(r.directors.count) director\(r.directors.count == 1 ? "" : "s").\n")
        case (.apply, .converged): write("Every director converged.\n")
        default: write("Rollout \(r.outcome.rawValue).\n")
        }
    }
}

/// The file `lvsctl rollout plan --out` writes and `rollout apply --plan` reads: the plan's
/// report (each director's table fingerprint and revision) and the manifest itself.
struct SavedRolloutPlan: MachineDocument {
    static let kind = "savedRolloutPlan"
    static let formatVersion = 1
    var rollout: RolloutDocument
    /// The manifest as a JSON object (its canonical form).
    var manifest: JSONValue

    private enum CodingKeys: String, CodingKey { case rollout, manifest }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Envelope(document: rollout), forKey: .rollout)
        try c.encode(manifest, forKey: .manifest)
    }

    /// The nested report with its own kind and version.
    private struct Envelope: Encodable {
        var document: RolloutDocument
        enum CodingKeys: String, CodingKey { case formatVersion, kind }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(RolloutDocument.formatVersion, forKey: .formatVersion)
            try c.encode(RolloutDocument.kind, forKey: .kind)
            try document.encode(to: encoder)
        }
    }

    /// What `rollout apply --plan` needs from the file.
    struct Loaded {
        var manifestText: String
        var state: DesiredState
        var directors: [String]
        var expected: [String: ExpectedDirector]
    }

    /// Reads a saved rollout plan; refuses another kind or version, an edited manifest (its
    /// content hash), or a plan with a director that could not be planned.
    static func load(path: String) throws -> Loaded {
        let bytes: [UInt8]
        switch InputFile.read(path) {
        case .success(let b): bytes = b
        case .failure(let f): throw CLIError("\(f.description); \(f.hint)")
        }
        struct File: Decodable {
            var formatVersion: Int
            var kind: String
            var rollout: Rollout
            var manifest: JSONValue
            struct Rollout: Decodable {
                var manifest: String
                var manifestDigest: String
                var outcome: String
                var directors: [Director]
            }
            struct Director: Decodable {
                var name: String
                var state: String
                var tableFingerprint: String?
                var revisionBefore: Int?
            }
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw CLIError("\(path): not a saved rollout plan (\(error)); write one with `lvsctl rollout plan --out`")
        }
        guard file.kind == kind, file.formatVersion == formatVersion else {
            throw CLIError("\(path): a \(file.kind) document of format \(file.formatVersion); this lvsctl reads \(kind) format \(formatVersion)")
        }
        let text = String(decoding: try Output.encoder(pretty: false).encode(file.manifest), as: UTF8.self)
        let result = Manifest.parse(Array(text.utf8), file: path)
        guard let state = result.state, !result.diagnostics.hasErrors else {
            throw CLIError("\(path): the manifest in the saved plan is not valid: \(result.diagnostics.errors.first?.description ?? "")")
        }
        guard Manifest.contentHash(state) == file.rollout.manifestDigest else {
            throw CLIError("\(path): the manifest was edited since the plan was saved (its digest differs); plan again")
        }
        if let bad = file.rollout.directors.first(where: { $0.tableFingerprint == nil }) {
            throw CLIError("\(path): director \(bad.name) was not planned (\(bad.state)); plan again when every director answers")
        }
        var expected: [String: ExpectedDirector] = [:]
        for d in file.rollout.directors {
            expected[d.name] = ExpectedDirector(tableFingerprint: d.tableFingerprint!, revision: d.revisionBefore)
        }
        return Loaded(manifestText: text, state: state, directors: file.rollout.directors.map(\.name), expected: expected)
    }
}
