import ArgumentParser
import Foundation
import LVSModel

/// Output format for commands that print results (`-o/--output`).
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text
    case json
}

/// A machine format: one JSON document per command run, with a top-level `formatVersion` and
/// `kind`, described by `Manifests/lvsctl-<kind>-v<formatVersion>.schema.json` and pinned by
/// `Tests/LVSCommandsTests/Golden/<kind>.v<formatVersion>.json`.
///
/// What must stay true: a change of a format's shape bumps its `formatVersion` (the golden test
/// fails otherwise); keys are written by name (explicit `CodingKeys`); times are RFC 3339;
/// enumerations are strings; no JSON inside a JSON string.
protocol MachineDocument: Encodable {
    /// `plan`, `apply`, `status`…: what the document is.
    static var kind: String { get }
    static var formatVersion: Int { get }
}

/// A document that also has a text form for people.
protocol Rendered: MachineDocument {
    /// Writes the text form, in pieces, to `write`.
    func renderText(_ write: (String) -> Void)
}

/// The one place command output is written: text for people, or a machine document.
enum Output {
    /// Prints `document` in `format`.
    static func emit(_ document: some Rendered, _ format: OutputFormat) throws {
        switch format {
        case .text: document.renderText { Swift.print($0, terminator: "") }
        case .json: try printJSON(document)
        }
    }

    /// Prints a machine document as pretty JSON with sorted keys, `formatVersion` and `kind` first
    /// among them only by name order (sorted), and a newline.
    static func printJSON(_ document: some MachineDocument) throws {
        var data = try json(document)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }

    /// The JSON bytes of a machine document (no final newline).
    static func json<D: MachineDocument>(_ document: D) throws -> Data {
        try encoder(pretty: true).encode(Envelope(body: document))
    }

    /// The encoder of every machine format: sorted keys, slashes as they are (`tcp/10.0.0.1:80`),
    /// dates as RFC 3339.
    static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(date.rfc3339)
        }
        return encoder
    }

    /// Writes `formatVersion` and `kind`, then the document's own keys, into one object.
    private struct Envelope<Body: MachineDocument>: Encodable {
        var body: Body
        enum CodingKeys: String, CodingKey {
            case formatVersion, kind
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(Body.formatVersion, forKey: .formatVersion)
            try c.encode(Body.kind, forKey: .kind)
            try body.encode(to: encoder)
        }
    }
}

/// Writes a line to standard error: every message lvsctl prints there goes through here, so no
/// control character from an input (a file name, a value quoted in an error) reaches the
/// terminal raw (`Escaped.lines`; diagnostics are escaped already).
func printError(_ line: String) {
    FileHandle.standardError.write(Data((Escaped.lines(line) + "\n").utf8))
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

extension Date {
    /// `2026-11-25T16:50:02Z` (RFC 3339, UTC; milliseconds when not whole): the one form of a
    /// time in text and machine output.
    var rfc3339: String { RFC3339.string(timeIntervalSince1970) }

    /// The same to the second, for text columns: `2026-11-25T16:50:02Z`.
    var iso8601: String { RFC3339.string(timeIntervalSince1970.rounded(.down)) }
}

/// Any JSON value, passed through unchanged: the audit's stored before/after objects in
/// `history`, a manifest inside a saved plan. Numbers keep integers exact.
indirect enum JSONValue: Codable, Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses JSON text; nil when it is not JSON.
    init?(parsing text: String) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        self = value
    }
}
