import LVSModel

/// Collects diagnostics for one input file while a manifest is decoded.
final class DiagnosticCollector {
    let file: String
    private(set) var items: [Diagnostic] = []

    init(file: String) { self.file = file }

    var errorCount: Int { items.reduce(0) { $0 + ($1.severity == .error ? 1 : 0) } }

    func error(_ path: String, _ position: SourcePosition?, _ message: String, hint: String? = nil) {
        add(.error, path, position, message, hint)
    }

    func warning(_ path: String, _ position: SourcePosition?, _ message: String, hint: String? = nil) {
        add(.warning, path, position, message, hint)
    }

    func add(_ severity: Diagnostic.Severity, _ path: String, _ position: SourcePosition?, _ message: String, _ hint: String?) {
        items.append(Diagnostic(
            severity, file: file, path: path, line: position?.line, column: position?.column,
            message: message, hint: hint))
    }

    /// Adds diagnostics another collector gathered, keeping their order.
    func append(_ more: [Diagnostic]) {
        items.append(contentsOf: more)
    }

    /// Diagnostics in source order (position-less ones last), errors before warnings at one spot.
    var sorted: [Diagnostic] {
        items.enumerated().sorted { a, b in
            let la = a.element.line ?? Int.max, lb = b.element.line ?? Int.max
            if la != lb { return la < lb }
            let ca = a.element.column ?? Int.max, cb = b.element.column ?? Int.max
            if ca != cb { return ca < cb }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// Edit distance, for "did you mean" suggestions on unknown field and enum names.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.lowercased().unicodeScalars), y = Array(b.lowercased().unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count)
    var cur = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        cur[0] = i
        for j in 1...y.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[y.count]
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
func closest(_ word: String, in candidates: [String]) -> String? {
    // No candidate is this long, so none is a plausible typo of it; and the edit distance is
    // quadratic: a megabyte-long word must not reach it.
    guard word.utf8.count <= 64 else { return nil }
    var best: (String, Int)? = nil
    for c in candidates {
        let d = editDistance(word, c)
        if let b = best, b.1 <= d { continue }
        best = (c, d)
    }
    guard let (name, d) = best else { return nil }
    let limit = max(2, min(word.count, name.count) / 3)
    return d <= limit ? name : nil
}

/// A JSON path one level down: `services[2]` + `weight` → `services[2].weight`.
func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
