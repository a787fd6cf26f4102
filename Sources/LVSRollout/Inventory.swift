import LVSManifest
import LVSModel

/// The directors a rollout reaches: a JSON file (`Manifests/lvsctl-inventory-v1.schema.json`).
///
///     { "apiVersion": "lvsctl/v1", "kind": "Inventory",
///       "directors": [ { "name": "d1", "ssh": "root@10.30.0.11", "node": "d1", "pair": "p1" } ] }
///
/// What must stay true: every problem names the file, the JSON path, line and column, and what to
/// do; a pair has at most two members, and at most one of them declares each role.
public struct Inventory: Hashable, Sendable {
    public var directors: [Director]

    public init(directors: [Director]) { self.directors = directors }

    /// One director: how to reach it and what it is.
    public struct Director: Hashable, Sendable {
        /// Unique in the inventory; what `--limit` and the report use.
        public var name: String
        /// The OpenSSH destination: `user@host`, `host`, or a `Host` alias of the user's ssh_config.
        public var ssh: String
        /// `ssh -p`; nil: ssh's own choice (the config's, else 22).
        public var sshPort: Int?
        /// The director's node name in the manifest's `vrrp` section (`lvsctl --node`).
        public var node: String?
        /// The director pair (or group) it belongs to: never two members in one batch.
        public var pair: String?
        /// The role the inventory declares (used when the director reports no live VRRP role).
        public var role: PairRole?
        public var labels: [String: String]
        /// The remote `lvsctl` for this director (else `--remote-lvsctl`, else `lvsctl` on PATH).
        public var remoteLvsctl: String?
        /// The remote store for this director (else `--remote-db`, else the remote default).
        public var remoteDB: String?

        public init(
            name: String, ssh: String, sshPort: Int? = nil, node: String? = nil, pair: String? = nil,
            role: PairRole? = nil, labels: [String: String] = [:], remoteLvsctl: String? = nil, remoteDB: String? = nil
        ) {
            self.name = name
            self.ssh = ssh
            self.sshPort = sshPort
            self.node = node
            self.pair = pair
            self.role = role
            self.labels = labels
            self.remoteLvsctl = remoteLvsctl
            self.remoteDB = remoteDB
        }
    }

    public func director(named name: String) -> Director? { directors.first { $0.name == name } }

    /// The largest inventory file read (a fleet of thousands of directors is a few hundred KiB).
    public static let sizeLimit = 4 << 20

    /// Reads and checks the inventory at `path`: the inventory, or every problem found.
    public static func load(path: String) -> Result<Inventory, InventoryError> {
        switch InputFile.read(path, limit: sizeLimit) {
        case .failure(let f):
            return .failure(InventoryError(diagnostics: [Diagnostic(.error, file: f.path, message: f.message, hint: f.hint)]))
        case .success(let bytes):
            return decode(bytes, file: path)
        }
    }

    /// Decodes an inventory document; `file` names it in diagnostics.
    public static func decode(_ bytes: [UInt8], file: String) -> Result<Inventory, InventoryError> {
        var reader = InventoryReader(file: file)
        let inventory = reader.read(bytes)
        if let inventory, !reader.diagnostics.hasErrors { return .success(inventory) }
        return .failure(InventoryError(diagnostics: reader.diagnostics))
    }
}

/// A director's role in its pair.
public enum PairRole: String, Hashable, Sendable, CaseIterable {
    case master, backup
}

/// An inventory that cannot be used: every problem, each with file, path and position.
public struct InventoryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Walks the parsed tree, collecting diagnostics (never stopping at the first).
private struct InventoryReader {
    let file: String
    var diagnostics: [Diagnostic] = []

    static let topKeys = ["apiVersion", "kind", "directors"]
    static let directorKeys = [
        "name", "ssh", "sshPort", "node", "pair", "role", "labels", "remoteLvsctl", "remoteDb",
    ]

    init(file: String) { self.file = file }

