import Foundation
import LVSModel
public import LVSNotify

/// The daemon's settings, read from a JSON file (`--config`, default `/etc/lvsctl/daemon.json`).
///
/// Every key is optional; a missing file means all defaults. Example:
///
/// ```json
/// {
///   "interval": 10,
///   "allowExecChecks": false,
///   "metricsAddress": "127.0.0.1:9470",
///   "notify": { "exec": { "path": "/etc/lvsctl/notify.sh", "timeout": 10 } }
/// }
/// ```
public struct DaemonConfig: Hashable, Sendable, Codable {
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

    enum CodingKeys: String, CodingKey {
        case interval, jitter, maxBackoff, allowExecChecks, metricsAddress, maxConcurrentProbes, lockTimeout, notify
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DaemonConfig()
        interval = try c.decodeIfPresent(Double.self, forKey: .interval) ?? d.interval
        jitter = try c.decodeIfPresent(Double.self, forKey: .jitter) ?? d.jitter
        maxBackoff = try c.decodeIfPresent(Double.self, forKey: .maxBackoff) ?? d.maxBackoff
        allowExecChecks = try c.decodeIfPresent(Bool.self, forKey: .allowExecChecks) ?? d.allowExecChecks
        metricsAddress = try c.decodeIfPresent(String.self, forKey: .metricsAddress) ?? d.metricsAddress
        maxConcurrentProbes = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentProbes) ?? d.maxConcurrentProbes
        lockTimeout = try c.decodeIfPresent(Double.self, forKey: .lockTimeout) ?? d.lockTimeout
        notify = try c.decodeIfPresent(NotifyConfig.self, forKey: .notify) ?? d.notify
    }

    /// A config error that names the file and what to fix.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads `path`; a missing file gives the defaults.
    public static func load(path: String) throws -> DaemonConfig {
        guard FileManager.default.fileExists(atPath: path) else { return DaemonConfig() }
        // Through InputFile: a FIFO or a device at the path is refused, never read forever.
        let data: Data
        switch InputFile.read(path, limit: 1 << 20) {
        case .success(let bytes): data = Data(bytes)
        case .failure(let f): throw LoadError(description: "\(path): cannot read the daemon config: \(f.message); \(f.hint)")
        }
        let config: DaemonConfig
        do {
            config = try JSONDecoder().decode(DaemonConfig.self, from: data)
        } catch {
            throw LoadError(description: "\(path): invalid daemon config: \(error)")
        }
        try config.validate(path: path)
        return config
    }

    func validate(path: String) throws {
        guard interval > 0, interval.isFinite else {
            throw LoadError(description: "\(path): interval must be a positive number of seconds")
        }
        guard (0...1).contains(jitter) else {
            throw LoadError(description: "\(path): jitter must be a fraction from 0 to 1")
        }
        if !metricsAddress.isEmpty, MetricsAddress(metricsAddress) == nil {
            throw LoadError(description: "\(path): metricsAddress must be HOST:PORT, e.g. 127.0.0.1:9470")
        }
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
