public import Foundation
import LVSModel
public import LVSStore
public import LVSVRRP
public import Logging
import LVSNotify

/// One director's side of the pair, in the daemon: the VRRP roles keepalived reports, this
/// director's maintenance and its readiness, each written where keepalived reads it.
///
/// - Roles: read from the notify FIFO (``NotifyFIFOReader``); after every EOF (a keepalived
///   reload) and at start, keepalived is asked for its state (``KeepalivedStateQuery``) instead of
///   trusting silence. The view lives in one ``VRRPRoles``, seeded from the store, so a restarted
///   daemon does not report a role again. Each transition is, in this order, stored with its
///   audit row (origin `vrrp`, one transaction), counted in the metrics and notified once.
/// - Maintenance: the maintenance track file always says what the store says
///   (``syncMaintenance()``, at start and every second).
/// - Readiness: the readiness track file holds the instances in FAULT from start until
///   ``DirectorReadiness`` says the director can serve.
///
/// Nothing here is done for a store whose applied manifests have no `vrrp` section.
public actor DirectorState {
    public let paths: DirectorPaths
    public let node: String?
    let store: Store
    let logger: Logger
    let send: @Sendable (LVSNotify.Notification) async -> Void
    let query: KeepalivedStateQuery

    private var roles = VRRPRoles()
    private var manifest: String?
    private var config: VRRPConfig?
    private var reader: NotifyFIFOReader?
    private var events: AsyncStream<Event>.Continuation?
    private var consumer: Task<Void, Never>?
    private var transitionCounts: [String: Int] = [:]
    private var changedAt: [String: Date] = [:]
    private var ready: Bool?
    /// State queries answered so far (tests wait on it).
    public private(set) var queriesAnswered = 0
    private var maintenance: Bool?
    /// Delay between an EOF (or the start) and the state query, so that the lines keepalived
    /// wrote before are read first.
    let settleDelay: Duration

    enum Event: Sendable {
        case line(String)
        case eof
        case query(attempt: Int)
    }

    public init(
        paths: DirectorPaths, node: String?, store: Store, logger: Logger,
        settleDelay: Duration = .milliseconds(700),
        send: @escaping @Sendable (LVSNotify.Notification) async -> Void
    ) {
        self.paths = paths
        self.node = node
        self.store = store
        self.logger = logger
        self.send = send
        self.settleDelay = settleDelay
        self.query = KeepalivedStateQuery(pidFile: paths.keepalivedPIDFile)
    }

    /// Whether the applied manifests have a `vrrp` section (this director is one of a pair).
    public var isActive: Bool { config != nil }

    /// Takes the `vrrp` section of the applied manifests. The first time: holds the director
    /// unready, writes the maintenance file from the store, creates the FIFO, starts reading it
    /// and asks keepalived for its state.
    public func configure(manifest: String, config: VRRPConfig) async throws {
        let first = self.config == nil
        self.manifest = manifest
        self.config = config
        try? store.removeVRRPRoles(except: Set(config.instances.map(\.name)), kind: .instance)
        try? store.removeVRRPRoles(except: Set(config.syncGroups.map(\.name)), kind: .group)
        guard first else { return }
        try setReady(DirectorReadiness.Verdict(ready: false, reasons: ["the daemon is starting"]))
        try syncMaintenance()
        var instances: [String: VRRPNotification.State] = [:]
        var groups: [String: VRRPNotification.State] = [:]
        var priorities: [String: Int] = [:]
        for r in try store.vrrpRoles() {
            switch r.kind {
            case .instance:
                instances[r.name] = VRRPNotification.State(r.state)
                if let p = r.priority { priorities[r.name] = p }
            case .group: groups[r.name] = VRRPNotification.State(r.state)
            }
            changedAt[Self.key(r.kind == .group ? .group : .instance, r.name)] = r.changedAt
        }
        roles = VRRPRoles(instances: instances, groups: groups, priorities: priorities)
        try NotifyFIFOReader.create(at: paths.notifyFIFO)
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        events = continuation
        consumer = Task { [weak self] in
            for await e in stream { await self?.handle(e) }
        }
        let reader = NotifyFIFOReader(
            path: paths.notifyFIFO, onLine: { continuation.yield(.line($0)) }, onEOF: { continuation.yield(.eof) })
        reader.start()
        self.reader = reader
        logger.info(
            "director pair: reading keepalived's notify FIFO",
            metadata: ["vrrp.fifo": "\(paths.notifyFIFO)", "vrrp.manifest": "\(manifest)", "vrrp.node": "\(node ?? "-")"])
        scheduleQuery(attempt: 1, after: settleDelay)
    }

    /// Stops reading the FIFO.
    public func stop() async {
        reader?.stop()
        reader = nil
        events?.finish()
        events = nil
        await consumer?.value
        consumer = nil
    }

    private func scheduleQuery(attempt: Int, after delay: Duration) {
        guard let events else { return }
        Task {
            try? await Task.sleep(for: delay)
            events.yield(.query(attempt: attempt))
        }
    }

    private func handle(_ e: Event) async {
        switch e {
        case .line(let text):
            do {
                let n = try VRRPNotification.parse(text)
                logger.debug("vrrp notify line", metadata: ["vrrp.line": "\(n)"])
                if let t = roles.record(n) { await report([t], source: "notify FIFO") }
            } catch {
                logger.warning("\(error)")
            }
        case .eof:
            logger.info("keepalived closed the notify FIFO (reload or stop); asking it for its state")
            scheduleQuery(attempt: 1, after: settleDelay)
        case .query(let attempt):
            do {
                let answer = try await query.query()
                queriesAnswered += 1
                switch answer {
                case .notRunning:
                    let t = roles.stopAll()
                    if !t.isEmpty {
                        logger.warning("keepalived is not running: every VRRP role is STOP", metadata: ["vrrp.pidFile": "\(paths.keepalivedPIDFile)"])
                    }
                    await report(t, source: "keepalived not running")
                case .instances(let dump):
                    logger.info(
                        "keepalived answered the state query",
                        metadata: ["vrrp.instances": "\(dump.map { "\($0.name) \($0.state)" }.joined(separator: ", "))"])
                    await report(roles.learn(dump, syncGroups: config?.syncGroups ?? []), source: "keepalived state dump")
                }
            } catch {
                logger.warning("\(error)", metadata: ["vrrp.attempt": "\(attempt)"])
                if attempt < 5 { scheduleQuery(attempt: attempt + 1, after: .seconds(Double(attempt))) }
            }
        }
    }

    /// Stores, audits, counts and notifies transitions.
    private func report(_ transitions: [VRRPRoles.Transition], source: String) async {
        guard !transitions.isEmpty, let manifest else { return }
        let now = Date()
        let records = transitions.map { t in
            VRRPRoleRecord(
                kind: t.kind == .group ? .group : .instance, name: t.name, state: "\(t.to)",
                priority: t.kind == .instance ? t.priority : nil, changedAt: now)
        }
        let rows = transitions.map { t in
            let v = VRRPAuditValue.values(t)
            return (action: VRRPAuditValue.action(t.kind), before: v.before, after: v.after)
        }
        do {
            try store.recordVRRPTransitions(manifest: manifest, author: "keepalived", roles: records, rows: rows)
        } catch {
            logger.error("cannot record VRRP transitions", metadata: ["error": "\(error)"])
        }
        for t in transitions {
            let key = Self.key(t.kind, t.name)
            transitionCounts[key, default: 0] += 1
            changedAt[key] = now
            logger.notice(
                "vrrp \(t.kind == .group ? "group" : "instance") \(t.name): \(t.from.map { "\($0)" } ?? "unknown") → \(t.to)",
                metadata: ["vrrp.source": "\(source)", "vrrp.priority": "\(t.priority)"])
            if let n = LVSNotify.Notification.vrrp(
                group: t.kind == .group, name: t.name, state: "\(t.to)", manifest: manifest,
                message: "\(t.kind == .group ? "sync group" : "instance") \(t.name) is now \(t.to)"
                    + "\(t.from.map { " (was \($0))" } ?? "")\(node.map { " on \($0)" } ?? "") (\(source))",
                timestamp: now)
            {
                await send(n)
            }
        }
    }

    private static func key(_ kind: VRRPNotification.Kind, _ name: String) -> String { "\(kind.rawValue) \(name)" }

    // MARK: Maintenance and readiness

    /// The one way the maintenance track file is written: what the store says (`lvsctl
    /// maintenance on|off` writes it at once; the daemon at start and every second).
    /// - Returns: whether the director is in maintenance, and whether the file changed.
    public static func writeMaintenanceFile(store: Store, paths: DirectorPaths) throws -> (on: Bool, changed: Bool) {
        let on = try store.directorMaintenance() != nil
        return (on, try TrackFile.write(on, to: paths.maintenanceFile))
    }

    /// Writes the maintenance track file from the store (what `lvsctl maintenance` set).
    public func syncMaintenance() throws {
        guard config != nil else { return }
        let (on, changed) = try Self.writeMaintenanceFile(store: store, paths: paths)
        if changed || maintenance != on {
            logger.notice("director maintenance \(on ? "on" : "off")", metadata: ["vrrp.trackFile": "\(paths.maintenanceFile)"])
        }
        maintenance = on
    }

    private var converged = false
    private var quorum: [VirtualService.ID: Bool] = [:]

    /// Records a reconcile pass: whether it succeeded, and the quorum it saw.
    public func passed(succeeded: Bool, quorum: [VirtualService.ID: Bool]) {
        if succeeded { converged = true }
        self.quorum = quorum
    }

    /// Decides readiness (``DirectorReadiness``) from the passes so far and `unsettled` (real
    /// servers whose health is not settled yet), and writes the track file.
    @discardableResult
    public func updateReadiness(unsettled: [String]) -> DirectorReadiness.Verdict {
        let verdict = DirectorReadiness.evaluate(converged: converged, unsettled: unsettled, quorum: quorum)
        do {
            try setReady(verdict)
        } catch {
            logger.error("cannot write the readiness track file", metadata: ["error": "\(error)"])
        }
        return verdict
    }

    /// Writes the readiness track file (non-zero while not ready).
    public func setReady(_ verdict: DirectorReadiness.Verdict) throws {
        guard config != nil else { return }
        let changedFile = try TrackFile.write(!verdict.ready, to: paths.readinessFile)
        if changedFile || ready != verdict.ready {
            if verdict.ready {
                logger.notice("director ready: releasing the VRRP election", metadata: ["vrrp.trackFile": "\(paths.readinessFile)"])
            } else {
                logger.notice("director not ready: holding its VRRP instances in FAULT", metadata: [
                    "vrrp.trackFile": "\(paths.readinessFile)", "vrrp.reasons": "\(verdict.reasons.joined(separator: "; "))",
                ])
            }
        }
        ready = verdict.ready
    }

    // MARK: Metrics

    /// keepalived's role as a number in the metrics: 0 unknown, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP.
    public static func metricValue(_ s: VRRPNotification.State?) -> Int {
        switch s {
        case .backup: 1
        case .master: 2
        case .fault: 3
        case .stop: 4
        default: 0
        }
    }

    /// The director's series in the text exposition format.
    public func exposition() -> String {
        guard let config else { return "" }
        func esc(_ s: String) -> String { DaemonMetrics.escape(s) }
        var out = ""
        out += "# HELP lvsctl_vrrp_state Role of the VRRP instance as keepalived reported it: 0 unknown, 1 backup, 2 master, 3 fault, 4 stop.\n"
        out += "# TYPE lvsctl_vrrp_state gauge\n"
        for i in config.instances.map(\.name).sorted() {
            out += "lvsctl_vrrp_state{instance=\"\(esc(i))\"} \(Self.metricValue(roles.instances[i]))\n"
        }
        if !config.syncGroups.isEmpty {
            out += "# HELP lvsctl_vrrp_group_state Role of the VRRP sync group: 0 unknown, 1 backup, 2 master, 3 fault, 4 stop.\n"
            out += "# TYPE lvsctl_vrrp_group_state gauge\n"
            for g in config.syncGroups.map(\.name).sorted() {
                out += "lvsctl_vrrp_group_state{group=\"\(esc(g))\"} \(Self.metricValue(roles.groups[g]))\n"
            }
        }
        out += "# HELP lvsctl_vrrp_transitions_total Role changes of VRRP instances and sync groups seen by this daemon.\n"
        out += "# TYPE lvsctl_vrrp_transitions_total counter\n"
        for i in config.instances.map(\.name).sorted() {
            out += "lvsctl_vrrp_transitions_total{instance=\"\(esc(i))\"} \(transitionCounts[Self.key(.instance, i)] ?? 0)\n"
        }
        for g in config.syncGroups.map(\.name).sorted() {
            out += "lvsctl_vrrp_transitions_total{group=\"\(esc(g))\"} \(transitionCounts[Self.key(.group, g)] ?? 0)\n"
        }
        out += "# HELP lvsctl_director_ready 1 when this director can serve (its readiness track file releases the VRRP election), else 0.\n"
        out += "# TYPE lvsctl_director_ready gauge\n"
        out += "lvsctl_director_ready \(ready == true ? 1 : 0)\n"
        out += "# HELP lvsctl_director_maintenance 1 while this director is in maintenance (lvsctl maintenance on), else 0.\n"
        out += "# TYPE lvsctl_director_maintenance gauge\n"
        out += "lvsctl_director_maintenance \(maintenance == true ? 1 : 0)\n"
        return out
    }

    /// The current roles (tests).
    public func currentRoles() -> VRRPRoles { roles }
}
