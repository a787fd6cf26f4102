import Foundation
public import LVSHealth
public import LVSKernel
import LVSModel
import LVSReconciler
public import LVSVRRP
public import LVSNotify
public import LVSStore
public import Logging
import ServiceLifecycle
import UnixSignals

/// `lvsctl run`: the control loop, as a ``ServiceGroup`` of four services.
///
/// - Reconcile: runs a ``ReconcileEngine`` pass at start, then every `interval` seconds plus up
///   to `jitter` × interval, at once when triggered (a new revision or run, a maintenance flag,
///   a health transition, SIGHUP), and after failures with exponential backoff
///   (interval × 2ⁿ⁻¹, at most `maxBackoff`). On SIGTERM or SIGINT it finishes the pass in
///   progress (its kernel writes and their audit rows) and returns.
/// - Health: runs the ``HealthChecker`` through a ``HealthMonitor``; every transition is
///   persisted, notified and triggers a pass; after a change in the store the next result of
///   every server is persisted too (``HealthMonitor/confirmNextResults()``).
/// - Watch: polls the store every second for new revisions, runs and maintenance flags, and
///   listens for SIGHUP.
/// - Metrics: ``MetricsServer`` on the configured address.
///
/// Notifications go out on a change of state only; the last state reported per subject is kept
/// in the store (``Store/notifyStates()``), so a restarted daemon neither repeats an alert nor
/// misses a quorum regained while it was down.
///
/// Shutdown runs in reverse order: reconcile first, metrics last.
public final class Daemon: Sendable {
    public let config: DaemonConfig
    let store: Store
    let engine: SerialEngine
    let monitor: HealthMonitor
    let notifier: Notifier
    public let metrics: DaemonMetrics
    let waker = Waker()
    let shared = SharedState()
    let logger: Logger
    let onMetricsBound: (@Sendable (Int) -> Void)?
    /// The director pair's state (VRRP roles, maintenance, readiness); active only when the
    /// applied manifests have a `vrrp` section.
    public let director: DirectorState?
    /// This director's BGP announcements; nil unless `lvsctl run` was given the BGP options.
    let bgp: BGPDirector?

    /// - Parameters:
    ///   - sinks: notification sinks; default those of `config.notify`.
    ///   - prober: how health checks probe; default the real probes.
    public init(
        config: DaemonConfig, store: Store, kernel: any IPVSKernel, logger: Logger,
        sinks: [any NotificationSink]? = nil, prober: (any Prober)? = nil,
        onMetricsBound: (@Sendable (Int) -> Void)? = nil,
        director paths: DirectorPaths? = nil, node: String? = nil, bgp: BGPOptions? = nil
    ) throws {
        self.config = config
        self.store = store
        self.logger = logger
        self.onMetricsBound = onMetricsBound
        let restored = ReconcileOverlay.healthStates(try store.healthRecords())
        let checker = HealthChecker(
            config: HealthCheckerConfig(allowExec: config.allowExecChecks, maxConcurrentProbes: config.maxConcurrentProbes),
            prober: prober, logger: logger)
        monitor = HealthMonitor(checker: checker, store: store, restored: restored, logger: logger)
        // The notifier starts from what was last reported (persisted by `send`), so a restart does
        // not alert again for an unchanged state; health records fill in servers never reported.
        var initial: [String: String] = [:]
        for (key, state) in restored { initial["REALSERVER \(key.checkName)"] = state == .up ? "UP" : "DOWN" }
        let reported = try store.notifyStates()
        initial.merge(reported) { _, last in last }
        notifier = Notifier(sinks: sinks ?? config.notify.makeSinks(), initialStates: initial, logger: logger)
        let e = ReconcileEngine(
            store: store, kernel: kernel, allowExecChecks: config.allowExecChecks,
            lockTimeout: .milliseconds(Int64(config.lockTimeout * 1000)), logger: logger)
        e.restoreQuorum(ReconcileOverlay.reportedQuorum(reported))
        engine = SerialEngine(e)
        metrics = DaemonMetrics()
        self.bgp = bgp.map { BGPDirector(options: $0, store: store, logger: logger) }
        if let paths {
            let box = SendBox()
            director = DirectorState(paths: paths, node: node, store: store, logger: logger) { n in await box.daemon?.send(n) }
            box.daemon = self
        } else {
            director = nil
        }
    }

    /// Sends a notification; a state change that was sent is persisted, so that the next daemon
    /// starts from it.
    func send(_ n: LVSNotify.Notification) async {
        guard await notifier.notify(n), n.kind.isStateChange else { return }
        do {
            try store.setNotifyState(subject: n.subject, state: n.state)
        } catch {
            logger.error("cannot save the notification state", metadata: ["notify.subject": "\(n.subject)", "error": "\(error)"])
        }
    }

