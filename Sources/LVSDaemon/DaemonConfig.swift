public import Foundation
public import LVSModel
import LVSManifest
public import LVSNotify

/// The daemon's settings, read from a JSON file (`--config`, default `/etc/lvsctl/daemon.json`;
/// `make install` writes one with the defaults). The CLI reads the same file for the sinks of
/// operator-action notifications.
///
/// Every key is optional; unknown keys, wrong types and values out of range are errors naming
/// the file, line, column and JSON path (``ConfigReader``), and a missing file is an error. Each
/// key, its unit, range, default and keepalived equivalent is in `Manifests/REFERENCE.md`, and
/// the keys are those of `Manifests/lvsctl-daemon-v1.schema.json` (``Keys``; a test keeps the
/// three in step).
public struct DaemonConfig: Hashable, Sendable {
    /// Seconds between reconcile passes when nothing triggers one sooner.
    public var interval: Double
    /// Random extra delay, as a fraction of the interval (0.1 = up to 10 % later).
    public var jitter: Double
    /// The longest wait between passes after consecutive failures (exponential backoff).
    public var maxBackoff: Double
    /// Whether manifests may use `exec` health checks. Off by default.
    public var allowExecChecks: Bool
    /// `HOST:PORT` of the Prometheus endpoint; an empty string disables it.
    public var metricsAddress: String
    /// The most health probes in flight at once.
    public var maxConcurrentProbes: Int
    /// Seconds to wait for the writer lock when another lvsctl is applying.
    public var lockTimeout: Double
    /// Where notifications go.
    public var notify: NotifyConfig

    public static let defaultPath = "/etc/lvsctl/daemon.json"

    public init(
        interval: Double = 10, jitter: Double = 0.1, maxBackoff: Double = 300, allowExecChecks: Bool = false,
        metricsAddress: String = "127.0.0.1:9470", maxConcurrentProbes: Int = 16, lockTimeout: Double = 10,
        notify: NotifyConfig = NotifyConfig()
    ) {
        self.interval = interval
        self.jitter = jitter
        self.maxBackoff = maxBackoff
        self.allowExecChecks = allowExecChecks
        self.metricsAddress = metricsAddress
        self.maxConcurrentProbes = maxConcurrentProbes
        self.lockTimeout = lockTimeout
        self.notify = notify
    }

    /// The keys of each object of `daemon.json`, by JSON path ("" is the top level). The one list
    /// the reader, the schema test and the reference test use.
    public enum Keys {
        public static let top = [
            "interval", "jitter", "maxBackoff", "allowExecChecks", "metricsAddress", "maxConcurrentProbes", "lockTimeout",
            "notify",
        ]
        public static let notify = ["exec", "webhook", "smtp"]
        public static let exec = ["path", "timeout", "operatorActions"]
        public static let webhook = ["url", "headers", "timeout", "operatorActions"]
        public static let smtp = ["host", "port", "from", "to", "heloName", "subjectPrefix", "timeout", "operatorActions"]
        public static let byPath: [String: [String]] = [
            "": top, "notify": notify, "notify.exec": exec, "notify.webhook": webhook, "notify.smtp": smtp,
        ]
    }

    /// Ranges of the numbers (seconds unless said otherwise).
    public enum Ranges {
        public static let interval: ClosedRange<Double> = 0.1...86_400
        public static let jitter: ClosedRange<Double> = 0...1
        public static let maxBackoff: ClosedRange<Double> = 0.1...86_400
        public static let maxConcurrentProbes: ClosedRange<Int64> = 1...4096
        public static let lockTimeout: ClosedRange<Double> = 0...86_400
        public static let sinkTimeout: ClosedRange<Double> = 0.001...3600
        public static let smtpPort: ClosedRange<Int64> = 1...65_535
    }

    /// A config error: every diagnostic, each naming the file, place and what to fix.
    public struct LoadError: Error, CustomStringConvertible {
        public var diagnostics: [Diagnostic]
        public var description: String

        init(_ text: String) {
            diagnostics = []
            description = text
        }

        init(diagnostics: [Diagnostic], path: String) {
            self.diagnostics = diagnostics
            let n = diagnostics.errors.count
            description = (diagnostics.map(\.description) + ["\(path): \(n) error\(n == 1 ? "" : "s") in the daemon config"])
                .joined(separator: "\n")
        }
    }

