import Dispatch
import Foundation
import LVSDaemon
import LVSNotify

/// Tells the notification sinks that opted in (`operatorActions` in daemon.json) about an
/// operator's apply, rollback, drain, undrain or drift --fix, once per action, from the command
/// that did it: the action is known here, with its author and message, whether or not
/// `lvsctl run` is running.
///
/// What must stay true: a notification never changes the command's outcome. No daemon.json (or
/// none at `$LVSCTL_CONFIG`), or no sink that opted in, sends nothing; an unreadable config or a
/// failed delivery is a warning on standard error; each delivery is bounded by its sink's timeout.
enum OperatorActionNotice {
    /// `$LVSCTL_CONFIG`, else `lvsctl run`'s default (`/etc/lvsctl/daemon.json`).
    static var configPath: String {
        let env = ProcessInfo.processInfo.environment["LVSCTL_CONFIG"] ?? ""
        return env.isEmpty ? DaemonConfig.defaultPath : env
    }

    static func send(
        _ action: String, manifest: String? = nil, service: String? = nil, realServer: String? = nil, author: String,
        detail: String
    ) {
        let path = configPath
        guard FileManager.default.fileExists(atPath: path) else { return }
        let config: DaemonConfig
        do {
            config = try DaemonConfig.load(path: path)
        } catch {
            printError("lvsctl: warning: operator-action notification not sent: \(error)")
            return
        }
        let sinks = config.notify.makeSinks().filter(\.operatorActions)
        guard !sinks.isEmpty else { return }
        let notification = LVSNotify.Notification(
            kind: .operatorAction, service: service, realServer: realServer, manifest: manifest,
            message: "\(author) \(action): \(detail)")
        let failures: [Notifier.Failure] = (try? waitForAsync {
            let notifier = Notifier(sinks: sinks)
            await notifier.notify(notification)
            await notifier.flush()
            return await notifier.recentFailures()
        }) ?? []
        for f in failures {
            printError("lvsctl: warning: operator-action notification to \(f.sink) failed: \(f.error)")
        }
    }
}