    /// Runs until SIGTERM or SIGINT (or until the surrounding task is cancelled).
    public func run() async throws {
        var services: [any Service] = []
        if let address = MetricsAddress(config.metricsAddress) {
            services.append(MetricsServer(
                host: address.host, port: address.port, logger: logger, onBound: onMetricsBound,
                exposition: { [self] in await exposition() }))
        }
        services.append(HealthService(daemon: self))
        services.append(WatchService(daemon: self))
        services.append(ReconcileService(daemon: self))
        // Last in the group: shut down first, so routes drain and go while IPVS still serves.
        if bgp != nil { services.append(BGPService(daemon: self)) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info(
            "lvsctl daemon starting",
            metadata: [
                "daemon.interval": "\(config.interval)", "daemon.allowExecChecks": "\(config.allowExecChecks)",
                "daemon.metrics": "\(config.metricsAddress)", "store.path": "\(store.path)",
            ])
        // What the watch service compares against: the store as it is now (else its first look
        // would start a second pass for changes the startup pass already sees).
        await shared.setSignature(try? storeSignature())
        try await configureDirector()
        try await group.run()
        await director?.stop()
        await notifier.flush()
        logger.info("lvsctl daemon stopped")
    }

    /// The current metrics text.
    public func exposition() async -> String {
        let snapshot = try? await engine.run { try $0.kernel.snapshot() }
        return metrics.exposition(
            snapshot: snapshot, health: await monitor.states(), manifests: await shared.serviceManifests())
            + (await director?.exposition() ?? "")
            + (await bgp?.exposition() ?? "")
    }

    /// Starts the director's side of the pair when the applied manifests have a `vrrp` section
    /// (at start, and after a pass that first sees one).
    func configureDirector(_ section: (manifest: String, config: VRRPConfig)?? = nil) async throws {
        guard let director else { return }
        let found: (manifest: String, config: VRRPConfig)?
        if let section { found = section } else { found = try await engine.run { try $0.vrrpSection() } }
        guard let found else { return }
        try await director.configure(manifest: found.manifest, config: found.config)
    }

    /// Re-decides the director's readiness (after a pass, and on every health tick).
    func updateReadiness() async {
        guard let director, await director.isActive else { return }
        await director.updateReadiness(unsettled: await monitor.unsettled().map(\.checkName))
    }

    /// Runs one pass now, records metrics, sends notifications and updates the health targets.
    /// - Returns: whether the pass succeeded.
    @discardableResult
    public func reconcileOnce(reason: String) async -> Bool {
        let id = ReconcileEngine.newID()
        let health = await monitor.states()
        let clock = ContinuousClock()
        let start = clock.now
        var result: ReconcileEngine.PassResult?
        var failed = false
        do {
            result = try await engine.run { try $0.pass(health: health, reconcileID: id) }
        } catch let e as ReconcileEngine.PassError {
            result = e.result
            failed = true
        } catch {
            failed = true
            logger.error("reconcile pass failed", metadata: ["reconcile.id": "\(id)", "error": "\(error)"])
            await send(LVSNotify.Notification(kind: .applyFailed, message: "reconcile pass failed: \(error)"))
        }
        let elapsed = clock.now - start
        metrics.record(result, failed: failed, duration: elapsed, at: Date())
        if let result {
            await shared.setServiceManifests(result.serviceManifests)
            await monitor.update(targets: result.targets)
            if let director, let vrrp = result.vrrp {
                do {
                    try await configureDirector(vrrp)
                } catch {
                    logger.error("cannot start the director pair's state", metadata: ["error": "\(error)"])
                }
                await director.passed(succeeded: !failed, quorum: result.quorum)
                await updateReadiness()
            }
            for n in result.notifications { await send(n) }
            if let bgp {
                let health = await monitor.states()
                for n in await bgp.passed(
                    states: result.desired, health: health, succeeded: !failed, maintenance: directorInMaintenance())
                {
                    await send(n)
                }
            }
            logger.info(
                "reconcile pass \(failed ? "failed" : "done")",
                metadata: [
                    "reconcile.id": "\(id)", "reconcile.reason": "\(reason)", "reconcile.manifests": "\(result.manifests.count)",
                    "reconcile.changes": "\(result.planSize)", "reconcile.writes": "\(result.kernelWrites)",
                    "reconcile.drift": "\(result.drift.count)", "reconcile.ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                ])
        }
        let signature = try? storeSignature()
        await shared.setSignature(signature)
        await confirmHealth(after: signature)
        return !failed
    }

    /// After the store changed (a new revision, run or flag), has the next health result of
    /// every server persisted (``HealthMonitor/confirmNextResults()``): `status` must show a
    /// check made after a new revision even of servers whose state holds.
    ///
    /// Called with every signature read (the watch's, each second, and each pass's own): a
    /// pass that reads the store right after an apply takes the change into `signature()`
    /// before the watch sees it, so the watch's comparison alone would miss it.
    func confirmHealth(after signature: String?) async {
        guard let signature, await shared.confirmNeeded(signature) else { return }
        await monitor.confirmNextResults()
    }

    /// What the watch service compares every second: runs, revisions and maintenance flags.
    func storeSignature() throws -> String {
        var s = "run:\(try store.runs(limit: 1).first?.id ?? 0)"
        for m in try store.manifests() { s += ";\(m)=\(try store.latestRevision(manifest: m)?.id ?? 0)" }
        for f in try store.maintenanceFlags() { s += ";mnt:\(f.service)/\(f.realServer.map { "\($0)" } ?? "*")" }
        return s
    }

    /// Health transitions: notify and trigger a pass.
    func healthTick() async {
        let transitions = await monitor.refresh()
        await updateReadiness()
        guard !transitions.isEmpty else { return }
        let manifests = await shared.serviceManifests()
        for t in transitions {
            await send(.realServer(
                up: t.to == .up, service: t.key.service, realServer: t.key.realServer, serviceName: t.serviceName,
                manifest: manifests[t.key.service], message: t.message))
        }
        await waker.trigger("health")
    }

    /// Waits until the notifications sent so far are delivered (tests).
    public func flushNotifications() async { await notifier.flush() }

    /// The reconcile loop.
    struct ReconcileService: Service {
        let daemon: Daemon
        func run() async throws {
            let d = daemon
            await withGracefulShutdownHandler {
                var failures = 0
                var reason = "startup"
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let ok = await d.reconcileOnce(reason: reason)
                    failures = ok ? 0 : failures + 1
                    let base = ok ? d.config.interval : min(d.config.maxBackoff, d.config.interval * pow(2, Double(failures - 1)))
                    let delay = base * (1 + Double.random(in: 0...max(d.config.jitter, 0)))
                    guard let next = await d.waker.wait(seconds: delay) else { break }
                    reason = next
                }
            } onGracefulShutdown: {
                Task { await d.waker.shutdown() }
            }
        }
    }

    /// Health checking.
    struct HealthService: Service {
        let daemon: Daemon
        func run() async throws {
            let d = daemon
            let checker = d.monitor.checker
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in checker.events { await d.healthTick() }
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(500))
                            await d.healthTick()
                        }
                    }
                    await group.next()
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                Task { await checker.stop() }
            }
        }
    }

    /// Store polling and SIGHUP.
    struct WatchService: Service {
        let daemon: Daemon
        func run() async throws {
            let d = daemon
            let hup = await UnixSignalsSequence(trapping: .sighup)
            _ = await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in hup {
                            d.logger.info("SIGHUP: reconciling now")
                            await d.waker.trigger("sighup")
                        }
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(1))
                            if let director = d.director {
                                do {
                                    try await director.syncMaintenance()
                                } catch {
                                    d.logger.error("cannot write the maintenance track file", metadata: ["error": "\(error)"])
                                }
                            }
                            guard let now = try? d.storeSignature() else { continue }
                            await d.confirmHealth(after: now)
                            if await d.shared.signature() != now {
                                await d.shared.setSignature(now)
                                await d.waker.trigger("store")
                            }
                        }
                    }
                    await group.next()
                    group.cancelAll()
                }
            }
        }
    }
}

