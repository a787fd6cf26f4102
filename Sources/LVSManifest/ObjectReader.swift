import LVSModel

/// Reads the members of one JSON object for the manifest decoder: reports a wrong type, unknown
/// members (with the closest known name) and missing required members, and converts values with
/// range checks. Every problem goes to the collector; the accessors return nil after reporting.
struct ObjectReader {
    let node: JSONNode
    /// The JSON path of the object, `services[3].realServers[7]`: `base` and `index` (rendered
    /// only when a diagnostic needs it; formatting a path for every object and every value was a
    /// large part of decoding a large manifest).
    private let base: String
    private let index: Int?
    let diagnostics: DiagnosticCollector
    /// The known members in source order. Objects are small (a few to twenty members), so a
    /// linear search beats hashing every key: decoding a large manifest spent a tenth of its
    /// time hashing keys into per-object dictionaries.
    private let members: [JSONMember]

    /// Returns nil (after reporting) when `node` is not an object. The object's path is `path`,
    /// or `path[index]` when `index` is given.
    init?(_ node: JSONNode, path base: String, index: Int? = nil, what: String, known: [String],
          _ diagnostics: DiagnosticCollector) {
        self.node = node
        self.base = base
        self.index = index
        self.diagnostics = diagnostics
        var path: String { ObjectReader.path(base, index) }
        guard case .object(let list) = node.kind else {
            diagnostics.error(path, node.position, "\(what) must be an object, not \(node.typeDescription)",
                              hint: "write { ... }")
            return nil
        }
        if list.allSatisfy({ known.contains($0.key) }) {
            members = list
            return
        }
        var m: [JSONMember] = []
        m.reserveCapacity(list.count)
        var unknown = 0
        for member in list {
            if known.contains(member.key) {
                m.append(member)
                continue
            }
            unknown += 1
            if unknown <= ObjectReader.unknownFieldsReported {
                var hint = "known fields are: \(known.joined(separator: ", "))"
                if let near = closest(member.key, in: known) { hint = "did you mean '\(near)'?" }
                // The key as written in the path (machines read it; descriptions escape it), but
                // not a megabyte of it.
                let key = member.key.utf8.count <= Escaped.excerptLimit ? member.key : Escaped.excerpt(member.key)
                diagnostics.error(join(path, key), member.keyPosition,
                                  "unknown field '\(excerpt: member.key)' in \(what)", hint: hint)
            }
        }
        if unknown > ObjectReader.unknownFieldsReported {
            let rest = unknown - ObjectReader.unknownFieldsReported
            diagnostics.error(path, node.position,
                              "\(what) has \(rest) more unknown field\(rest == 1 ? "" : "s") (\(unknown) in all; the first \(ObjectReader.unknownFieldsReported) are listed)",
                              hint: "known fields are: \(known.joined(separator: ", "))")
        }
        members = m
    }

    /// How many unknown fields of one object are reported one by one; the rest are counted in
    /// one more error (40,000 unknown keys made 40,000 lines nobody reads).
    static let unknownFieldsReported = 20

    /// The JSON path of the object.
    var path: String { ObjectReader.path(base, index) }

    private static func path(_ base: String, _ index: Int?) -> String { index.map { "\(base)[\($0)]" } ?? base }

    func has(_ key: String) -> Bool { member(key) != nil }
    /// Keys are unique (the parser drops duplicates).
    func member(_ key: String) -> JSONMember? {
        for m in members where m.key == key { return m }
        return nil
    }
    func value(_ key: String) -> JSONNode? { member(key)?.value }
    func at(_ key: String) -> String { join(path, key) }
    /// Where to point for `key`: its value if present, else the object.
    func position(_ key: String) -> SourcePosition { member(key)?.value.position ?? node.position }
    func keyPosition(_ key: String) -> SourcePosition { member(key)?.keyPosition ?? node.position }

    func missing(_ key: String, hint: String? = nil) {
        diagnostics.error(at(key), node.position, "missing required field '\(excerpt: key)'", hint: hint)
    }

