#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LVSModel

/// One keepalived.conf statement: the words of one line up to a brace, or a lone `{` / `}`.
///
/// keepalived reads its configuration line by line; it splits a line at the first `{` or `}`
/// outside double quotes and treats the rest of the line as the next line, so braces behave as
/// statements of their own. Words are separated by whitespace; a double-quoted string is one word.
public struct KeepalivedStatement: Hashable, Sendable {
    public var words: [String]
    public var file: String
    public var line: Int

    public init(words: [String], file: String, line: Int) {
        self.words = words
        self.file = file
        self.line = line
    }

    public var isOpen: Bool { words == ["{"] }
    public var isClose: Bool { words == ["}"] }
}

/// Reads keepalived.conf text into statements the way keepalived's `lib/parser.c` does: comments
/// from `#` or `!` (outside quotes) to the end of the line, `\#` / `\!` for literal characters,
/// `include GLOB` lines (relative to the including file's directory; also `includer`, `includem`,
/// `includew`, `includeb`, `includea`), `@^id` / `@id` conditional lines, and brace splitting.
///
/// Lines end at LF; trailing CRs are removed (a CRLF file reads like an LF one, as in keepalived).
/// The text is read as bytes (every character with a meaning here is ASCII), so the time taken is
/// linear in the input, however long a line.
///
/// Includes are bounded: only regular files are read (keepalived skips anything else too), a
/// file expanded at the top level is not expanded there again (a second expansion would only
/// declare the same blocks twice, and a diamond of includes would grow exponentially), nesting is
/// limited to `maxIncludeDepth` and everything expanded to `maxTotalSize` bytes.
public struct KeepalivedLexer {
    public private(set) var statements: [KeepalivedStatement] = []
    public private(set) var diagnostics: [Diagnostic] = []
    /// Every file read, in order (the top file first); a file expanded twice is listed once.
    public private(set) var filesRead: [String] = []

    /// Files larger than this are refused; keepalived.conf files are small.
    static let maxFileSize = 16 << 20
    /// The most text the top file and its includes may expand to (a file included in several
    /// blocks counts each time): as much as one file may hold, about 80,000 virtual servers.
    static let maxTotalSize = 16 << 20
    /// The most include expansions (files read or expanded again inside blocks) of one import.
    static let maxExpansions = 20_000

    /// Include nesting deeper than this is reported as an error (keepalived has no limit, but
    /// anything this deep is a mistake).
    static let maxIncludeDepth = 32

    /// The canonical paths of the files being read, outermost first (a cycle check).
    private var includeStack: [String] = []
    private var including = Set<String>()
    /// Files already read, by canonical path: their bytes (a file expanded inside several blocks
    /// is read from disk once) and where they were first included.
    private var cache: [String: [UInt8]] = [:]
    /// Files expanded at the top level (outside any block), and where.
    private var expandedAtTop: [String: String] = [:]
    /// Bytes expanded so far, against `maxTotalSize`.
    private var totalSize = 0
    private var totalSizeReported = false
    private var expansions = 0
    /// `{` minus `}` statements so far: whether an include is inside a block.
    private var braceDepth = 0

    public init() {}

    /// Lexes one file from disk, following includes.
    public mutating func lex(path: String) {
        let bytes: [UInt8]
        switch InputFile.read(path, limit: KeepalivedLexer.maxFileSize) {
        case .success(let b): bytes = b
        case .failure(let f):
            diagnostics.append(Diagnostic(.error, file: path, message: f.message, hint: f.hint))
            return
        }
        if bytes.allSatisfy({ KeepalivedLexer.isSpace($0) }) {
            diagnostics.append(Diagnostic(
                .error, file: path, line: 1,
                message: bytes.isEmpty ? "the file is empty" : "the file holds only white space",
                hint: "give the keepalived.conf that holds the virtual_server blocks"))
            return
        }
        let canonical = KeepalivedLexer.canonicalPath(path)
        cache[canonical] = bytes
        lex(bytes: bytes, file: path, canonical: canonical)
    }

