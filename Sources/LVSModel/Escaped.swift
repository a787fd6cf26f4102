/// Text from inputs made safe to print on an operator's terminal, and short enough to read.
///
/// Inputs (a manifest, a keepalived.conf, an ipvsadm dump, a file name) can hold control
/// characters: an ESC sequence in a scheduler name would clear the screen or set the terminal's
/// title when a diagnostic quotes it. Every diagnostic's description goes through `text(_:)`,
/// and messages quote input values through `excerpt(_:)` (bounded: a 10 MB field is quoted as
/// its first 80 characters).
public enum Escaped {
    /// The longest excerpt of an input value a message quotes, in characters.
    public static let excerptLimit = 80

    /// `s` with every control character written as `\u{XX}`: C0 controls (tab and newline
    /// included), DEL, C1 controls, the line and paragraph separators and the bidirectional
    /// overrides (which reorder what the terminal shows). Everything else is unchanged.
    public static func text(_ s: String) -> String {
        // Every scalar that needs escaping has a UTF-8 form starting with a byte below 0x20, 0x7F,
        // 0xC2 (C1 controls) or 0xE2 (the separators and overrides): most texts have none.
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }),
            s.unicodeScalars.contains(where: needsEscape)
        else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if needsEscape(u) {
                out.append(contentsOf: "\\u{\(String(u.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// `text(_:)` for text of several lines: line feeds and tabs stay, every other control
    /// character is escaped.
    public static func lines(_ s: String) -> String {
        guard s.utf8.contains(where: { ($0 < 0x20 && $0 != 0x0A && $0 != 0x09) || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 })
        else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u != "\n" && u != "\t" && needsEscape(u) {
                out.append(contentsOf: "\\u{\(String(u.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// At most `limit` characters of `s` (escaped as `text` does), with `…` when cut: for quoting
    /// an input value in a message.
    public static func excerpt(_ s: some StringProtocol, limit: Int = excerptLimit) -> String {
        if s.utf8.count <= limit { return text(String(s)) }  // no more scalars than bytes
        var end = s.unicodeScalars.startIndex
        var count = 0
        while end != s.unicodeScalars.endIndex && count < limit {
            s.unicodeScalars.formIndex(after: &end)
            count += 1
        }
        var head = String.UnicodeScalarView()
        head.append(contentsOf: s.unicodeScalars[s.unicodeScalars.startIndex..<end])
        let text = String(head)
        return end == s.unicodeScalars.endIndex ? Escaped.text(text) : Escaped.text(text) + "…"
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}

extension DefaultStringInterpolation {
    /// `"unknown scheduler '\(excerpt: name)'"`: the value escaped and cut to
    /// `Escaped.excerptLimit` characters (see `Escaped.excerpt`).
    public mutating func appendInterpolation(excerpt value: some StringProtocol) {
        appendLiteral(Escaped.excerpt(value))
    }
}