/// Lets the director state reach the daemon's notifier (set once the daemon exists).
private final class SendBox: @unchecked Sendable {
    private let lock = NSLock()
    private weak var value: Daemon?
    var daemon: Daemon? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// Wakes the reconcile loop: a pending trigger, a timeout, or shutdown.
actor Waker {
    private var pending: String?
    private var waiter: CheckedContinuation<String?, Never>?
    private var timer: Task<Void, Never>?
    private var stopped = false

    func trigger(_ reason: String) {
        if let w = waiter {
            waiter = nil
            timer?.cancel()
            w.resume(returning: reason)
        } else if pending == nil {
            pending = reason
        }
    }

    func shutdown() {
        stopped = true
        if let w = waiter {
            waiter = nil
            timer?.cancel()
            w.resume(returning: nil)
        }
    }

    /// The reason to run a pass, or nil on shutdown.
    func wait(seconds: Double) async -> String? {
        if stopped { return nil }
        if let p = pending {
            pending = nil
            return p
        }
        return await withCheckedContinuation { c in
            waiter = c
            timer = Task { [weak self] in
                try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                if !Task.isCancelled { await self?.trigger("interval") }
            }
        }
    }
}

/// State shared between the daemon's services.
actor SharedState {
    private var manifests: [VirtualService.ID: String] = [:]
    private var sig: String?
    func serviceManifests() -> [VirtualService.ID: String] { manifests }
    func setServiceManifests(_ m: [VirtualService.ID: String]) { manifests = m }
    func signature() -> String? { sig }
    func setSignature(_ s: String?) { if let s { sig = s } }
    private var confirmed: String?
    /// Whether `s` is a store signature the health confirmation has not been asked for yet.
    func confirmNeeded(_ s: String) -> Bool {
        guard s != confirmed else { return false }
        confirmed = s
        return true
    }
}

/// Runs a ``ReconcileEngine`` on one serial dispatch queue, off the cooperative pool (its
/// store and netlink calls block).
final class SerialEngine: Sendable {
    private let engine: ReconcileEngine
    private let queue = DispatchQueue(label: "lvsctl.reconcile")

    init(_ engine: ReconcileEngine) { self.engine = engine }

    func run<T: Sendable>(_ body: @escaping @Sendable (ReconcileEngine) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            queue.async { [engine] in c.resume(with: Result { try body(engine) }) }
        }
    }
}
