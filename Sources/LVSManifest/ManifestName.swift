/// The rule for manifest and service names, and names derived from file names.
///
/// A name is safe in file names, URLs and log lines: letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit, at most `maxLength` characters.
public enum ManifestName {
    public static let maxLength = 63

    /// What a name may hold, for hints.
    public static let rule = "use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters"

    public static func isValid(_ s: String) -> Bool {
        var count = 0
        for u in s.unicodeScalars {
            count += 1
            if count > maxLength || !allowed(u, first: count == 1) { return false }
        }
        return count > 0
    }

    /// The manifest name an import of `path` gets: the file's name without its directory and
    /// extension, with every character a name cannot hold replaced by `-` (runs collapsed), and
    /// cut to `maxLength`. `/etc/keepalived/site-a.conf` → `site-a`. nil when nothing usable is
    /// left (`-`, `.conf`): the caller must then ask for a name.
    public static func derived(fromPath path: String) -> String? {
        var base = Substring(path)
        while base.hasSuffix("/") { base = base.dropLast() }
        if let slash = base.lastIndex(of: "/") { base = base[base.index(after: slash)...] }
        if let dot = base.lastIndex(of: "."), dot != base.startIndex { base = base[..<dot] }
        var out = String.UnicodeScalarView()
        for u in base.unicodeScalars {
            if out.count == maxLength { break }
            if allowed(u, first: out.isEmpty) {
                out.append(u)
            } else if !out.isEmpty && out.last != "-" {
                out.append("-")
            }
        }
        while let last = out.last, last == "-" || last == "." || last == "_" { out.removeLast() }
        let name = String(out)
        return isValid(name) ? name : nil
    }

    static func allowed(_ u: Unicode.Scalar, first: Bool) -> Bool {
        let alnum = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9")
        return first ? alnum : alnum || u == "-" || u == "_" || u == "."
    }
}
