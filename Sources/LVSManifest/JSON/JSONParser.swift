import LVSModel

/// A strict RFC 8259 JSON parser that records the line and column of every key and value.
///
/// Beyond the RFC it rejects duplicate object keys, invalid UTF-8 and nesting deeper than
/// `maxDepth`. A leading UTF-8 byte order mark is skipped with a warning. Syntax errors stop the
/// parse (nothing after them can be trusted); duplicate keys do not, so all of them are reported.
public struct JSONParser {
    /// One problem found while parsing.
    public struct Problem: Hashable, Sendable {
        public var severity: Diagnostic.Severity
        public var position: SourcePosition
        public var message: String
        public var hint: String?
        /// The JSON path of the object holding a duplicate key; "" for syntax errors.
        public var path: String
    }

    /// The outcome of a parse: the tree when the syntax is valid, and every problem found.
    public struct Result: Sendable {
        public var root: JSONNode?
        public var problems: [Problem]
        /// Whether the elements of the streamed array (see `parse(_:maxDepth:streaming:to:)`)
        /// went to the sink; the array is then empty in `root`.
        public var streamed = false
    }

    /// Nesting limit for objects and arrays; a manifest needs about six levels.
    public static let defaultMaxDepth = 64

    private let bytes: [UInt8]
    private let maxDepth: Int
    private var index = 0
    private var line = 1
    private var column = 1
    private var problems: [Problem] = []
    /// Where the parser is, as keys and indices; rendered as a path only when a problem needs it
    /// (building a path string for every value dominated parsing a large manifest).
    private var pathStack: [PathComponent] = []

    /// The members and elements of the objects and arrays being parsed, one list per nesting
    /// level, reused: each object or array is then allocated once, at its final size (growing a
    /// fresh array member by member allocated several times per object of a large manifest).
    private var memberLists: [[JSONMember]] = []
    private var itemLists: [[JSONNode]] = []

    /// The root object's member whose array elements go to `sink` one by one instead of into the
    /// tree (see `parse(_:maxDepth:streaming:to:)`).
    private var streamKey: String? = nil
    private var sink: ((Int, JSONNode) -> Void)? = nil
    /// Set between reading the streamed key and starting its value.
    private var streamNext = false
    private var streamKeySeen = false
    private var streamed = false

    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    /// `services[3].name`, as the decoder writes paths.
    private var currentPath: String {
        var out = ""
        for c in pathStack {
            switch c {
            case .key(let k): out = out.isEmpty ? k : out + "." + k
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }

    private struct SyntaxError: Error {
        var position: SourcePosition
        var message: String
        var hint: String?
    }

    /// Parses `bytes` as one JSON document.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) -> Result {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        return parser.run()
    }

    /// Parses `bytes` as one JSON document, handing each element of the root object's `key`
    /// array to `sink` (with its index) as soon as it is parsed, instead of keeping it in the
    /// tree: the caller can decode an element and let go of it, so that a large document is never
    /// held as a whole tree. In `root` that array is then empty, and `streamed` is set.
    ///
    /// Only the first `key` of the root object streams (a duplicate is reported and dropped as
    /// usual), and only when its value is an array. Elements arrive before the parse has seen the
    /// rest of the document: when the result has no root (a syntax error), whatever the sink made
    /// of them must be thrown away.
    public static func parse(
        _ bytes: [UInt8], maxDepth: Int = defaultMaxDepth, streaming key: String, to sink: (Int, JSONNode) -> Void
    ) -> Result {
        withoutActuallyEscaping(sink) { sink in
            var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
            parser.streamKey = key
            parser.sink = sink
            var result = parser.run()
            result.streamed = parser.streamed
            return result
        }
    }

    private init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private mutating func run() -> Result {
        if let bad = JSONParser.firstInvalidUTF8(bytes) {
            let pos = JSONParser.position(of: bad, in: bytes)
            return Result(root: nil, problems: [Problem(
                severity: .error, position: pos,
                message: "invalid UTF-8 (byte 0x\(String(bytes[bad], radix: 16)) at offset \(bad))",
                hint: "save the file as UTF-8", path: "")])
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            problems.append(Problem(
                severity: .warning, position: SourcePosition(line: 1, column: 1),
                message: "the file starts with a UTF-8 byte order mark", hint: "remove the BOM", path: ""))
            index = 3
        }
        do {
            skipWhitespace()
            if index >= bytes.count {
                throw SyntaxError(
                    position: here, message: "the input is empty",
                    hint: "a manifest is a JSON object: { \"apiVersion\": \"lvsctl/v1\", ... }")
            }
            let root = try parseValue(depth: 0)
            skipWhitespace()
            if index < bytes.count {
                throw SyntaxError(
                    position: here, message: "unexpected \(describeHere()) after the end of the JSON document",
                    hint: "remove everything after the closing brace")
            }
            return Result(root: root, problems: problems)
        } catch let e as SyntaxError {
            problems.append(Problem(severity: .error, position: e.position, message: e.message, hint: e.hint, path: ""))
            return Result(root: nil, problems: problems)
        } catch {
            problems.append(Problem(severity: .error, position: here, message: "\(error)", hint: nil, path: ""))
            return Result(root: nil, problems: problems)
        }
    }

    // MARK: - Scanning

    private var here: SourcePosition { SourcePosition(line: line, column: column) }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func advance() {
        let b = bytes[index]
        index += 1
        if b == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {
            column += 1
        }
    }

    // The scanning loops below work on local copies of the position and the bytes, not through
    // `advance()`/`peek` byte by byte: those cost a call and a retain per byte, which made
    // megabytes of white space, digits or escapes take seconds.

    private mutating func skipWhitespace() {
        var i = index, line = self.line, column = self.column
        bytes.withUnsafeBufferPointer { b in
            while i < b.count {
                let c = b[i]
                if c == 0x0A {
                    line += 1
                    column = 1
                } else if c == 0x20 || c == 0x09 || c == 0x0D {
                    column += 1
                } else {
                    break
                }
                i += 1
            }
        }
        index = i
        self.line = line
        self.column = column
    }

    private func describeHere() -> String {
        guard let b = peek else { return "end of input" }
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16))"
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws {
        guard peek == c else {
            throw SyntaxError(position: here, message: "expected \(what) but found \(describeHere())")
        }
        advance()
    }