    func wrongType(_ key: String, _ node: JSONNode, _ expected: String, hint: String? = nil) {
        diagnostics.error(at(key), node.position, "must be \(expected), not \(node.typeDescription)", hint: hint)
    }

    // MARK: - Typed accessors

    /// `hint` is made only when there is a problem (some hints list every choice).
    func string(_ key: String, required: Bool = false, hint: @autoclosure () -> String? = nil) -> String? {
        guard let v = value(key) else {
            if required { missing(key, hint: hint()) }
            return nil
        }
        guard case .string(let s) = v.kind else {
            wrongType(key, v, "a string", hint: hint())
            return nil
        }
        return s
    }

    func bool(_ key: String) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v.kind else {
            wrongType(key, v, "true or false")
            return nil
        }
        return b
    }

    /// A whole number within `range`.
    func integer(_ key: String, _ range: ClosedRange<Int64>, required: Bool = false, hint: String) -> Int64? {
        guard let v = value(key) else {
            if required { missing(key, hint: hint) }
            return nil
        }
        return ObjectReader.integer(v, path: at(key), range, hint: hint, diagnostics)
    }

    static func integer(_ v: JSONNode, path: @autoclosure () -> String, _ range: ClosedRange<Int64>, hint: String,
                        _ diagnostics: DiagnosticCollector) -> Int64? {
        guard case .number(let raw) = v.kind else {
            diagnostics.error(path(), v.position, "must be a whole number, not \(v.typeDescription)", hint: hint)
            return nil
        }
        let isWhole = !raw.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") })
        guard isWhole else {
            diagnostics.error(path(), v.position, "\(excerpt: raw) is not a whole number", hint: hint)
            return nil
        }
        guard let n = Int64(raw), range.contains(n) else {
            diagnostics.error(path(), v.position,
                              "\(excerpt: raw) is out of range (\(range.lowerBound)-\(range.upperBound))", hint: hint)
            return nil
        }
        return n
    }

    /// A number of seconds (fractions allowed) within `range`.
    func seconds(_ key: String, _ range: ClosedRange<Double>, hint: String) -> Double? {
        guard let v = value(key) else { return nil }
        guard case .number(let raw) = v.kind else {
            wrongType(key, v, "a number of seconds", hint: hint)
            return nil
        }
        // A number longer than any double needs is refused before it is converted (strtod on
        // megabytes of digits is slow, and no such number is a sensible number of seconds).
        guard raw.utf8.count <= 64, let d = Double(raw), d.isFinite, range.contains(d) else {
            diagnostics.error(at(key), v.position,
                              "\(excerpt: raw) is out of range (\(JSONValue.formatDouble(range.lowerBound))-\(JSONValue.formatDouble(range.upperBound)) seconds)",
                              hint: hint)
            return nil
        }
        return d
    }

    /// One of `choices`; an unknown value is reported with the list and the closest choice.
    func choice(_ key: String, _ choices: [String], required: Bool = false, what: String) -> String? {
        guard let s = string(key, required: required, hint: "use one of: \(choices.joined(separator: ", "))") else {
            return nil
        }
        guard choices.contains(s) else {
            var hint = "use one of: \(choices.joined(separator: ", "))"
            if let near = closest(s, in: choices) { hint = "did you mean '\(near)'? " + hint }
            diagnostics.error(at(key), position(key), "unknown \(what) '\(excerpt: s)'", hint: hint)
            return nil
        }
        return s
    }

    func object(_ key: String, what: String, known: [String]) -> ObjectReader? {
        guard let v = value(key) else { return nil }
        return ObjectReader(v, path: at(key), what: what, known: known, diagnostics)
    }

    func array(_ key: String, required: Bool = false, hint: String? = nil) -> [JSONNode]? {
        guard let v = value(key) else {
            if required { missing(key, hint: hint) }
            return nil
        }
        guard case .array(let items) = v.kind else {
            wrongType(key, v, "an array", hint: hint ?? "write [ ... ]")
            return nil
        }
        return items
    }
}
