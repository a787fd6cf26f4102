/// One problem found in an input (a manifest, a keepalived.conf, an ipvsadm dump), with where it
/// is and what to do about it. Validation and import collect these instead of stopping at the first.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    /// The file the problem is in (`-` for standard input), if any.
    public var file: String?
    /// The JSON path (`services[2].realServers[0].weight`) or a directive name; "" for the whole input.
    public var path: String
    /// 1-based line and column, where known.
    public var line: Int?
    public var column: Int?
    /// What is wrong.
    public var message: String
    /// What to do about it.
    public var hint: String?

    public init(
        _ severity: Severity, file: String? = nil, path: String = "", line: Int? = nil,
        column: Int? = nil, message: String, hint: String? = nil
    ) {
        self.severity = severity
        self.file = file
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    /// `web.json:12:18: error: services[0].realServers[1].weight: 70000 is out of range (0-65535); use a weight from 0 to 65535`
    ///
    /// Every part is escaped (`Escaped.text`: no control character from an input reaches the
    /// terminal) and bounded to `Diagnostic.partLimit` characters, however a message was built.
    public var description: String {
        var where_ = file.map(Diagnostic.bounded) ?? "<input>"
        if let line {
            where_ += ":\(line)"
            if let column { where_ += ":\(column)" }
        }
        var s = "\(where_): \(severity.rawValue): "
        if !path.isEmpty { s += "\(Diagnostic.bounded(path)): " }
        s += Diagnostic.bounded(message)
        if let hint { s += "; \(Diagnostic.bounded(hint))" }
        return s
    }

    /// The longest file, path, message or hint a description shows, in characters. Messages
    /// quote input values as `Escaped.excerpt`s; this bounds whatever slipped through.
    public static let partLimit = 1000

    static func bounded(_ s: String) -> String { Escaped.excerpt(s, limit: partLimit) }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
    public var errors: [Diagnostic] { filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { filter { $0.severity == .warning } }
}
