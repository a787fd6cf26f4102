/// A 1-based line and column in a source file; the column counts Unicode scalars, not bytes.
public struct SourcePosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (a: SourcePosition, b: SourcePosition) -> Bool {
        a.line != b.line ? a.line < b.line : a.column < b.column
    }

    /// `12:18`.
    public var description: String { "\(line):\(column)" }
}

/// A parsed JSON value together with the position of its first character.
///
/// Numbers keep their source text so that range checks can report values that do not fit any
/// machine type (`99999999999999999999`, `1e400`) exactly as written.
public struct JSONNode: Hashable, Sendable {
    /// Not `indirect`: objects and arrays hold their children in arrays already, and boxing
    /// every node was one allocation per value of a large manifest.
    public enum Kind: Hashable, Sendable {
        /// Members in source order; keys are unique (the parser rejects duplicates).
        case object([JSONMember])
        case array([JSONNode])
        case string(String)
        /// The number as written in the source.
        case number(String)
        case bool(Bool)
        case null
    }

    public var kind: Kind
    public var position: SourcePosition

    public init(_ kind: Kind, at position: SourcePosition) {
        self.kind = kind
        self.position = position
    }

    /// The JSON type name used in messages: `an object`, `a string`, ...
    public var typeDescription: String {
        switch kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// One `"key": value` pair of a JSON object, with the position of the key.
public struct JSONMember: Hashable, Sendable {
    public var key: String
    public var keyPosition: SourcePosition
    public var value: JSONNode

    public init(key: String, keyPosition: SourcePosition, value: JSONNode) {
        self.key = key
        self.keyPosition = keyPosition
        self.value = value
    }
}
