import ArgumentParser
import Foundation
import LVSModel
import LVSStore

extension LVSCommand {
    /// `lvsctl diff NAME@N NAME@M`: what changed between two stored revisions.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Compare two stored revisions (NAME@N NAME@M; NAME alone is the latest).",
            discussion: """
                Compares the stored manifests field by field: services are matched by name, real \
                servers by address:port, VRRP instances and sync groups by name, so a reordered list is \
                no change. Paths name what changed as the manifest does (see Manifests/REFERENCE.md). \
                Exits 0 when the two are the same, 2 when they differ (like `plan --detailed-exitcode`).
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The older revision: NAME@N.", valueName: "from"))
        var from: String

        @Argument(help: ArgumentHelp("The newer revision: NAME@M, or NAME for the latest (default: the latest of the same manifest).", valueName: "to"))
        var to: String?

        func run() throws {
            var differ = false
            try guarded {
                let store = try global.openStore(.read)
                let a = try Self.find(from, store)
                let b = try Self.find(to ?? a.manifest, store)
                guard let left = JSONValue(parsing: a.content), let right = JSONValue(parsing: b.content) else {
                    throw CLIError("a stored revision is not JSON; the store may be damaged (`lvsctl show` prints it)")
                }
                let document = RevisionDiffDocument(from: a, to: b, changes: ManifestDiff.changes(left, right))
                try Output.emit(document, global.output)
                differ = !document.changes.isEmpty
            }
            if differ { throw ExitStatus.pending.exitCode }
        }

        static func find(_ reference: String, _ store: Store) throws -> Revision {
            let found: Revision?
            if let (name, number) = parseRevisionReference(reference) {
                found = try store.revision(manifest: name, number: number)
            } else {
                found = try store.latestRevision(manifest: reference)
            }
            guard let found else { throw CLIError("no revision \(reference); `lvsctl revisions` lists them") }
            return found
        }
    }
}

/// A structural diff of two manifests (their canonical JSON).
enum ManifestDiff {
    struct Change: Equatable {
        enum Kind: String { case added, removed, changed }
        var kind: Kind
        /// `services[web].realServers[10.0.0.11:80].weight`.
        var path: String
        var before: JSONValue?
        var after: JSONValue?
    }

    /// Arrays whose elements are matched by a key instead of by position: the key's value
    /// names the element in the path.
    static func elementKey(_ path: String, _ element: JSONValue) -> String? {
        guard case .object(let o) = element else { return nil }
        let last = path.split(separator: ".").last.map(String.init) ?? path
        let base = last.split(separator: "[").first.map(String.init) ?? last
        switch base {
        case "services", "instances", "syncGroups":
            if case .string(let name)? = o["name"] { return name }
        case "realServers":
            if case .string(let address)? = o["address"] {
                var port = ""
                if case .int(let p)? = o["port"] { port = String(p) }
                return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
            }
        default:
            break
        }
        return nil
    }

    static func changes(_ a: JSONValue, _ b: JSONValue, path: String = "") -> [Change] {
        if a == b { return [] }
        switch (a, b) {
        case (.object(let x), .object(let y)):
            var out: [Change] = []
            for key in Set(x.keys).union(y.keys).sorted() {
                let p = path.isEmpty ? key : "\(path).\(key)"
                switch (x[key], y[key]) {
                case (let l?, let r?): out += changes(l, r, path: p)
                case (let l?, nil): out.append(Change(kind: .removed, path: p, before: l, after: nil))
                case (nil, let r?): out.append(Change(kind: .added, path: p, before: nil, after: r))
                case (nil, nil): break
                }
            }
            return out
        case (.array(let x), .array(let y)):
            let keysX = x.map { elementKey(path, $0) }, keysY = y.map { elementKey(path, $0) }
            guard !x.isEmpty || !y.isEmpty, keysX.allSatisfy({ $0 != nil }), keysY.allSatisfy({ $0 != nil }),
                Set(keysX.compactMap { $0 }).count == x.count, Set(keysY.compactMap { $0 }).count == y.count
            else { return [Change(kind: .changed, path: path, before: a, after: b)] }
            var out: [Change] = []
            let right = Dictionary(uniqueKeysWithValues: zip(keysY.compactMap { $0 }, y))
            let left = Dictionary(uniqueKeysWithValues: zip(keysX.compactMap { $0 }, x))
            for (k, l) in zip(keysX.compactMap { $0 }, x) {
                let p = "\(path)[\(k)]"
                if let r = right[k] { out += changes(l, r, path: p) } else { out.append(Change(kind: .removed, path: p, before: l, after: nil)) }
            }
            for (k, r) in zip(keysY.compactMap { $0 }, y) where left[k] == nil {
                out.append(Change(kind: .added, path: "\(path)[\(k)]", before: nil, after: r))
            }
            return out
        default:
            return [Change(kind: .changed, path: path, before: a, after: b)]
        }
    }
}

/// `lvsctl diff -o json`.
struct RevisionDiffDocument: Rendered {
    static let kind = "revisionDiff"
    static let formatVersion = 1
    var from: Revision
    var to: Revision
    var changes: [ManifestDiff.Change]

    private enum CodingKeys: String, CodingKey { case from, to, changes }

    private struct RevisionRef: Encodable {
        var r: Revision
        enum CodingKeys: String, CodingKey { case manifest, number, contentHash, author, createdAt, message }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(r.manifest, forKey: .manifest)
            try c.encode(r.number, forKey: .number)
            try c.encode(r.contentHash, forKey: .contentHash)
            try c.encode(r.author, forKey: .author)
            try c.encode(r.createdAt, forKey: .createdAt)
            try c.encodeIfPresent(r.message, forKey: .message)
        }
    }

    private struct ChangeObject: Encodable {
        var change: ManifestDiff.Change
        enum CodingKeys: String, CodingKey { case change, path, before, after }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(change.kind.rawValue, forKey: .change)
            try c.encode(change.path, forKey: .path)
            try c.encodeIfPresent(change.before, forKey: .before)
            try c.encodeIfPresent(change.after, forKey: .after)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(RevisionRef(r: from), forKey: .from)
        try c.encode(RevisionRef(r: to), forKey: .to)
        try c.encode(changes.map(ChangeObject.init), forKey: .changes)
    }

    static func text(_ v: JSONValue?) -> String {
        guard let v, let data = try? Output.encoder(pretty: false).encode(v) else { return "" }
        let s = String(decoding: data, as: UTF8.self)
        return s.count > 120 ? String(s.prefix(117)) + "…" : s
    }

    func renderText(_ write: (String) -> Void) {
        func describe(_ r: Revision) -> String {
            "\(r.manifest)@\(r.number) (\(r.author), \(r.createdAt.iso8601)\(r.message.map { ": \"\($0)\"" } ?? ""))"
        }
        write(Escaped.lines("--- \(describe(from))\n+++ \(describe(to))") + "\n")
        if changes.isEmpty {
            write("No differences.\n")
            return
        }
        for c in changes {
            let line: String
            switch c.kind {
            case .added: line = "+ \(c.path): \(Self.text(c.after))"
            case .removed: line = "- \(c.path): \(Self.text(c.before))"
            case .changed: line = "~ \(c.path): \(Self.text(c.before)) → \(Self.text(c.after))"
            }
            write(Escaped.lines(line) + "\n")
        }
        write("\(changes.count) difference\(changes.count == 1 ? "" : "s").\n")
    }
}
