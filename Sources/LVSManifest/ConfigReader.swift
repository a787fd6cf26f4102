public import LVSModel

/// Reads a JSON configuration file (`daemon.json`) with the manifest decoder's rules, so that a
/// config error reads like a manifest error: `file:line:column: JSON.path: message (hint)`, an
/// unknown key with the closest known one, a value out of range with the range. The one reader
/// of positioned JSON outside the manifest; what the keys mean stays with the config's owner.
public final class ConfigReader {
    private let collector: DiagnosticCollector
    /// The root object; nil when the text is not JSON or not an object (already reported).
    public private(set) var root: ConfigObject?

    /// Parses `bytes` (`file` names it in diagnostics); the root must be an object with the
    /// `known` keys.
    public init(_ bytes: [UInt8], file: String, what: String, known: [String]) {
        collector = DiagnosticCollector(file: file)
        let parsed = JSONParser.parse(bytes)
        for p in parsed.problems { collector.add(p.severity, p.path, p.position, p.message, p.hint) }
        if let node = parsed.root, let r = ObjectReader(node, path: "", what: what, known: known, collector) {
            root = ConfigObject(r)
        }
    }

    /// Every problem found so far, in source order.
    public var diagnostics: [Diagnostic] { collector.sorted }

    /// Reports a problem found by the config's owner at `key` of `object`.
    public func error(_ object: ConfigObject, _ key: String, _ message: String, hint: String? = nil) {
        collector.error(object.reader.at(key), object.reader.position(key), message, hint: hint)
    }
}

/// One JSON object of a config file: typed, range-checked members; every problem is reported
/// to the ``ConfigReader`` and the accessor returns nil.
public struct ConfigObject {
    let reader: ObjectReader

    init(_ reader: ObjectReader) { self.reader = reader }

    /// The JSON path of this object (`notify.webhook`).
    public var path: String { reader.path }

    public func has(_ key: String) -> Bool { reader.has(key) }

    public func string(_ key: String, required: Bool = false, hint: String? = nil) -> String? {
        reader.string(key, required: required, hint: hint)
    }

    public func bool(_ key: String) -> Bool? { reader.bool(key) }

    /// A whole number within `range`.
    public func integer(_ key: String, _ range: ClosedRange<Int64>, required: Bool = false, hint: String) -> Int64? {
        reader.integer(key, range, required: required, hint: hint)
    }

    /// A number of seconds (fractions allowed) within `range`.
    public func seconds(_ key: String, _ range: ClosedRange<Double>, hint: String) -> Double? {
        reader.seconds(key, range, hint: hint)
    }

    /// A number (fractions allowed) within `range`, of a quantity named by `unit` in messages.
    public func number(_ key: String, _ range: ClosedRange<Double>, unit: String, hint: String) -> Double? {
        guard let v = reader.value(key) else { return nil }
        guard case .number(let raw) = v.kind else {
            reader.wrongType(key, v, "a number (\(unit))", hint: hint)
            return nil
        }
        guard raw.utf8.count <= 64, let d = Double(raw), d.isFinite, range.contains(d) else {
            reader.diagnostics.error(
                reader.at(key), v.position,
                "\(excerpt: raw) is out of range (\(JSONValue.formatDouble(range.lowerBound))-\(JSONValue.formatDouble(range.upperBound)), \(unit))",
                hint: hint)
            return nil
        }
        return d
    }

    /// A member object with the `known` keys.
    public func object(_ key: String, what: String, known: [String]) -> ConfigObject? {
        reader.object(key, what: what, known: known).map(ConfigObject.init)
    }

    /// An array of strings (each checked).
    public func strings(_ key: String, required: Bool = false, hint: String) -> [String]? {
        guard let items = reader.array(key, required: required, hint: hint) else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item.kind else {
                reader.diagnostics.error("\(reader.at(key))[\(i)]", item.position, "must be a string, not \(item.typeDescription)", hint: hint)
                return nil
            }
            out.append(s)
        }
        return out
    }

    /// An object whose members are all strings (any keys): HTTP headers.
    public func stringMap(_ key: String, hint: String) -> [String: String]? {
        guard let v = reader.value(key) else { return nil }
        guard case .object(let members) = v.kind else {
            reader.wrongType(key, v, "an object", hint: hint)
            return nil
        }
        var out: [String: String] = [:]
        for m in members {
            guard case .string(let s) = m.value.kind else {
                reader.diagnostics.error(join(reader.at(key), m.key), m.value.position, "must be a string, not \(m.value.typeDescription)", hint: hint)
                return nil
            }
            out[m.key] = s
        }
        return out
    }
}