    /// Lexes text that came from `file` (used as the base directory for includes).
    public mutating func lex(text: String, file: String) {
        lex(bytes: Array(text.utf8), file: file, canonical: KeepalivedLexer.canonicalPath(file))
    }

    private mutating func lex(bytes: [UInt8], file: String, canonical: String) {
        if !filesRead.contains(file) { filesRead.append(file) }
        if braceDepth == 0 { expandedAtTop[canonical] = file }
        includeStack.append(canonical)
        including.insert(canonical)
        defer {
            includeStack.removeLast()
            including.remove(canonical)
        }
        totalSize += bytes.count
        let baseDir = KeepalivedLexer.directory(of: file)
        bytes.withUnsafeBufferPointer { buffer in
            var lineNo = 0
            var start = 0
            let n = buffer.count
            while start < n {
                var end = start
                while end < n && buffer[end] != 0x0A { end += 1 }
                lineNo += 1
                var last = end
                while last > start && buffer[last - 1] == 0x0D { last -= 1 }
                line(UnsafeBufferPointer(rebasing: buffer[start..<last]), baseDir: baseDir, file: file, line: lineNo)
                start = end + 1
            }
        }
    }

    /// One line, without its line end.
    private mutating func line(_ raw: UnsafeBufferPointer<UInt8>, baseDir: String, file: String, line lineNo: Int) {
        if raw.contains(0) {
            diagnostics.append(Diagnostic(
                .error, file: file, line: lineNo,
                message: "the line contains a NUL byte; keepalived ignores such lines",
                hint: "remove the NUL bytes"))
            return
        }
        var line = decomment(raw, file: file, line: lineNo)
        if line.isEmpty { return }
        // Conditional lines: without `-i config_id`, `@id` lines are skipped, `@^id` kept.
        if line[0] == UInt8(ascii: "@") {
            let reverse = line.count > 1 && line[1] == UInt8(ascii: "^")
            guard let space = line.firstIndex(where: { $0 == 0x20 || $0 == 0x09 }) else { return }
            let id = KeepalivedLexer.string(line[(reverse ? 2 : 1)..<space])
            if reverse {
                line = Array(line[space...].drop(while: KeepalivedLexer.isSpace))
            } else {
                diagnostics.append(Diagnostic(
                    .warning, file: file, line: lineNo,
                    message: "line for config id '\(excerpt: id)' skipped (keepalived skips it unless started with -i \(excerpt: id))",
                    hint: "remove the @\(excerpt: id) prefix if this director should use the line"))
                return
            }
            if line.isEmpty { return }
        }
        if line[0] == UInt8(ascii: "$") {
            diagnostics.append(Diagnostic(
                .error, file: file, line: lineNo,
                message: "parameter definitions ($NAME=...) are not supported by the importer",
                hint: "expand the parameters by hand before importing"))
            return
        }
        if line.starts(with: Array("~SEQ".utf8)) || line.starts(with: Array("~LST".utf8)) {
            diagnostics.append(Diagnostic(
                .error, file: file, line: lineNo,
                message: "\(KeepalivedLexer.string(line[0..<4])) sequences are not supported by the importer",
                hint: "expand the sequence by hand before importing"))
            return
        }
        if let (pattern, kind) = KeepalivedLexer.includeDirective(line) {
            include(pattern: pattern, kind: kind, baseDir: baseDir, file: file, line: lineNo)
            return
        }
        splitStatements(line, file: file, line: lineNo)
    }

