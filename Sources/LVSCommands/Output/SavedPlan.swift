import Foundation
import LVSManifest
import LVSModel
import LVSPlan

/// What `lvsctl plan --out` saves and `lvsctl apply --plan` applies: the plan, the manifests it
/// was computed from (so that applying it records the same revisions), and a digest over both.
///
/// What must stay true: `apply --plan` writes exactly what it prints. The digest (SHA-256 of the
/// compact, key-sorted JSON of `plan` and `manifests`) refuses a file edited after it was saved,
/// and every reason that names values (`weight 3 → 5`) must agree with the values the change
/// writes, so that a file whose digest was recomputed still cannot print one weight and write
/// another.
struct SavedPlan: MachineDocument {
    static let kind = "savedPlan"
    static var formatVersion: Int { Plan.currentFormatVersion }

    struct ManifestDocument: Codable, Hashable {
        var name: String
        /// The manifest, as a JSON object (its canonical form, parsed).
        var manifest: JSONValue
        var sourcePath: String?

        enum CodingKeys: String, CodingKey { case name, manifest, sourcePath }
    }

    var plan: Plan
    var manifests: [ManifestDocument]
    /// `sha256:` and 64 hex digits.
    var digest: String

    init(plan: Plan, manifests: [(name: String, canonicalJSON: String, sourcePath: String?)]) throws {
        self.plan = plan
        self.manifests = try manifests.map { m in
            guard let value = JSONValue(parsing: m.canonicalJSON) else {
                throw CLIError("the canonical form of manifest \(m.name) is not JSON")
            }
            return ManifestDocument(name: m.name, manifest: value, sourcePath: m.sourcePath)
        }
        self.digest = try Self.digest(plan: plan, manifests: self.manifests)
    }

    private init(plan: Plan, manifests: [ManifestDocument], digest: String) {
        self.plan = plan
        self.manifests = manifests
        self.digest = digest
    }

    private enum CodingKeys: String, CodingKey {
        case digest, plan, manifests
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(digest, forKey: .digest)
        try c.encode(plan, forKey: .plan)
        try c.encode(manifests, forKey: .manifests)
    }

    /// What the digest covers, encoded compactly with sorted keys.
    private struct Digested: Encodable {
        var plan: Plan
        var manifests: [ManifestDocument]
        enum CodingKeys: String, CodingKey { case plan, manifests }
    }

    static func digest(plan: Plan, manifests: [ManifestDocument]) throws -> String {
        let bytes = try Output.encoder(pretty: false).encode(Digested(plan: plan, manifests: manifests))
        return "sha256:" + SHA256.hex([UInt8](bytes))
    }

    /// Writes the plan file.
    func write(to path: String) throws {
        var data = try Output.json(self)
        data.append(UInt8(ascii: "\n"))
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads and checks a plan file: its kind and version, its digest, and that every reason
    /// agrees with the values its change writes. Errors name the file and what to do.
    static func load(path: String) throws -> SavedPlan {
        let data: Data
        switch InputFile.read(path) {
        case .success(let bytes): data = Data(bytes)
        case .failure(let f): throw CLIError("\(path): cannot read the plan file: \(f.message); \(f.hint)")
        }
        struct Header: Decodable {
            var formatVersion: Int?
            var kind: String?
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw CLIError("\(path): not a JSON object; save a plan with `lvsctl plan -f FILE --out \(path)`")
        }
        guard header.kind == kind else {
            throw CLIError("\(path): not a saved plan (kind \(header.kind.map { "\"\($0)\"" } ?? "missing"), expected \"\(kind)\"); save one with `lvsctl plan --out`")
        }
        guard header.formatVersion == formatVersion else {
            throw CLIError("\(path): saved plan format version \(header.formatVersion.map(String.init) ?? "missing"); this lvsctl reads version \(formatVersion); run `lvsctl plan --out` again")
        }
        struct Body: Decodable {
            var digest: String
            var plan: Plan
            var manifests: [ManifestDocument]
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch {
            throw CLIError("\(path): not a valid saved plan: \(describe(error)); run `lvsctl plan --out` again")
        }
        let expected = try digest(plan: body.plan, manifests: body.manifests)
        guard body.digest == expected else {
            throw CLIError("\(path): the plan's content does not match its digest (the file was changed after `lvsctl plan` saved it); nothing was applied; run `lvsctl plan --out` again and review the new plan")
        }
        for (i, c) in body.plan.changes.enumerated() {
            if let problem = disagreement(c) {
                throw CLIError("\(path): plan.changes[\(i)] (\(c.subject)): \(problem); nothing was applied; run `lvsctl plan --out` again")
            }
        }
        return SavedPlan(plan: body.plan, manifests: body.manifests, digest: body.digest)
    }

    /// Why a change's reason does not describe what it writes, or nil when it does.
    static func disagreement(_ c: Change) -> String? {
        let fields = c.reason.fields
        var actual: [FieldDifference]?
        switch (c.action, c.before, c.after) {
        case (.updateRealServer, .realServer(let b)?, .realServer(let a)?):
            actual = FieldDifference.realServer(desired: a, live: b)
        case (.updateService, let b?, let a?):
            if let b = b.service, let a = a.service { actual = FieldDifference.service(desired: a, live: b) }
        case (.setTimeouts, .timeouts(let b)?, .timeouts(let a)?):
            actual = FieldDifference.timeouts(desired: a, live: b)
        case (.drainRealServer, _, let a?):
            if a.realServer?.weight != 0 { return "a drain writes weight 0, this one writes weight \(a.realServer.map { "\($0.weight)" } ?? "none")" }
        default:
            break
        }
        if let actual, actual != fields {
            return "its reason says \(fields.map(\.text).joined(separator: ", ")) but it writes \(actual.map(\.text).joined(separator: ", "))"
        }
        return nil
    }

    /// The manifests as canonical JSON, validated again (a plan file is input like any other).
    func canonicalManifests(path: String) throws -> [(name: String, canonicalJSON: String, sourcePath: String?)] {
        try manifests.enumerated().map { i, m in
            let bytes = try Output.encoder(pretty: false).encode(m.manifest)
            let result = Manifest.parse([UInt8](bytes), file: "\(path): manifests[\(i)]")
            for d in result.diagnostics { printError(d.description) }
            guard let state = result.state, !result.diagnostics.hasErrors else {
                throw CLIError("\(path): manifests[\(i)] (\(m.name)) is not a valid manifest; nothing was applied")
            }
            guard state.manifest == m.name else {
                throw CLIError("\(path): manifests[\(i)] is named \(state.manifest), not \(m.name); nothing was applied")
            }
            return (m.name, result.canonicalJSON, m.sourcePath)
        }
    }
}

/// A decoding error in words: what is wrong and at which JSON path.
func describe(_ error: any Error) -> String {
    guard let e = error as? DecodingError else { return "\(error)" }
    func path(_ keys: [any CodingKey]) -> String {
        keys.map { k in k.intValue.map { "[\($0)]" } ?? ".\(k.stringValue)" }.joined().drop { $0 == "." }.description
    }
    switch e {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
        return "\(path(c.codingPath)): \(c.debugDescription)"
    case .keyNotFound(let key, let c):
        return "\(path(c.codingPath + [key])): missing"
    @unknown default:
        return "\(e)"
    }
}
