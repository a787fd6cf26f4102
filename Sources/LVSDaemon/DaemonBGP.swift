import Foundation
public import LVSBGP
import LVSHealth
import LVSModel
import LVSNotify
import LVSStore
import Logging
import ServiceLifecycle

/// How `lvsctl run` speaks BGP on this director (`--node`, `--bird-config`, `--bird-socket`,
/// `--bgp-on-stop`).
public struct BGPOptions: Sendable {
    public var node: String
    public var paths: BirdPaths
    /// Drain and withdraw every route before exiting (default); false leaves BIRD announcing
    /// what it announces, for a restart that must not move traffic.
    public var withdrawOnStop: Bool
    public var birdc: String
    /// The director's addresses (``VIPPlacement``): an announced address not among them is not
    /// announced, or is added to `bgp.vipDevice`. nil: not checked (tests with a fake kernel).
    public var addresses: (any DirectorAddresses)?

    public init(
        node: String, paths: BirdPaths, withdrawOnStop: Bool = true, birdc: String = "birdc",
        addresses: (any DirectorAddresses)? = nil
    ) {
        self.node = node
        self.paths = paths
        self.withdrawOnStop = withdrawOnStop
        self.birdc = birdc
        self.addresses = addresses
    }
}

/// The daemon's BGP side: after every pass it tells the ``BGPSpeaker`` what each announced
/// service looks like; it steps drains on their deadlines, records every route transition
/// (audit origin `bgp`, the `bgp_route` table `status` reads), notifies, and keeps the session
/// state for the metrics.
actor BGPDirector {
    let options: BGPOptions
    let speaker: BGPSpeaker
    let store: Store
    let logger: Logger
    private var section: (manifest: String, config: BGPConfig)?
    private var services: [ServiceReadiness] = []
    private var converged = false
    private var maintenance = false
    private var stopping = false
    private(set) var last: BGPSpeaker.Update?
    private(set) var sessions: [BirdProtocolStatus] = []
    private(set) var sessionError: String?
    private(set) var transitionsTotal = 0

    init(options: BGPOptions, store: Store, logger: Logger) {
        self.options = options
        speaker = BGPSpeaker(node: options.node, paths: options.paths, birdc: options.birdc)
        self.store = store
        self.logger = logger
    }

    /// What each announced service looks like after a pass: converged when the pass
    /// succeeded; healthy real servers are those whose check passes (every one without a check).
    /// A real server whose check has not settled yet is not healthy: a fresh daemon does not
    /// announce a pool it has not checked.
    static func readiness(
        _ states: [DesiredState], health: [ServiceRealServerKey: HealthState], converged: Bool
    ) -> [ServiceReadiness] {
        var out: [ServiceReadiness] = []
        for state in states {
            for spec in state.services {
                guard let address = spec.announcedAddress else { continue }
                let healthy = spec.realServers.filter { rs in
                    guard spec.healthCheck != nil || rs.healthCheck != nil else { return true }
                    return health[ServiceRealServerKey(service: spec.service.id, realServer: rs.server.id)] == .up
                }.count
                out.append(ServiceReadiness(
                    name: "\(state.manifest)/\(spec.name)", address: address, converged: converged,
                    healthy: healthy, total: spec.realServers.count))
            }
        }
        return out
    }

    /// Records a pass and re-decides.
    func passed(
        states: [DesiredState], health: [ServiceRealServerKey: HealthState], succeeded: Bool, maintenance: Bool
    ) async -> [LVSNotify.Notification] {
        if succeeded { converged = true }
        section = states.lazy.compactMap { s in s.bgp.map { (s.manifest, $0) } }.first
        services = Self.readiness(states, health: health, converged: succeeded)
        self.maintenance = maintenance
        return await decide()
    }

    /// Re-decides with the last pass's inputs (a drain deadline, maintenance changed).
    func tick(maintenance: Bool? = nil) async -> [LVSNotify.Notification] {
        if let maintenance { self.maintenance = maintenance }
        return await decide()
    }

    /// The condition of the director as a whole.
    private var condition: DirectorCondition {
        if stopping { return .stopping }
        if maintenance { return .maintenance }
        return converged ? .serving : .starting
    }

    private var reportedNode: String?

    private func decide() async -> [LVSNotify.Notification] {
        guard let section else { return [] }
        // A node without a router id announces nothing: BIRD would pick an id, possibly another
        // director's, and the routers would drop one of the two sessions.
        guard section.config.routerID[options.node] != nil else {
            if reportedNode != options.node {
                reportedNode = options.node
                logger.error(
                    "this node has no BGP router id: announcing nothing",
                    metadata: [
                        "bgp.node": "\(options.node.isEmpty ? "(none)" : options.node)",
                        "bgp.manifest": "\(section.manifest)",
                        "hint": "give --node NAME (or LVSCTL_NODE) with a name in bgp.routerId (\(section.config.nodes.joined(separator: ", ")))",
                    ])
            }
            return []
        }
        let now = Date()
        let notLocal = placeAddresses(section)
        let update = await speaker.update(
            bgp: section.config, source: "manifest \(section.manifest)", services: services, director: condition,
            now: now.timeIntervalSince1970, notLocal: notLocal)
        if let error = update.error, error != last?.error {
            logger.error("BIRD did not take the routes", metadata: ["bgp.error": "\(error)"])
        }
        last = update
        guard !update.transitions.isEmpty else { return [] }
        transitionsTotal += update.transitions.count
        var rows: [(action: String, before: String?, after: String?)] = []
        var routes: [BGPRouteRecord] = []
        var notifications: [LVSNotify.Notification] = []
        for t in update.transitions {
            let address = "\(t.address)"
            let reason = t.verdict.description
            logger.notice(
                "BGP route \(t.to.name)",
                metadata: ["bgp.vip": "\(address)", "bgp.from": "\(t.from.name)", "bgp.reason": "\(reason)"])
            rows.append((
                action: BGPAuditValue.action(t.to), before: BGPAuditValue.json(vip: address, state: t.from, reason: nil),
                after: BGPAuditValue.json(vip: address, state: t.to, reason: reason)))
            routes.append(BGPRouteRecord(address: address, state: t.to.name, reason: reason, changedAt: now))
            if let n = LVSNotify.Notification.vip(
                address, state: t.to.name, manifest: section.manifest,
                message: "BGP route of \(address) \(t.to.name) on \(options.node): \(reason)")
            {
                notifications.append(n)
            }
        }
        do {
            try store.recordBGPTransitions(
                manifest: section.manifest, author: "lvsctl-daemon@\(options.node)", routes: routes, rows: rows)
        } catch {
            logger.error("cannot record BGP route changes", metadata: ["error": "\(error)"])
        }
        return notifications
    }

    /// The last address problem logged (logged again only when it changes).
    private var reportedAddresses: String?

    /// The announced addresses the director does not hold, after adding those `vipDevice` lets
    /// lvsctl add (logged and audited, action `bgp-vip-add`): ``VIPPlacement`` decides, as for
    /// `apply`. An address that could not be added is not announced.
    private func placeAddresses(_ section: (manifest: String, config: BGPConfig)) -> Set<IPAddress> {
        guard let addresses = options.addresses else { return [] }
        let announced = Set(services.map(\.address))
        var problem: String?
        defer {
            if problem != reportedAddresses {
                reportedAddresses = problem
                if let problem { logger.error("announced addresses not on this director", metadata: ["bgp.addresses": "\(problem)"]) }
            }
        }
        let local: Set<IPAddress>
        do {
            local = try addresses.local()
        } catch {
            // Unknown is not absent: the decision stays as the other inputs make it.
            problem = "cannot list this director's addresses: \(error)"
            return []
        }
        let placement = VIPPlacement.decide(announced: announced, local: local, device: section.config.vipDevice)
        var notLocal = Set(placement.missing)
        var rows: [(action: String, before: String?, after: String?)] = []
        var failures: [String] = []
        if let device = placement.device {
            for a in placement.add {
                do {
                    try addresses.add(a, device: device)
                    logger.notice("added an announced address", metadata: ["bgp.vip": "\(a)", "bgp.vipDevice": "\(device)"])
                    rows.append((action: VIPPlacement.auditAction, before: nil, after: VIPPlacement.auditJSON(a, device: device)))
                } catch {
                    notLocal.insert(a)
                    failures.append("cannot add \(a) to \(device): \(error)")
                }
            }
        }
        if !rows.isEmpty {
            do {
                try store.recordBGPTransitions(
                    manifest: section.manifest, author: "lvsctl-daemon@\(options.node)", routes: [], rows: rows)
            } catch {
                logger.error("cannot record the added addresses", metadata: ["error": "\(error)"])
            }
        }
        if !placement.missing.isEmpty {
            failures.append("\(placement.missing.map { "\($0)" }.joined(separator: ", ")) not local; add them (ip addr add ADDRESS/32 dev lo) or declare bgp.vipDevice")
        }
        problem = failures.isEmpty ? nil : failures.joined(separator: "; ")
        return notLocal
    }

    /// When the next drain ends (seconds since 1970).
    var nextDeadline: Double? { last?.nextDeadline }

    /// Withdraw on stop: every route drains, then goes; returns after the last withdrawal
    /// reached BIRD (or BIRD failed).
    func stop() async -> [LVSNotify.Notification] {
        guard options.withdrawOnStop, section != nil else { return [] }
        stopping = true
        var sent = await decide()
        while let deadline = last?.nextDeadline {
            let wait = max(0, deadline - Date().timeIntervalSince1970)
            try? await Task.sleep(for: .milliseconds(Int64(wait * 1000) + 10))
            sent += await decide()
        }
        return sent
    }

    /// Asks BIRD for its BGP sessions (metrics, status).
    func refreshSessions() async {
        guard section != nil else { return }
        do {
            sessions = try await speaker.sessions()
            sessionError = nil
        } catch {
            sessionError = "\(error)"
        }
    }

    /// `lvsctl_bgp_announced{vip}` (1 while the route exists, draining included),
    /// `lvsctl_bgp_draining{vip}`, `lvsctl_bgp_session_up{peer}`, `lvsctl_bgp_transitions_total`,
    /// `lvsctl_bgp_configured` (BIRD runs what was decided).
    func exposition() -> String {
        guard section != nil else { return "" }
        var out = "# HELP lvsctl_bgp_announced Whether this director announces the virtual address (1 also while draining).\n"
        out += "# TYPE lvsctl_bgp_announced gauge\n"
        let states = (last?.states ?? [:]).sorted { $0.key < $1.key }
        for (a, s) in states { out += "lvsctl_bgp_announced{vip=\"\(DaemonMetrics.escape("\(a)"))\"} \(s.isAnnounced ? 1 : 0)\n" }
        out += "# HELP lvsctl_bgp_draining Whether the virtual address's route is draining (less preferred, withdrawn next).\n"
        out += "# TYPE lvsctl_bgp_draining gauge\n"
        for (a, s) in states {
            let draining = if case .draining = s { 1 } else { 0 }
            out += "lvsctl_bgp_draining{vip=\"\(DaemonMetrics.escape("\(a)"))\"} \(draining)\n"
        }
        out += "# HELP lvsctl_bgp_session_up Whether BIRD's BGP session with the peer is established.\n"
        out += "# TYPE lvsctl_bgp_session_up gauge\n"
        for s in sessions { out += "lvsctl_bgp_session_up{peer=\"\(DaemonMetrics.escape(s.name))\"} \(s.isEstablished ? 1 : 0)\n" }
        out += "# HELP lvsctl_bgp_configured Whether BIRD runs the routes lvsctl decided (0: see the log).\n"
        out += "# TYPE lvsctl_bgp_configured gauge\n"
        out += "lvsctl_bgp_configured \(last?.configured == false ? 0 : 1)\n"
        out += "# HELP lvsctl_bgp_transitions_total BGP route transitions since the daemon started.\n"
        out += "# TYPE lvsctl_bgp_transitions_total counter\n"
        out += "lvsctl_bgp_transitions_total \(transitionsTotal)\n"
        return out
    }
}

extension Daemon {
    /// Whether `lvsctl maintenance on` holds this director out of service.
    func directorInMaintenance() -> Bool {
        (try? store.directorMaintenance()) != nil
    }

    /// Steps drains on their deadlines, follows maintenance within a second, and reads BIRD's
    /// sessions every 5 s; on shutdown, withdraws (unless told to leave the routes in place).
    struct BGPService: Service {
        let daemon: Daemon
        func run() async throws {
            let d = daemon
            guard let bgp = d.bgp else { return }
            await withGracefulShutdownHandler {
                var sinceSessions = 5.0
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let wait = min(1, max(0.05, (await bgp.nextDeadline ?? .infinity) - Date().timeIntervalSince1970))
                    try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                    if Task.isShuttingDownGracefully { break }
                    for n in await bgp.tick(maintenance: d.directorInMaintenance()) { await d.send(n) }
                    sinceSessions += wait
                    if sinceSessions >= 5 {
                        sinceSessions = 0
                        await bgp.refreshSessions()
                    }
                }
                for n in await bgp.stop() { await d.send(n) }
            } onGracefulShutdown: {}
        }
    }
}