    /// Removes comments and surrounding white space; `\#` and `\!` outside quotes become literal.
    private mutating func decomment(_ s: UnsafeBufferPointer<UInt8>, file: String, line: Int) -> [UInt8] {
        // Most lines have no quote, comment or backslash: they are only trimmed.
        if !s.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "!") || $0 == UInt8(ascii: "\\") }) {
            var lo = 0, hi = s.count
            while lo < hi && KeepalivedLexer.isSpace(s[lo]) { lo += 1 }
            while hi > lo && KeepalivedLexer.isSpace(s[hi - 1]) { hi -= 1 }
            return Array(s[lo..<hi])
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var quote = false
        var i = 0
        let n = s.count
        while i < n && KeepalivedLexer.isSpace(s[i]) { i += 1 }
        while i < n {
            let c = s[i]
            if c == UInt8(ascii: "\"") {
                quote.toggle()
                out.append(c)
            } else if c == UInt8(ascii: "\\") && i + 1 < n {
                let next = s[i + 1]
                if !quote && (next == UInt8(ascii: "#") || next == UInt8(ascii: "!")) {
                    out.append(next)
                } else {
                    out.append(c)
                    out.append(next)
                }
                i += 1
            } else if !quote && (c == UInt8(ascii: "#") || c == UInt8(ascii: "!")) {
                break
            } else {
                out.append(c)
            }
            i += 1
        }
        if quote {
            diagnostics.append(Diagnostic(
                .error, file: file, line: line, message: "unterminated quote",
                hint: "close the double quote on the same line"))
        }
        while let last = out.last, KeepalivedLexer.isSpace(last) { out.removeLast() }
        return out
    }

    /// `include PATTERN` (and the `includer`/`includem`/`includew`/`includeb`/`includea` forms).
    static func includeDirective(_ line: [UInt8]) -> (String, String)? {
        let word = Array("include".utf8)
        guard line.starts(with: word) else { return nil }
        if line.count == word.count { return ("", "include") }
        let first = line[word.count]
        if isSpace(first) {
            return (string(trimmed(line[(word.count + 1)...])), "include")
        }
        if Array("rmwba".utf8).contains(first), line.count > word.count + 1, isSpace(line[word.count + 1]) {
            return (string(trimmed(line[(word.count + 2)...])), "include\(Character(Unicode.Scalar(first)))")
        }
        return nil
    }

    private mutating func include(pattern: String, kind: String, baseDir: String, file: String, line: Int) {
        if pattern.isEmpty {
            diagnostics.append(Diagnostic(
                .error, file: file, path: kind, line: line, message: "include without a file name",
                hint: "write include FILE or include GLOB"))
            return
        }
        let full = pattern.hasPrefix("/") || baseDir.isEmpty ? pattern : baseDir + "/" + pattern
        let hasWildcard = pattern.contains(where: { "*?[{".contains($0) })
        let matches = KeepalivedLexer.expandGlob(full)
        if matches.isEmpty {
            diagnostics.append(Diagnostic(
                hasWildcard ? .warning : .error, file: file, path: kind, line: line,
                message: hasWildcard
                    ? "include \(excerpt: pattern): no file matches"
                    : "include \(excerpt: pattern): file not found (\(excerpt: full))",
                hint: hasWildcard ? nil : "fix the path; keepalived skips a missing include file"))
            return
        }
        for match in matches {
            let canonical = KeepalivedLexer.canonicalPath(match)
            if including.contains(canonical) {
                diagnostics.append(Diagnostic(
                    .error, file: file, path: kind, line: line,
                    message: "include cycle: \(excerpt: match) is already being read (\(includeStack.map { Escaped.excerpt($0) }.joined(separator: " → ")))",
                    hint: "remove the include that leads back to an including file"))
                continue
            }
            if includeStack.count >= KeepalivedLexer.maxIncludeDepth {
                diagnostics.append(Diagnostic(
                    .error, file: file, path: kind, line: line,
                    message: "include \(excerpt: match): includes nested deeper than \(KeepalivedLexer.maxIncludeDepth) levels",
                    hint: "flatten the include structure"))
                return
            }
            if braceDepth == 0, let first = expandedAtTop[canonical] {
                diagnostics.append(Diagnostic(
                    .warning, file: file, path: kind, line: line,
                    message: "include \(excerpt: match): already read at the top level (as \(excerpt: first)); not read again",
                    hint: "keepalived would read it again and declare the same blocks twice; include each file once"))
                continue
            }
            let bytes: [UInt8]
            if let cached = cache[canonical] {
                bytes = cached
            } else {
                switch InputFile.read(match, limit: KeepalivedLexer.maxFileSize) {
                case .success(let b): bytes = b
                case .failure(let f):
                    diagnostics.append(Diagnostic(
                        .error, file: file, path: kind, line: line,
                        message: "include \(excerpt: match): \(f.message)", hint: f.hint))
                    continue
                }
                cache[canonical] = bytes
            }
            expansions += 1
            let tooMany = expansions > KeepalivedLexer.maxExpansions
            if tooMany || totalSize + bytes.count > KeepalivedLexer.maxTotalSize {
                if !totalSizeReported {
                    totalSizeReported = true
                    let what = tooMany
                        ? "more than \(KeepalivedLexer.maxExpansions) include expansions"
                        : "more than \(KeepalivedLexer.maxTotalSize >> 20) MiB"
                    diagnostics.append(Diagnostic(
                        .error, file: file, path: kind, line: line,
                        message: "include \(excerpt: match): the configuration and its includes expand to \(what); the rest is not read",
                        hint: "a file included from many blocks, or includes that include each other many times over, multiply the text; include each file once"))
                }
                return
            }
            lex(bytes: bytes, file: match, canonical: canonical)
        }
    }

    /// Splits a decommented line at braces outside quotes and tokenises each piece.
    private mutating func splitStatements(_ line: [UInt8], file: String, line lineNo: Int) {
        if !line.contains(where: { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") }) {
            flush(line[...], file: file, line: lineNo)
            return
        }
        var pieceStart = 0
        var quote = false
        for (i, c) in line.enumerated() {
            if c == UInt8(ascii: "\"") { quote.toggle() }
            if !quote && (c == UInt8(ascii: "{") || c == UInt8(ascii: "}")) {
                flush(line[pieceStart..<i], file: file, line: lineNo)
                pieceStart = i + 1
                statements.append(KeepalivedStatement(words: [c == UInt8(ascii: "{") ? "{" : "}"], file: file, line: lineNo))
                if c == UInt8(ascii: "{") { braceDepth += 1 } else if braceDepth > 0 { braceDepth -= 1 }
            }
        }
        flush(line[pieceStart...], file: file, line: lineNo)
    }

    private mutating func flush(_ piece: ArraySlice<UInt8>, file: String, line: Int) {
        let words = KeepalivedLexer.words(piece)
        if !words.isEmpty {
            statements.append(KeepalivedStatement(words: words, file: file, line: line))
        }
    }

    /// Whitespace-separated words; `"..."` is one word without its quotes. An unmatched quote ends
    /// the line (keepalived reports it and drops the rest).
    static func words(_ s: ArraySlice<UInt8>) -> [String] {
        var result: [String] = []
        var i = s.startIndex
        let end = s.endIndex
        while i < end {
            while i < end, isSpace(s[i]) { i += 1 }
            if i >= end { break }
            if s[i] == UInt8(ascii: "\"") {
                guard let close = s[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")) else { break }
                result.append(string(s[(i + 1)..<close]))
                i = close + 1
            } else {
                var j = i
                while j < end, !isSpace(s[j]), s[j] != UInt8(ascii: "\"") { j += 1 }
                result.append(string(s[i..<j]))
                i = j
            }
        }
        return result
    }

    /// keepalived's white space (`WHITE_SPACE` in `lib/parser.c`): space, tab, CR, VT, FF (and LF).
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi && isSpace(s[lo]) { lo += 1 }
        while hi > lo && isSpace(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    static func string(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "" }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }

    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else {
            return URL(fileURLWithPath: path).standardizedFileURL.path
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Expands a glob pattern; results sorted, as glob(3) returns them.
    static func expandGlob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, Int32(GLOB_BRACE | GLOB_MARK), nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i], let s = String(validatingCString: p), !s.hasSuffix("/") {
                out.append(s)
            }
        }
        return out
    }
}
