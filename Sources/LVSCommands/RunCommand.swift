import ArgumentParser
import Foundation
import LVSBGP
import LVSDaemon
import LVSHealth
import LVSKernel
import LVSManifest
import LVSReconciler
import LVSSocket
import LVSStore
import Logging

extension LVSCommand {
    /// `lvsctl run`: the daemon.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the control loop: reconcile, health checks, notifications, metrics.",
            discussion: """
                Reconciles every applied revision against the kernel every interval (with jitter), at once \
                when a revision is applied, a maintenance flag changes or on SIGHUP, and backs off after \
                errors. Health checks of the manifests take failed real servers out (removed, or weight 0 \
                under inhibitOnFailure; audited with origin health) and restore them on recovery, probing \
                from the --netns namespace when one is given; state changes are notified through the \
                configured sinks; Prometheus metrics are served on the metrics address at /metrics. \
                SIGTERM finishes the current pass and exits 0. The daemon config is JSON \
                (every key in Manifests/REFERENCE.md; `{}` means every default); a missing file, an \
                unknown key or a value out of range is an error naming the file, line and JSON path.

                With a vrrp section in the applied manifests (a director pair), it also creates and reads \
                keepalived's notify FIFO in --run-dir (asking keepalived for its state after every reload), \
                records each VRRP role change (audit origin vrrp, metrics lvsctl_vrrp_state and \
                lvsctl_vrrp_transitions_total, notifications INSTANCE/GROUP NAME STATE), writes the \
                maintenance track file from `lvsctl maintenance`, and keeps the readiness track file at 1 \
                (this director's instances in FAULT) until a pass has converged, every real server's \
                health is settled and every service has health quorum.

                With a bgp section in the applied manifests (directors behind ECMP), it renders this \
                node's BIRD config (--bird-config) and reconfigures BIRD through birdc: a VIP is announced \
                while every service on it is converged and at or above the health threshold and the director \
                is not in maintenance; otherwise its route drains (MED, GRACEFUL_SHUTDOWN) and is withdrawn. \
                Each change is audited (origin bgp), notified, exported as metrics (lvsctl_bgp_*) and shown \
                by lvsctl status.
                """)

        @OptionGroup var global: TargetOptions

        @OptionGroup var director: DirectorOptions

        @OptionGroup var bird: BirdOptions

        @Option(help: ArgumentHelp("The daemon config file.", valueName: "path"))
        var config: String = DaemonConfig.defaultPath

        @Option(help: ArgumentHelp("Serve metrics on HOST:PORT instead of the config's (empty: off).", valueName: "host:port"))
        var metricsAddress: String?

        @Option(help: ArgumentHelp("Seconds between passes instead of the config's.", valueName: "seconds"))
        var interval: Double?

        func validate() throws {
            if let interval { try OptionRange.check(interval, "--interval", OptionRange.interval) }
        }

        @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
        var logLevel: String = "info"

        func run() throws {
            try guarded {
                var cfg = try DaemonConfig.load(path: config)
                if let metricsAddress {
                    guard metricsAddress.isEmpty || MetricsAddress(metricsAddress) != nil else {
                        throw CLIError("--metrics-address must be HOST:PORT, e.g. 127.0.0.1:9470")
                    }
                    cfg.metricsAddress = metricsAddress
                }
                if let interval {
                    cfg.interval = interval
                }
                guard let level = Logger.Level(rawValue: logLevel) else {
                    throw CLIError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
                }
                LoggingSystem.bootstrap { label in
                    var h = StreamLogHandler.standardError(label: label)
                    h.logLevel = level
                    return h
                }
                var logger = Logger(label: "lvsctl.daemon")
                logger.logLevel = level
                // The daemon handles SIGTERM itself: it finishes the pass in progress, then stops.
                Reconciler.holdTerminationSignals = false
                // One daemon per store: held until the process ends.
                let daemonLock = try DaemonLock(databasePath: global.databasePath)
                defer { daemonLock.release() }
                let store = try global.openStore()
                let kernel = try global.openKernel()
                // Probes run in the namespace whose table the daemon changes.
                let prober = try global.namespacePath.map { path in
                    do {
                        return ProbeRunner(allowExec: cfg.allowExecChecks, namespace: try NetworkNamespace(path: path))
                    } catch let e as NetworkNamespace.Failure {
                        throw CLIError(e.description)
                    }
                }
                let bgp = BGPOptions(
                    node: director.nodeName()?.name ?? "", paths: bird.paths(), withdrawOnStop: bird.bgpOnStop == .withdraw,
                    addresses: (ProcessInfo.processInfo.environment[KernelAccess.fakeVariable] ?? "").isEmpty ? NetlinkDirectorAddresses(namespacePath: global.namespacePath) : nil)
                let daemon = try Daemon(
                    config: cfg, store: store, kernel: kernel, logger: logger, prober: prober,
                    director: director.paths(), node: director.nodeName()?.name, bgp: bgp)
                let outcome = Result { try waitForAsync { try await daemon.run() } }
                try? KernelAccess.close(kernel)
                if case .failure(let error) = outcome { throw CLIError("the daemon stopped: \(error)") }
            }
        }
    }
}
