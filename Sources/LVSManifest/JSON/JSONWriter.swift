/// A JSON value to write, and the writer that renders it with sorted keys and fixed indentation.
///
/// The output is canonical: object keys sorted by their UTF-8 bytes, two-space indentation, one
/// member or element per line, `\n` line ends and a final newline, numbers in their shortest form.
/// Equal values therefore always render to equal text, which is what content hashes need.
public indirect enum JSONValue: Hashable, Sendable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    case null

    /// Converts a parsed tree (dropping positions); numbers keep their value, not their spelling.
    public init(_ node: JSONNode) {
        switch node.kind {
        case .object(let members):
            var d: [String: JSONValue] = [:]
            for m in members { d[m.key] = JSONValue(m.value) }
            self = .object(d)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .string(let s): self = .string(s)
        case .number(let raw):
            if let i = Int64(raw) { self = .integer(i) } else if let d = Double(raw), d.isFinite { self = .double(d) } else { self = .string(raw) }
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        }
    }

    /// The canonical text of this value, ending with a newline.
    public var canonicalText: String {
        var out = ""
        JSONValue.write(self, indent: 0, into: &out)
        out += "\n"
        return out
    }

    private static func write(_ v: JSONValue, indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent + 2)
        let closePad = String(repeating: " ", count: indent)
        switch v {
        case .object(let d):
            if d.isEmpty { out += "{}"; return }
            out += "{\n"
            let keys = d.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (i, k) in keys.enumerated() {
                out += pad
                writeString(k, into: &out)
                out += ": "
                if let child = d[k] { write(child, indent: indent + 2, into: &out) }
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "}"
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            // Arrays of scalars stay on one line: `"statusCodes": [200, 301]`.
            if items.allSatisfy({ $0.isScalar }) {
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += ", " }
                    write(item, indent: indent, into: &out)
                }
                out += "]"
                return
            }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                write(item, indent: indent + 2, into: &out)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "]"
        case .string(let s): writeString(s, into: &out)
        case .integer(let i): out += String(i)
        case .double(let d): out += formatDouble(d)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .object, .array: false
        default: true
        }
    }

    /// Whole numbers print without a fraction (`3`, not `3.0`); others in Swift's shortest form.
    static func formatDouble(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
