import Foundation
import LVSSocket

/// Runs a program as `PROGRAM TYPE NAME STATE`, like keepalived's notify scripts.
///
/// For example `notify.sh REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN` or
/// `notify.sh SERVICE tcp/10.0.0.1:80 QUORUM_LOST`. The program inherits the daemon's
/// environment plus:
///
/// | Variable | Example |
/// |---|---|
/// | `LVSCTL_KIND` | `realServerDown` |
/// | `LVSCTL_TYPE`, `LVSCTL_NAME`, `LVSCTL_STATE` | the three arguments |
/// | `LVSCTL_SERVICE` | `tcp/10.0.0.1:80` (empty when not applicable) |
/// | `LVSCTL_SERVICE_NAME` | `web-http` |
/// | `LVSCTL_REALSERVER` | `10.0.0.11:80` |
/// | `LVSCTL_MANIFEST` | `web` |
/// | `LVSCTL_MESSAGE` | `connect refused` |
/// | `LVSCTL_TIMESTAMP` | `2026-11-25T16:07:59Z` (ISO 8601, UTC) |
///
/// A non-zero exit, or still running after `timeout` seconds (then SIGTERM, and SIGKILL half a
/// second later), counts as a failed delivery. Standard input is empty; output is discarded.
public struct ExecHookSink: NotificationSink {
    public var config: ExecHookConfig
    public var name: String { "exec" }
    public var operatorActions: Bool { config.operatorActions }

    public init(config: ExecHookConfig) {
        self.config = config
    }

    public static func arguments(for n: Notification) -> [String] { [n.type, n.name, n.state] }

    public static func environment(for n: Notification) -> [String: String] {
        [
            "LVSCTL_KIND": n.kind.rawValue,
            "LVSCTL_TYPE": n.type,
            "LVSCTL_NAME": n.name,
            "LVSCTL_STATE": n.state,
            "LVSCTL_SERVICE": n.service ?? "",
            "LVSCTL_SERVICE_NAME": n.serviceName ?? "",
            "LVSCTL_REALSERVER": n.realServer ?? "",
            "LVSCTL_MANIFEST": n.manifest ?? "",
            "LVSCTL_MESSAGE": n.message,
            "LVSCTL_TIMESTAMP": iso8601(n.timestamp),
        ]
    }

    public func send(_ notification: Notification) async throws {
        guard FileManager.default.isExecutableFile(atPath: config.path) else {
            throw DeliveryError("notify hook \(config.path) is not an executable file; fix notify.exec.path in the daemon config")
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in Self.environment(for: notification) { env[k] = v }
        let outcome = await runProgram(
            path: config.path, arguments: Self.arguments(for: notification), environment: env, timeout: config.timeout)
        switch outcome {
        case .exited(0): return
        case .exited(let status): throw DeliveryError("notify hook \(config.path) exited with status \(status)")
        case .signalled(let sig): throw DeliveryError("notify hook \(config.path) was killed by signal \(sig)")
        case .timedOut: throw DeliveryError("notify hook \(config.path) still running after \(formatSeconds(config.timeout)) s; it was killed")
        case .failedToStart(let why): throw DeliveryError("cannot run notify hook \(config.path): \(why)")
        }
    }
}

func iso8601(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: date)
}
