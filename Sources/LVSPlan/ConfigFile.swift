public import LVSModel

/// A file lvsctl renders from the manifest and owns beside the kernel table: today the VRRP-only
/// keepalived config of a director (`vrrp` section, `--keepalived-config`).
///
/// The planner does no I/O: the command reads the file and renders the desired text, and passes
/// both in (``PlanInput/files``). ``ConfigFile/change(for:)`` is the one decision whether the
/// file differs and what changed; `plan`, `apply`, `rollback`, `drift` and `drift --fix` all see
/// it through the plan.
public struct ManagedFile: Hashable, Sendable {
    /// Where the file lives (absolute).
    public var path: String
    /// The manifest whose section is rendered.
    public var manifest: String
    /// The manifest JSON path the text comes from (`vrrp`).
    public var manifestPath: String
    /// The rendered text.
    public var desired: String
    /// The file's text now; nil when it does not exist.
    public var current: String?

    public init(path: String, manifest: String, manifestPath: String, desired: String, current: String?) {
        self.path = path
        self.manifest = manifest
        self.manifestPath = manifestPath
        self.desired = desired
        self.current = current
    }
}

/// A rendered file as a change's `before` or `after` value: its path, the SHA-256 of its text,
/// and (in `after`) the text the apply writes.
///
/// What must stay true: `sha256` is the digest of `content` when both are present (a saved plan
/// whose content was edited is refused), and `before.sha256` is the digest of the file the plan
/// was made against (an apply refuses a file changed since).
public struct ConfigFile: Hashable, Sendable, Codable {
    public var path: String
    /// Hex SHA-256 of the text.
    public var sha256: String
    /// The text; nil in a `before` value and in audit rows (the revision and the node give it back).
    public var content: String?

    public init(path: String, sha256: String, content: String? = nil) {
        self.path = path
        self.sha256 = sha256
        self.content = content
    }

    /// The value for `text` at `path`, with the text when `withContent`.
    public init(path: String, text: String, withContent: Bool) {
        self.init(path: path, sha256: SHA256.hex(text), content: withContent ? text : nil)
    }

    private enum CodingKeys: String, CodingKey {
        case path, sha256, content
    }

    /// The change that makes the file at `file.path` hold `file.desired`, or nil when it already
    /// does (an unchanged render writes nothing). A missing file is created (`+`), a different
    /// one rewritten (`~`, with what differs, block by block: ``differences(live:desired:)``).
    public static func change(for file: ManagedFile) -> Change? {
        if file.current == file.desired { return nil }
        let after = Change.Value.file(ConfigFile(path: file.path, text: file.desired, withContent: true))
        guard let current = file.current else {
            return Change(
                action: .createKeepalivedConfig, manifest: file.manifest, after: after, path: file.manifestPath,
                reason: .configFileMissing)
        }
        return Change(
            action: .updateKeepalivedConfig, manifest: file.manifest,
            before: .file(ConfigFile(path: file.path, text: current, withContent: false)), after: after,
            path: file.manifestPath, reason: .configFileChanged(differences(live: current, desired: file.desired)))
    }

    /// What differs between two keepalived-style texts, block by block: a block (`vrrp_instance
    /// VI_1`, `global_defs`, nested `vrrp_instance VI_1 > virtual_ipaddress`) only in one of them
    /// is one difference (`added` / `removed`); within a block present in both, a line whose
    /// first word appears once on each side is one difference of its value (`priority 150 →
    /// 120`), any other line an addition or removal. Lines outside blocks (comments) belong to
    /// `(top level)`. Whitespace at either end of a line and empty lines do not count.
    ///
    /// - Returns: the differences, in the order of the desired text, removals last; empty when
    ///   the texts differ only in whitespace or order.
    public static func differences(live: String, desired: String) -> [FieldDifference] {
        let l = Blocks(live), d = Blocks(desired)
        var out: [FieldDifference] = []
        for name in d.order {
            guard let dLines = d.lines[name] else { continue }
            guard let lLines = l.lines[name] else {
                // Only the outermost new block is named.
                if let parent = d.parents[name], l.lines[parent] == nil { continue }
                out.append(FieldDifference(field: name, expected: "added", live: "absent"))
                continue
            }
            out += lineDifferences(block: name, live: lLines, desired: dLines)
        }
        for name in l.order where d.lines[name] == nil {
            if let parent = l.parents[name], d.lines[parent] == nil { continue }
            out.append(FieldDifference(field: name, expected: "absent", live: "present"))
        }
        return out
    }

    private static func lineDifferences(block: String, live: [String], desired: [String]) -> [FieldDifference] {
        var remaining: [String: Int] = [:]
        for line in live { remaining[line, default: 0] += 1 }
        var added: [String] = []
        for line in desired {
            if let n = remaining[line], n > 0 { remaining[line] = n - 1 } else { added.append(line) }
        }
        var removed: [String] = []
        var seen: [String: Int] = [:]
        for line in live {
            if let n = remaining[line], n > 0, seen[line, default: 0] < n {
                seen[line, default: 0] += 1
                removed.append(line)
            }
        }
        func key(_ line: String) -> String { String(line.prefix { $0 != " " && $0 != "\t" }) }
        func value(_ line: String) -> String {
            String(line.drop { $0 != " " && $0 != "\t" }.drop { $0 == " " || $0 == "\t" })
        }
        let addedKeys = Dictionary(grouping: added, by: key), removedKeys = Dictionary(grouping: removed, by: key)
        var out: [FieldDifference] = []
        var paired: Set<String> = []
        for line in added {
            let k = key(line)
            if addedKeys[k]?.count == 1, removedKeys[k]?.count == 1, let old = removedKeys[k]?.first {
                paired.insert(k)
                out.append(FieldDifference(field: "\(block) \(k)", expected: value(line), live: value(old)))
            } else {
                out.append(FieldDifference(field: block, expected: line, live: ""))
            }
        }
        for line in removed where !paired.contains(key(line)) {
            out.append(FieldDifference(field: block, expected: "", live: line))
        }
        return out
    }

    /// The lines of each block of a text, by the block's path.
    private struct Blocks {
        static let topLevel = "(top level)"
        var order: [String] = []
        var lines: [String: [String]] = [:]
        /// The enclosing block of each nested block.
        var parents: [String: String] = [:]

        init(_ text: String) {
            var stack: [String] = []
            var order: [String] = []
            var lines: [String: [String]] = [:]
            var parents: [String: String] = [:]
            func add(_ name: String, _ line: String?) {
                if lines[name] == nil {
                    order.append(name)
                    lines[name] = []
                }
                if let line { lines[name, default: []].append(line) }
            }
            for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
                let line = raw.trimmingSpaces
                if line.isEmpty { continue }
                let current = stack.isEmpty ? Self.topLevel : stack.joined(separator: " > ")
                if line == "}" {
                    if stack.isEmpty { add(current, line) } else { stack.removeLast() }
                } else if line.hasSuffix("{") {
                    let name = String(line.dropLast()).trimmingSpaces
                    stack.append(name.isEmpty ? "{" : name)
                    let path = stack.joined(separator: " > ")
                    if stack.count > 1 { parents[path] = current }
                    add(path, nil)
                } else {
                    add(current, line)
                }
            }
            self.order = order
            self.lines = lines
            self.parents = parents
        }
    }
}

extension StringProtocol {
    /// Without spaces and tabs at either end.
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
