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
public struct KeepalivedLexer {
    public private(set) var statements: [KeepalivedStatement] = []
    public private(set) var diagnostics: [Diagnostic] = []
    /// Every file read, in order (the top file first).
    public private(set) var filesRead: [String] = []

    /// Files larger than this are refused; keepalived.conf files are small.
    static let maxFileSize = 16 << 20
    /// Include nesting deeper than this is reported as an error (keepalived has no limit, but
    /// anything this deep is a mistake).
    static let maxIncludeDepth = 32

    private var includeStack: [String] = []

    public init() {}

    /// Lexes one file from disk, following includes.
    public mutating func lex(path: String) {
        let display = path
        let canonical = KeepalivedLexer.canonicalPath(path)
        guard let text = KeepalivedLexer.readText(path) else {
            diagnostics.append(Diagnostic(
                .error, file: display, message: "cannot read \(path)",
                hint: "check the path and its permissions"))
            return
        }
        lex(text: text, file: display, canonical: canonical)
    }

    /// Lexes text that came from `file` (used as the base directory for includes).
    public mutating func lex(text: String, file: String) {
        lex(text: text, file: file, canonical: KeepalivedLexer.canonicalPath(file))
    }

    private mutating func lex(text: String, file: String, canonical: String) {
        filesRead.append(file)
        includeStack.append(canonical)
        defer { includeStack.removeLast() }
        let baseDir = (file as NSString).deletingLastPathComponent
        var lineNo = 0
        // Split on \n only; strip a trailing \r as keepalived does.
        for rawSub in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            var raw = String(rawSub)
            while raw.hasSuffix("\r") { raw.removeLast() }
            if raw.contains("\0") {
                diagnostics.append(Diagnostic(
                    .error, file: file, line: lineNo,
                    message: "the line contains a NUL byte; keepalived ignores such lines",
                    hint: "remove the NUL bytes"))
                continue
            }
            var line = decomment(raw, file: file, line: lineNo)
            if line.isEmpty { continue }
            // Conditional lines: without `-i config_id`, `@id` lines are skipped, `@^id` kept.
            if line.hasPrefix("@") {
                let reverse = line.hasPrefix("@^")
                guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { continue }
                let id = String(line[line.index(line.startIndex, offsetBy: reverse ? 2 : 1)..<space])
                if reverse {
                    line = String(line[space...]).trimmingCharacters(in: .whitespaces)
                } else {
                    diagnostics.append(Diagnostic(
                        .warning, file: file, line: lineNo,
                        message: "line for config id '\(id)' skipped (keepalived skips it unless started with -i \(id))",
                        hint: "remove the @\(id) prefix if this director should use the line"))
                    continue
                }
                if line.isEmpty { continue }
            }
            if line.hasPrefix("$") {
                diagnostics.append(Diagnostic(
                    .error, file: file, line: lineNo,
                    message: "parameter definitions ($NAME=...) are not supported by the importer",
                    hint: "expand the parameters by hand before importing"))
                continue
            }
            if line.hasPrefix("~SEQ") || line.hasPrefix("~LST") {
                diagnostics.append(Diagnostic(
                    .error, file: file, line: lineNo,
                    message: "\(line.prefix(4)) sequences are not supported by the importer",
                    hint: "expand the sequence by hand before importing"))
                continue
            }
            if let (pattern, kind) = KeepalivedLexer.includeDirective(line) {
                include(pattern: pattern, kind: kind, baseDir: baseDir, file: file, line: lineNo)
                continue
            }
            splitStatements(line, file: file, line: lineNo)
        }
    }

    /// Removes comments and surrounding whitespace; `\#` and `\!` outside quotes become literal.
    private mutating func decomment(_ s: String, file: String, line: Int) -> String {
        var out = ""
        var quote = false
        var chars = Array(s.drop(while: { $0 == " " || $0 == "\t" }))
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\"" {
                quote.toggle()
                out.append(c)
            } else if c == "\\" && i + 1 < chars.count {
                if !quote && (chars[i + 1] == "#" || chars[i + 1] == "!") {
                    out.append(chars[i + 1])
                } else {
                    out.append(c)
                    out.append(chars[i + 1])
                }
                i += 1
            } else if !quote && (c == "#" || c == "!") {
                break
            } else {
                out.append(c)
            }
            i += 1
        }
        chars = []
        if quote {
            diagnostics.append(Diagnostic(
                .error, file: file, line: line, message: "unterminated quote",
                hint: "close the double quote on the same line"))
        }
        while let last = out.last, last == " " || last == "\t" { out.removeLast() }
        return out
    }

    /// `include PATTERN` (and the `includer`/`includem`/`includew`/`includeb`/`includea` forms).
    static func includeDirective(_ line: String) -> (String, String)? {
        guard line.hasPrefix("include") else { return nil }
        if line == "include" { return ("", "include") }
        let rest = line.dropFirst(7)
        guard let first = rest.first else { return nil }
        if first == " " || first == "\t" {
            return (rest.trimmingCharacters(in: .whitespaces), "include")
        }
        let afterKind = rest.dropFirst()
        if "rmwba".contains(first), let second = afterKind.first, second == " " || second == "\t" {
            return (afterKind.trimmingCharacters(in: .whitespaces), "include\(first)")
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
                    ? "include \(pattern): no file matches"
                    : "include \(pattern): file not found (\(full))",
                hint: hasWildcard ? nil : "fix the path; keepalived skips a missing include file"))
            return
        }
        for match in matches {
            let canonical = KeepalivedLexer.canonicalPath(match)
            if includeStack.contains(canonical) {
                diagnostics.append(Diagnostic(
                    .error, file: file, path: kind, line: line,
                    message: "include cycle: \(match) is already being read (\(includeStack.joined(separator: " → ")))",
                    hint: "remove the include that leads back to an including file"))
                continue
            }
            if includeStack.count >= KeepalivedLexer.maxIncludeDepth {
                diagnostics.append(Diagnostic(
                    .error, file: file, path: kind, line: line,
                    message: "includes nested deeper than \(KeepalivedLexer.maxIncludeDepth) levels",
                    hint: "flatten the include structure"))
                return
            }
            guard let text = KeepalivedLexer.readText(match) else {
                diagnostics.append(Diagnostic(
                    .error, file: file, path: kind, line: line,
                    message: "include \(pattern): cannot read \(match)",
                    hint: "check the file's permissions"))
                continue
            }
            lex(text: text, file: match, canonical: canonical)
        }
    }

    /// Splits a decommented line at braces outside quotes and tokenises each piece.
    private mutating func splitStatements(_ line: String, file: String, line lineNo: Int) {
        var piece = ""
        var quote = false
        func flush(_ s: String, into lexer: inout KeepalivedLexer) {
            let words = lexer.words(s, file: file, line: lineNo)
            if !words.isEmpty {
                lexer.statements.append(KeepalivedStatement(words: words, file: file, line: lineNo))
            }
        }
        for c in line {
            if c == "\"" { quote.toggle() }
            if !quote && (c == "{" || c == "}") {
                flush(piece, into: &self)
                piece = ""
                statements.append(KeepalivedStatement(words: [String(c)], file: file, line: lineNo))
                continue
            }
            piece.append(c)
        }
        flush(piece, into: &self)
    }

    /// Whitespace-separated words; `"..."` is one word without its quotes. An unmatched quote ends
    /// the line (keepalived reports it and drops the rest).
    private func words(_ s: String, file: String, line: Int) -> [String] {
        var result: [String] = []
        let chars = Array(s)
        var i = 0
        while i < chars.count {
            while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
            if i >= chars.count { break }
            if chars[i] == "\"" {
                guard let close = chars[(i + 1)...].firstIndex(of: "\"") else { break }
                result.append(String(chars[(i + 1)..<close]))
                i = close + 1
            } else {
                var j = i
                while j < chars.count, chars[j] != " ", chars[j] != "\t", chars[j] != "\"" { j += 1 }
                result.append(String(chars[i..<j]))
                i = j
            }
        }
        return result
    }

    static func readText(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maxFileSize + 1), data.count <= maxFileSize else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func canonicalPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath()
        return url.path
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
