import Foundation
import LVSTestSupport
import Testing

/// `Manifests/REFERENCE.md` documents every field of the manifest schema and every key of the
/// daemon config schema, and no other: one section per `$defs` object with a table row per
/// property, whose range column gives the schema's minimum and maximum. A field added to a
/// schema (and so to its decoder: `ManifestFilesTests`, `DaemonConfigTests`) fails here until it
/// is documented.
@Suite struct ReferenceTests {
    static let manifests = CLIRunner.packageRoot.appendingPathComponent("Manifests")

    /// Section name → (field → row text).
    static func reference() throws -> [String: [String: String]] {
        let text = try String(contentsOf: manifests.appendingPathComponent("REFERENCE.md"), encoding: .utf8)
        var out: [String: [String: String]] = [:]
        var section: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("### `"), let end = line.dropFirst(5).firstIndex(of: "`") {
                let name = String(line.dropFirst(5)[..<end])
                #expect(out[name] == nil, "section \(name) appears twice")
                section = name
                out[name] = [:]
                continue
            }
            if line.hasPrefix("## ") { section = nil }
            guard let section, line.hasPrefix("| `") else { continue }
            let cell = line.dropFirst(3)
            guard let end = cell.firstIndex(of: "`") else { continue }
            let field = String(cell[..<end])
            #expect(out[section]?[field] == nil, "\(section).\(field) documented twice")
            out[section]?[field] = String(line)
        }
        return out
    }

    static func schemaDefinitions(_ file: String) throws -> [String: [String: [String: Any]]] {
        let data = try Data(contentsOf: manifests.appendingPathComponent(file))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let defs = try #require(schema["$defs"] as? [String: Any])
        var out: [String: [String: [String: Any]]] = [:]
        for (name, def) in defs {
            guard let props = (def as? [String: Any])?["properties"] as? [String: Any] else { continue }
            out[name] = props.compactMapValues { $0 as? [String: Any] }
        }
        return out
    }

    static func number(_ value: Any?) -> String? {
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        return d == d.rounded() ? String(Int64(d)) : "\(d)"
    }

    @Test(arguments: ["lvsctl-v1.schema.json", "lvsctl-daemonConfig-v1.schema.json"])
    func everySchemaFieldIsDocumented(_ file: String) throws {
        let reference = try Self.reference()
        let defs = try Self.schemaDefinitions(file)
        #expect(defs.count >= 5)
        for (name, props) in defs {
            guard let rows = reference[name] else {
                Issue.record("REFERENCE.md has no section ### `\(name)` for \(file)")
                continue
            }
            #expect(Set(rows.keys) == Set(props.keys), "\(name): reference \(rows.keys.sorted()) vs schema \(props.keys.sorted())")
            for (field, spec) in props {
                guard let row = rows[field] else { continue }
                // The range as the schema gives it, with an en dash: `0–65535`, `0.001–3600`.
                var bounds = spec
                if let items = spec["items"] as? [String: Any], spec["minimum"] == nil { bounds = items }
                if let add = spec["additionalProperties"] as? [String: Any], spec["minimum"] == nil { bounds = add }
                if let lo = Self.number(bounds["minimum"]), let hi = Self.number(bounds["maximum"]) {
                    #expect(row.contains("\(lo)–\(hi)"), "\(name).\(field): the reference should give the range \(lo)–\(hi):\n\(row)")
                }
                if let choices = spec["enum"] as? [String] {
                    for c in choices { #expect(row.contains("`\(c)`"), "\(name).\(field): \(c) is not in the reference:\n\(row)") }
                }
                // `\|` is a pipe inside a cell (markdown's escape), not a column separator.
                let cells = row.replacingOccurrences(of: "\\|", with: "\u{1}").split(separator: "|")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(cells.count == 5 && cells.allSatisfy { !$0.isEmpty }, "\(name).\(field): every column filled:\n\(row)")
            }
        }
    }

    /// And no section documents an object no schema has.
    @Test func everySectionIsASchemaObject() throws {
        let known = Set(try Self.schemaDefinitions("lvsctl-v1.schema.json").keys)
            .union(try Self.schemaDefinitions("lvsctl-daemonConfig-v1.schema.json").keys)
        for section in try Self.reference().keys {
            #expect(known.contains(section), "REFERENCE.md documents `\(section)`, which no schema defines")
        }
    }
}