    /// Reads and checks `path`. A missing file is an error (`make install` writes one with the
    /// defaults; `{}` also means every default).
    public static func load(path: String) throws -> DaemonConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadError(
                "\(path): no daemon config; write one (`{}` means every default; `make install` installs one with the defaults, see Manifests/REFERENCE.md) or give --config")
        }
        // Through InputFile: a FIFO or a device at the path is refused, never read forever.
        let bytes: [UInt8]
        switch InputFile.read(path, limit: 1 << 20) {
        case .success(let b): bytes = b
        case .failure(let f): throw LoadError("\(path): cannot read the daemon config: \(f.message); \(f.hint)")
        }
        return try parse(bytes, file: path)
    }

    /// Parses daemon config text; `file` names it in diagnostics.
    public static func parse(_ bytes: [UInt8], file: String) throws -> DaemonConfig {
        let reader = ConfigReader(bytes, file: file, what: "the daemon config", known: Keys.top)
        var config = DaemonConfig()
        if let r = reader.root { config.read(r, reader) }
        let diagnostics = reader.diagnostics
        if diagnostics.hasErrors { throw LoadError(diagnostics: diagnostics, path: file) }
        return config
    }

    private mutating func read(_ r: ConfigObject, _ reader: ConfigReader) {
        if let v = r.seconds("interval", Ranges.interval, hint: "seconds between passes, 0.1 to 86400") { interval = v }
        if let v = r.number("jitter", Ranges.jitter, unit: "a fraction of the interval", hint: "0.1 delays a pass by up to 10 % of the interval") {
            jitter = v
        }
        if let v = r.seconds("maxBackoff", Ranges.maxBackoff, hint: "the longest wait after failed passes, 0.1 to 86400 seconds") {
            maxBackoff = v
        }
        if maxBackoff < interval, r.has("maxBackoff") {
            reader.error(r, "maxBackoff", "maxBackoff \(maxBackoff) s is shorter than interval \(interval) s",
                         hint: "the backoff after a failure never waits less than the interval; raise maxBackoff")
        }
        if let v = r.bool("allowExecChecks") { allowExecChecks = v }
        if let v = r.string("metricsAddress", hint: "HOST:PORT, e.g. 127.0.0.1:9470; \"\" turns metrics off") {
            if !v.isEmpty, MetricsAddress(v) == nil {
                reader.error(r, "metricsAddress", "\(v) is not HOST:PORT", hint: "e.g. 127.0.0.1:9470 or [::1]:9470; \"\" turns metrics off")
            } else {
                metricsAddress = v
            }
        }
        if let v = r.integer("maxConcurrentProbes", Ranges.maxConcurrentProbes, hint: "probes in flight at once, 1 to 4096") {
            maxConcurrentProbes = Int(v)
        }
        if let v = r.seconds("lockTimeout", Ranges.lockTimeout, hint: "seconds to wait for the writer lock, 0 to 86400") { lockTimeout = v }
        if let n = r.object("notify", what: "notify", known: Keys.notify) { notify = Self.readNotify(n, reader) }
    }

    private static func readNotify(_ n: ConfigObject, _ reader: ConfigReader) -> NotifyConfig {
        var out = NotifyConfig()
        if let e = n.object("exec", what: "the exec sink", known: Keys.exec) {
            let path = e.string("path", required: true, hint: "the program to run, e.g. \"/etc/lvsctl/notify.sh\"")
            if let path, !path.hasPrefix("/") {
                reader.error(e, "path", "\(path) is not an absolute path", hint: "give the program's absolute path")
            }
            var sink = ExecHookConfig(path: path ?? "")
            if let t = e.seconds("timeout", Ranges.sinkTimeout, hint: "seconds before the program is killed, 0.001 to 3600") { sink.timeout = t }
            if let a = e.bool("operatorActions") { sink.operatorActions = a }
            out.exec = sink
        }
        if let w = n.object("webhook", what: "the webhook sink", known: Keys.webhook) {
            let text = w.string("url", required: true, hint: "an http:// or https:// URL")
            var url: URL?
            if let text {
                url = URL(string: text)
                if url == nil || !["http", "https"].contains(url?.scheme?.lowercased() ?? "") || url?.host == nil {
                    reader.error(w, "url", "\(text) is not an http:// or https:// URL", hint: "e.g. https://chat.example.com/hooks/lvsctl")
                    url = nil
                }
            }
            var sink = WebhookConfig(url: url ?? URL(string: "http://invalid.invalid/")!)
            if let h = w.stringMap("headers", hint: "header names and their string values, e.g. {\"Authorization\": \"Bearer …\"}") { sink.headers = h }
            if let t = w.seconds("timeout", Ranges.sinkTimeout, hint: "seconds for the whole request, 0.001 to 3600") { sink.timeout = t }
            if let a = w.bool("operatorActions") { sink.operatorActions = a }
            out.webhook = sink
        }
        if let m = n.object("smtp", what: "the smtp sink", known: Keys.smtp) {
            let host = m.string("host", required: true, hint: "the SMTP relay's host name or address")
            let from = m.string("from", required: true, hint: "the sender address")
            let to = m.strings("to", required: true, hint: "the recipients, e.g. [\"ops@example.com\"]")
            if let to, to.isEmpty { reader.error(m, "to", "no recipient", hint: "list at least one address") }
            var sink = SMTPConfig(host: host ?? "", from: from ?? "", to: to ?? [])
            if let p = m.integer("port", Ranges.smtpPort, hint: "a TCP port, 1 to 65535") { sink.port = UInt16(p) }
            if let h = m.string("heloName", hint: "the name sent with EHLO") { sink.heloName = h }
            if let s = m.string("subjectPrefix", hint: "the start of every Subject line") { sink.subjectPrefix = s }
            if let t = m.seconds("timeout", Ranges.sinkTimeout, hint: "seconds for the whole SMTP session, 0.001 to 3600") { sink.timeout = t }
            if let a = m.bool("operatorActions") { sink.operatorActions = a }
            out.smtp = sink
        }
        return out
    }
}

/// `HOST:PORT` or `[V6]:PORT`.
public struct MetricsAddress: Hashable, Sendable {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}