    // MARK: - Values

    private mutating func parseValue(depth: Int) throws -> JSONNode {
        let stream = streamNext
        streamNext = false
        skipWhitespace()
        let start = here
        guard let b = peek else {
            throw SyntaxError(position: start, message: "unexpected end of input; expected a value",
                              hint: "the file looks truncated")
        }
        switch b {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1, stream: stream)
        case UInt8(ascii: "\""): return JSONNode(.string(try parseString()), at: start)
        case UInt8(ascii: "t"): try literal("true"); return JSONNode(.bool(true), at: start)
        case UInt8(ascii: "f"): try literal("false"); return JSONNode(.bool(false), at: start)
        case UInt8(ascii: "n"): try literal("null"); return JSONNode(.null, at: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return JSONNode(.number(try parseNumber()), at: start)
        default:
            var hint: String? = nil
            if b == UInt8(ascii: "'") { hint = "JSON strings use double quotes" }
            if b == UInt8(ascii: "/") { hint = "JSON has no comments; use a \"description\" field" }
            throw SyntaxError(position: start, message: "unexpected \(describeHere()); expected a value", hint: hint)
        }
    }

    private mutating func literal(_ word: String) throws {
        let start = here
        for c in word.utf8 {
            guard peek == c else {
                throw SyntaxError(position: start, message: "invalid literal; expected '\(word)'",
                                  hint: "JSON literals are true, false and null, in lower case")
            }
            advance()
        }
    }

