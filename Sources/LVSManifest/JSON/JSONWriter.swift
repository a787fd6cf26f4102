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
            // A number of hundreds of digits stays text: converting megabytes of digits is slow,
            // and no manifest value is such a number.
            if let i = Int64(raw) {
                self = .integer(i)
            } else if raw.utf8.count <= 400, let d = Double(raw), d.isFinite {
                self = .double(d)
            } else {
                self = .string(raw)
            }
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        }
    }

    /// The canonical text of this value, ending with a newline.
    public var canonicalText: String {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        JSONValue.write(self, indent: 0, into: &out)
        out.append(UInt8(ascii: "\n"))
        return String(decoding: out, as: UTF8.self)
    }

    // The text is built as UTF-8 bytes: appending to a String scalar by scalar dominated the
    // cost of loading a large manifest.
    private static func write(_ v: JSONValue, indent: Int, into out: inout [UInt8]) {
        switch v {
        case .object(let d):
            if d.isEmpty { append("{}", to: &out); return }
            append("{\n", to: &out)
            let keys = d.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, k) in keys.enumerated() {
                pad(indent + 2, &out)
                writeString(k, into: &out)
                append(": ", to: &out)
                if let child = d[k] { write(child, indent: indent + 2, into: &out) }
                append(i == keys.count - 1 ? "\n" : ",\n", to: &out)
            }
            pad(indent, &out)
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            if items.isEmpty { append("[]", to: &out); return }
            // Arrays of scalars stay on one line: `"statusCodes": [200, 301]`.
            if items.allSatisfy({ $0.isScalar }) {
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { append(", ", to: &out) }
                    write(item, indent: indent, into: &out)
                }
                out.append(UInt8(ascii: "]"))
                return
            }
            append("[\n", to: &out)
            for (i, item) in items.enumerated() {
                pad(indent + 2, &out)
                write(item, indent: indent + 2, into: &out)
                append(i == items.count - 1 ? "\n" : ",\n", to: &out)
            }
            pad(indent, &out)
            out.append(UInt8(ascii: "]"))
        case .string(let s): writeString(s, into: &out)
        case .integer(let i): append(String(i), to: &out)
        case .double(let d): append(formatDouble(d), to: &out)
        case .bool(let b): append(b ? "true" : "false", to: &out)
        case .null: append("null", to: &out)
        }
    }

    private static func append(_ s: String, to out: inout [UInt8]) {
        out.append(contentsOf: s.utf8)
    }

    private static func pad(_ n: Int, _ out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n))
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

    static func writeString<Sink: ByteSink>(_ s: String, into out: inout Sink) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(b)
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            default:
                // Bytes of multi-byte characters are all >= 0x80: copied as they are.
                if b < 0x20 || b == 0x7F {
                    let hex = String(b, radix: 16)
                    for c in ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8 { out.append(c) }
                } else {
                    out.append(b)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Where the writers put bytes: an array, or `CanonicalWriter`'s buffer.
protocol ByteSink {
    mutating func append(_ byte: UInt8)
}

extension Array: ByteSink where Element == UInt8 {}