    mutating func error(_ path: String, _ at: SourcePosition?, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, file: file, path: path, line: at?.line, column: at?.column, message: message, hint: hint))
    }

    mutating func read(_ bytes: [UInt8]) -> Inventory? {
        let parsed = JSONParser.parse(bytes)
        for p in parsed.problems {
            diagnostics.append(Diagnostic(
                p.severity, file: file, path: p.path, line: p.position.line, column: p.position.column, message: p.message, hint: p.hint))
        }
        guard let root = parsed.root else { return nil }
        guard case .object(let members) = root.kind else {
            error("", root.position, "an inventory is a JSON object, found \(root.typeDescription)",
                  hint: "start from Manifests/inventories/example.json")
            return nil
        }
        unknownKeys(members, known: Self.topKeys, path: "", what: "the inventory")
        let top = Dictionary(members.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        switch top["apiVersion"]?.value.kind {
        case .string("lvsctl/v1")?: break
        case nil: error("apiVersion", root.position, "missing apiVersion", hint: "add \"apiVersion\": \"lvsctl/v1\"")
        default:
            error("apiVersion", top["apiVersion"]!.value.position, "apiVersion must be \"lvsctl/v1\"",
                  hint: "this lvsctl reads inventories of apiVersion lvsctl/v1")
        }
        switch top["kind"]?.value.kind {
        case .string("Inventory")?: break
        case nil: error("kind", root.position, "missing kind", hint: "add \"kind\": \"Inventory\"")
        default:
            error("kind", top["kind"]!.value.position, "kind must be \"Inventory\"",
                  hint: "a manifest is not an inventory: give the inventory with -i and the manifest with -f")
        }
        guard let list = top["directors"] else {
            error("directors", root.position, "missing directors", hint: "list the directors: \"directors\": [{\"name\": \"d1\", \"ssh\": \"root@10.0.0.1\"}]")
            return nil
        }
        guard case .array(let items) = list.value.kind else {
            error("directors", list.value.position, "directors must be an array, found \(list.value.typeDescription)")
            return nil
        }
        if items.isEmpty { error("directors", list.value.position, "directors is empty", hint: "list at least one director") }
        var directors: [Inventory.Director] = []
        var firstAt: [String: String] = [:]
        for (i, item) in items.enumerated() {
            let path = "directors[\(i)]"
            guard let d = director(item, path: path) else { continue }
            if let other = firstAt[d.name] {
                error(path + ".name", position(item, "name"), "director name \(Escaped.excerpt(d.name)) is used twice (also at \(other))",
                      hint: "give each director its own name")
                continue
            }
            firstAt[d.name] = path
            directors.append(d)
        }
        checkPairs(directors, items: items)
        return Inventory(directors: directors)
    }

    func position(_ node: JSONNode, _ key: String) -> SourcePosition {
        if case .object(let ms) = node.kind, let m = ms.first(where: { $0.key == key }) { return m.value.position }
        return node.position
    }

    mutating func unknownKeys(_ members: [JSONMember], known: [String], path: String, what: String) {
        for m in members where !known.contains(m.key) {
            let suggestion = known.min { distance(m.key, $0) < distance(m.key, $1) }
            let hint = suggestion.flatMap { distance(m.key, $0) <= 3 ? "did you mean \($0)?" : nil }
                ?? "known keys: \(known.joined(separator: ", "))"
            error(path.isEmpty ? m.key : "\(path).\(m.key)", m.keyPosition, "unknown key \(Escaped.excerpt(m.key)) in \(what)", hint: hint)
        }
    }

    mutating func director(_ node: JSONNode, path: String) -> Inventory.Director? {
        guard case .object(let members) = node.kind else {
            error(path, node.position, "a director is an object, found \(node.typeDescription)")
            return nil
        }
        unknownKeys(members, known: Self.directorKeys, path: path, what: "a director")
        let m = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let name = string(m["name"], path + ".name", node.position, required: true)
        if let name, !Self.isName(name) {
            error(path + ".name", m["name"]!.position, "director name \(Escaped.excerpt(name)) has characters other than letters, digits, '.', '_' and '-'",
                  hint: "use a short name such as d1 or lb-fra-1")
        }
        let ssh = string(m["ssh"], path + ".ssh", node.position, required: true)
        if let ssh, ssh.hasPrefix("-") || ssh.contains(where: { $0 == " " || $0.isNewline || $0 == "\t" }) {
            error(path + ".ssh", m["ssh"]!.position, "ssh destination \(Escaped.excerpt(ssh)) is not a destination",
                  hint: "give user@host, host, or an ssh_config Host alias (no spaces, not starting with '-')")
        }
        var port: Int?
        if let p = m["sshPort"] {
            if case .number(let text) = p.kind, let v = Int(text), (1...65535).contains(v) {
                port = v
            } else {
                error(path + ".sshPort", p.position, "sshPort must be a whole number from 1 to 65535", hint: "the port sshd listens on, e.g. 22")
            }
        }
        let nodeName = string(m["node"], path + ".node", node.position)
        let pair = string(m["pair"], path + ".pair", node.position)
        var role: PairRole?
        if let r = m["role"] {
            if case .string(let s) = r.kind, let v = PairRole(rawValue: s) {
                role = v
            } else {
                error(path + ".role", r.position, "role must be \"master\" or \"backup\"",
                      hint: "the role this director usually has in its pair; live VRRP roles win when the director reports them")
            }
            if pair == nil {
                error(path + ".role", r.position, "role without pair", hint: "name the pair this director belongs to: \"pair\": \"p1\"")
            }
        }
        var labels: [String: String] = [:]
        if let l = m["labels"] {
            if case .object(let items) = l.kind {
                for item in items {
                    if case .string(let v) = item.value.kind {
                        labels[item.key] = v
                    } else {
                        error("\(path).labels.\(item.key)", item.value.position, "a label value is a string, found \(item.value.typeDescription)")
                    }
                    if item.key.contains("=") || item.key.contains(",") || item.key.isEmpty {
                        error("\(path).labels.\(item.key)", item.keyPosition, "label key \(Escaped.excerpt(item.key)) is empty or has '=' or ','",
                              hint: "--limit selects labels as key=value")
                    }
                }
            } else {
                error(path + ".labels", l.position, "labels must be an object of strings, found \(l.typeDescription)", hint: "\"labels\": {\"site\": \"fra\"}")
            }
        }
        let remoteLvsctl = absolutePath(m["remoteLvsctl"], path + ".remoteLvsctl", node.position)
        let remoteDB = absolutePath(m["remoteDb"], path + ".remoteDb", node.position)
        guard let name, let ssh else { return nil }
        return Inventory.Director(
            name: name, ssh: ssh, sshPort: port, node: nodeName, pair: pair, role: role, labels: labels,
            remoteLvsctl: remoteLvsctl, remoteDB: remoteDB)
    }

    mutating func string(_ node: JSONNode?, _ path: String, _ parent: SourcePosition, required: Bool = false) -> String? {
        guard let node else {
            if required { error(path, parent, "missing \(path.split(separator: ".").last.map(String.init) ?? path)") }
            return nil
        }
        guard case .string(let s) = node.kind, !s.isEmpty else {
            error(path, node.position, "must be a non-empty string, found \(node.typeDescription)")
            return nil
        }
        return s
    }

    mutating func absolutePath(_ node: JSONNode?, _ path: String, _ parent: SourcePosition) -> String? {
        guard let s = string(node, path, parent) else { return nil }
        guard s.hasPrefix("/") else {
            error(path, node!.position, "\(Escaped.excerpt(s)) is not an absolute path", hint: "give the path on the director, starting with /")
            return nil
        }
        return s
    }

    mutating func checkPairs(_ directors: [Inventory.Director], items: [JSONNode]) {
        var members: [String: [Inventory.Director]] = [:]
        for d in directors { if let p = d.pair { members[p, default: []].append(d) } }
        for (pair, list) in members.sorted(by: { $0.key < $1.key }) {
            if list.count > 2 {
                error("directors", nil, "pair \(Escaped.excerpt(pair)) has \(list.count) members (\(list.map(\.name).joined(separator: ", ")))",
                      hint: "a pair has two directors; use labels to group more")
            }
            for role in PairRole.allCases where list.filter({ $0.role == role }).count > 1 {
                error("directors", nil, "pair \(Escaped.excerpt(pair)) declares two \(role.rawValue)s",
                      hint: "give one member role master and the other backup, or leave role out")
            }
        }
    }

    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-"
        }
    }

    func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        var prev = Array(0...y.count)
        for i in 1...max(x.count, 1) where !x.isEmpty {
            var cur = [i] + Array(repeating: 0, count: y.count)
            for j in 1...max(y.count, 1) where !y.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return x.isEmpty ? y.count : prev[y.count]
    }
}