    private mutating func checkDepth(_ depth: Int, _ start: SourcePosition) throws {
        if depth > maxDepth {
            throw SyntaxError(position: start, message: "nesting deeper than \(maxDepth) levels",
                              hint: "a manifest needs only a few levels of objects and arrays")
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONNode {
        let start = here
        try checkDepth(depth, start)
        advance()  // {
        while memberLists.count <= depth { memberLists.append([]) }
        var members = memberLists[depth]
        memberLists[depth] = []
        members.removeAll(keepingCapacity: true)
        // Duplicate keys are found by scanning `members`: objects in a manifest have a few
        // members, and hashing every key cost a tenth of parsing a large manifest. Only objects
        // too large to scan get an index.
        var keyIndex: [String: SourcePosition]? = nil
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            advance()
            return JSONNode(.object([]), at: start)
        }
        while true {
            skipWhitespace()
            let keyPos = here
            guard peek == UInt8(ascii: "\"") else {
                var hint = "object keys are strings in double quotes"
                if peek == UInt8(ascii: "}") { hint = "remove the trailing comma" }
                throw SyntaxError(position: keyPos, message: "expected a key in double quotes but found \(describeHere())", hint: hint)
            }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after the key")
            pathStack.append(.key(key))
            // The root object is parsed at depth 1. Only the first member of the streamed key
            // streams: a duplicate is dropped from the tree, so it must not reach the sink either.
            if depth == 1, let streamKey, key == streamKey, !streamKeySeen {
                streamKeySeen = true
                streamNext = true
            }
            let value = try parseValue(depth: depth)
            var first: SourcePosition? = nil
            if let keyIndex {
                first = keyIndex[key]
            } else {
                for m in members where m.key == key {
                    first = m.keyPosition
                    break
                }
            }
            if let first {
                let childPath = currentPath
                problems.append(Problem(
                    severity: .error, position: keyPos,
                    message: "duplicate key '\(excerpt: key)' (first at line \(first.line), column \(first.column))",
                    hint: "keep one '\(excerpt: key)'", path: childPath))
            } else {
                members.append(JSONMember(key: key, keyPosition: keyPos, value: value))
                if keyIndex != nil {
                    keyIndex?[key] = keyPos
                } else if members.count == 32 {
                    keyIndex = Dictionary(members.lazy.map { ($0.key, $0.keyPosition) }, uniquingKeysWith: { a, _ in a })
                }
            }
            pathStack.removeLast()
            skipWhitespace()
            if peek == UInt8(ascii: ",") { advance(); continue }
            if peek == UInt8(ascii: "}") { advance(); break }
            if peek == nil {
                throw SyntaxError(position: here, message: "unexpected end of input inside an object",
                                  hint: "the file looks truncated; the object opened at line \(start.line), column \(start.column) is not closed")
            }
            throw SyntaxError(position: here, message: "expected ',' or '}' but found \(describeHere())",
                              hint: "separate members with commas")
        }
        let node = JSONNode(.object(Array(members[...])), at: start)
        members.removeAll(keepingCapacity: true)
        memberLists[depth] = members
        return node
    }

    /// `stream`: hand the elements to `sink` instead of keeping them (see `parse(_:maxDepth:streaming:to:)`).
    private mutating func parseArray(depth: Int, stream: Bool = false) throws -> JSONNode {
        let start = here
        try checkDepth(depth, start)
        advance()  // [
        if stream { streamed = true }
        while itemLists.count <= depth { itemLists.append([]) }
        var items = itemLists[depth]
        itemLists[depth] = []
        items.removeAll(keepingCapacity: true)
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            advance()
            return JSONNode(.array([]), at: start)
        }
        var count = 0
        while true {
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                throw SyntaxError(position: here, message: "expected a value but found ']'", hint: "remove the trailing comma")
            }
            pathStack.append(.index(count))
            let item = try parseValue(depth: depth)
            if stream, let sink {
                sink(count, item)
            } else {
                items.append(item)
            }
            count += 1
            pathStack.removeLast()
            skipWhitespace()
            if peek == UInt8(ascii: ",") { advance(); continue }
            if peek == UInt8(ascii: "]") { advance(); break }
            if peek == nil {
                throw SyntaxError(position: here, message: "unexpected end of input inside an array",
                                  hint: "the file looks truncated; the array opened at line \(start.line), column \(start.column) is not closed")
            }
            throw SyntaxError(position: here, message: "expected ',' or ']' but found \(describeHere())",
                              hint: "separate array elements with commas")
        }
        let node = JSONNode(.array(Array(items[...])), at: start)
        items.removeAll(keepingCapacity: true)
        itemLists[depth] = items
        return node
    }

    private mutating func parseString() throws -> String {
        // Most strings have no escapes: they are the bytes between the quotes. No line break can
        // be inside one (control characters are errors), so only the column moves.
        var i = index + 1
        var scalars = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: bytes[(index + 1)..<i], as: UTF8.self)
                column += scalars + 2
                index = i + 1
                return s
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            if b & 0xC0 != 0x80 { scalars += 1 }
            i += 1
        }
        return try parseEscapedString()
    }

    /// A string with escapes, or one that does not end well: byte by byte, on local copies of
    /// the position (a string holds no line break, so only the column moves).
    private mutating func parseEscapedString() throws -> String {
        let start = here
        let line = self.line
        var column = self.column + 1
        var i = index + 1  // after the opening quote
        defer {
            index = i
            self.column = column
        }
        var out: [UInt8] = []
        return try bytes.withUnsafeBufferPointer { b in
            func position() -> SourcePosition { SourcePosition(line: line, column: column) }
            /// Four hex digits at `i`; the escape began at `escPos`.
            func hex4(_ escPos: SourcePosition) throws -> UInt32 {
                var v: UInt32 = 0
                for _ in 0..<4 {
                    guard i < b.count else { throw SyntaxError(position: escPos, message: "incomplete \\u escape") }
                    let c = b[i]
                    let d: UInt32
                    switch c {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                    case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                    default: throw SyntaxError(position: escPos, message: "invalid \\u escape; expected four hex digits")
                    }
                    v = v << 4 | d
                    i += 1
                    column += 1
                }
                return v
            }
            while true {
                guard i < b.count else {
                    throw SyntaxError(position: start, message: "unterminated string", hint: "add the closing double quote")
                }
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    column += 1
                    break
                }
                if c < 0x20 {
                    throw SyntaxError(position: position(), message: "control character 0x\(String(c, radix: 16)) in a string",
                                      hint: c == 0x0A ? "strings cannot span lines; close the string or write \\n" : "escape it as \\u00XX")
                }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    i += 1
                    if c & 0xC0 != 0x80 { column += 1 }
                    continue
                }
                let escPos = position()
                i += 1
                column += 1
                guard i < b.count else {
                    throw SyntaxError(position: start, message: "unterminated string", hint: "add the closing double quote")
                }
                let e = b[i]
                i += 1
                if e & 0xC0 != 0x80 { column += 1 }
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(escPos)
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard i < b.count, b[i] == UInt8(ascii: "\\") else {
                            throw SyntaxError(position: escPos, message: "unpaired UTF-16 surrogate in \\u escape")
                        }
                        i += 1
                        column += 1
                        guard i < b.count, b[i] == UInt8(ascii: "u") else {
                            throw SyntaxError(position: escPos, message: "unpaired UTF-16 surrogate in \\u escape")
                        }
                        i += 1
                        column += 1
                        let low = try hex4(escPos)
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw SyntaxError(position: escPos, message: "unpaired UTF-16 surrogate in \\u escape")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw SyntaxError(position: escPos, message: "unpaired UTF-16 surrogate in \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else {
                        throw SyntaxError(position: escPos, message: "invalid \\u escape")
                    }
                    UTF8.encode(u) { out.append($0) }
                default:
                    throw SyntaxError(position: escPos, message: "invalid escape sequence in a string",
                                      hint: "valid escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    private mutating func parseNumber() throws -> String {
        let start = here
        let from = index
        // A number is ASCII on one line: scan it, then move the column by its length.
        let (end, problem): (Int, String?) = bytes.withUnsafeBufferPointer { b in
            var i = from
            func isDigit(_ k: Int) -> Bool { k < b.count && b[k] >= 0x30 && b[k] <= 0x39 }
            if i < b.count && b[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { return (i, "invalid number; expected a digit after '-'") }
            if b[i] == UInt8(ascii: "0") {
                i += 1
                if isDigit(i) { return (i, "invalid number: leading zeros are not allowed") }
            } else {
                while isDigit(i) { i += 1 }
            }
            if i < b.count && b[i] == UInt8(ascii: ".") {
                i += 1
                guard isDigit(i) else { return (i, "invalid number; expected a digit after '.'") }
                while isDigit(i) { i += 1 }
            }
            if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
                i += 1
                if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
                guard isDigit(i) else { return (i, "invalid number; expected a digit in the exponent") }
                while isDigit(i) { i += 1 }
            }
            return (i, nil)
        }
        column += end - from
        index = end
        if let problem { throw SyntaxError(position: start, message: problem) }
        return String(decoding: bytes[from..<end], as: UTF8.self)
    }

    // MARK: - UTF-8

    /// The offset of the first byte that does not start a well-formed UTF-8 sequence, or nil.
    static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let len: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: len = 2
            case 0xE0: len = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: len = 3
            case 0xED: len = 3; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90
            case 0xF1...0xF3: len = 4
            case 0xF4: len = 4; hi = 0x8F
            default: return i
            }
            guard i + len <= n else { return i }
            if b[i + 1] < lo || b[i + 1] > hi { return i }
            for k in 2..<max(2, len) where b[i + k] & 0xC0 != 0x80 { return i }
            i += len
        }
        return nil
    }

    /// Line and column of byte `offset`, counting scalars as the parser does.
    static func position(of offset: Int, in b: [UInt8]) -> SourcePosition {
        var line = 1, column = 1
        for i in 0..<min(offset, b.count) {
            if b[i] == 0x0A { line += 1; column = 1 } else if b[i] & 0xC0 != 0x80 { column += 1 }
        }
        return SourcePosition(line: line, column: column)
    }
}
