import LVSModel
import LVSPlan

/// The checks a director must pass after its apply (and after a rollback), read from the
/// director itself.
public enum Gate: String, Hashable, Sendable, CaseIterable {
    /// `lvsctl drift` exits 0: the kernel is what the applied revisions say.
    case drift
    /// Every touched service with health checks keeps its quorum, and no real server the change
    /// added is down (the daemon's health states, from `status`).
    case health
    /// No VRRP instance in FAULT unless the director is in maintenance (roles from `status`).
    case vrrp
    /// The `--probe` command, run here, exits 0.
    case probe
}

public struct GateResult: Hashable, Sendable {
    public enum Outcome: String, Hashable, Sendable {
        case passed, failed
        /// Nothing to check (no health checks, no VRRP roles reported, no probe given).
        case skipped
    }

    public var gate: Gate
    public var outcome: Outcome
    /// Why, in a sentence: what was checked, or what failed.
    public var detail: String
    public var seconds: Double

    public init(_ gate: Gate, _ outcome: Outcome, _ detail: String, seconds: Double = 0) {
        self.gate = gate
        self.outcome = outcome
        self.detail = detail
        self.seconds = seconds
    }

    public var failed: Bool { outcome == .failed }
}

/// The pure decisions of the gates: given what a director reported, pass, fail, or (health) wait.
public enum GateRules {
    /// The drift gate from a `drift` document.
    public static func drift(_ report: RemoteDrift, manifest: String) -> GateResult {
        let mine = report.drift.filter { $0.manifest == manifest }
        if report.drift.isEmpty { return GateResult(.drift, .passed, "no drift") }
        let items = (mine.isEmpty ? report.drift : mine)
        let shown = items.prefix(3).map(\.summary).joined(separator: "; ")
        return GateResult(.drift, .failed, "\(items.count) drift item\(items.count == 1 ? "" : "s"): \(shown)\(items.count > 3 ? "; …" : "")")
    }

    public enum HealthVerdict: Hashable, Sendable {
        case pass(String)
        case fail(String)
        /// Not settled yet (a server not checked since the apply): ask again.
        case wait(String)
        /// No health state at all for the services to check (no daemon runs on the director).
        case noState(String)
    }

    /// The health gate.
    /// - Parameters:
    ///   - services: the touched services, as the manifest declares them.
    ///   - added: real servers the change added (must be up).
    ///   - status: what the director reported.
    ///   - since: when the change was applied (the director's clock): a state checked before is not evidence.
    public static func health(
        services: [ServiceSpec], added: Set<ServiceRealServerKey>, status: RemoteStatus, since: Double
    ) -> HealthVerdict {
        let checked = services.filter { s in s.healthCheck != nil || s.realServers.contains { $0.healthCheck != nil } }
        if checked.isEmpty { return .pass("no health checks on the touched services") }
        var records: [ServiceRealServerKey: RemoteStatus.Health] = [:]
        for h in status.health { records[ServiceRealServerKey(service: h.service, realServer: h.realServer)] = h }
        var anyState = false
        var waiting: [String] = []
        var failures: [String] = []
        var summary: [String] = []
        for s in checked {
            var aliveWeight: UInt64 = 0
            var down: [String] = []
            for rs in s.realServers {
                let key = ServiceRealServerKey(service: s.service.id, realServer: rs.server.id)
                let hasCheck = rs.healthCheck != nil || s.healthCheck != nil
                guard hasCheck else {
                    aliveWeight += UInt64(rs.server.weight)
                    continue
                }
                guard let h = records[key] else {
                    waiting.append("\(rs.server.id) of \(s.service.id) not checked yet")
                    continue
                }
                anyState = true
                guard let at = h.lastCheckSeconds, at >= since else {
                    waiting.append("\(rs.server.id) of \(s.service.id) not checked since the apply")
                    continue
                }
                if h.healthy {
                    aliveWeight += UInt64(rs.server.weight)
                } else {
                    let why = h.lastError.map { " (\($0))" } ?? ""
                    down.append("\(rs.server.id)\(why)")
                    if added.contains(key) {
                        failures.append("real server \(rs.server.id) added to \(s.service.id) is down\(why)")
                    }
                }
            }
            let quorum = UInt64(s.quorum ?? 1)
            if waiting.isEmpty && aliveWeight < quorum {
                failures.append("\(s.service.id) lost quorum: healthy weight \(aliveWeight) < quorum \(quorum)"
                    + (down.isEmpty ? "" : "; down: \(down.joined(separator: ", "))"))
            }
            summary.append("\(s.service.id) healthy weight \(aliveWeight)/quorum \(quorum)")
        }
        if !failures.isEmpty { return .fail(failures.joined(separator: "; ")) }
        if !anyState { return .noState("no health state for \(checked.map { "\($0.service.id)" }.joined(separator: ", ")): no daemon (lvsctl run) checks it") }
        if !waiting.isEmpty { return .wait(waiting.prefix(3).joined(separator: "; ")) }
        return .pass(summary.joined(separator: "; "))
    }

    /// The VRRP gate from `status`.
    public static func vrrp(_ status: RemoteStatus) -> GateResult {
        if status.vrrp.isEmpty { return GateResult(.vrrp, .skipped, "no vrrp roles reported by the director") }
        let faults = status.vrrp.filter { $0.state == "fault" && !$0.maintenance }
        if !faults.isEmpty {
            return GateResult(
                .vrrp, .failed,
                "in FAULT outside maintenance: " + faults.map(\.name).joined(separator: ", "))
        }
        return GateResult(.vrrp, .passed, status.vrrp.map { "\($0.name) \($0.state)\($0.maintenance ? " (maintenance)" : "")" }.joined(separator: ", "))
    }

    /// The services a plan touches, as the manifest declares them, and the real servers it adds.
    public static func touched(_ plan: Plan, desired: DesiredState) -> (services: [ServiceSpec], added: Set<ServiceRealServerKey>) {
        let ids = Set(plan.changes.compactMap(\.service))
        var added = Set<ServiceRealServerKey>()
        for c in plan.changes where c.action == .addRealServer || c.action == .createService {
            guard let svc = c.service else { continue }
            if let rs = c.realServer {
                added.insert(ServiceRealServerKey(service: svc, realServer: rs))
            } else if let spec = desired.services.first(where: { $0.service.id == svc }) {
                for r in spec.realServers { added.insert(ServiceRealServerKey(service: svc, realServer: r.server.id)) }
            }
        }
        return (desired.services.filter { ids.contains($0.service.id) }, added)
    }
}

/// A pair member's role in the rollout order, and where it came from.
///
/// The one rule, used by `rollout plan`, `rollout apply` and the batch planner: the live VRRP
/// role the director reports in `status` (`director.instances`) wins; the inventory's `role` is
/// only a fallback for a director that reports none (no `vrrp` section, no daemon yet, or it
/// could not be read); with neither the role is unknown.
public enum PairRoles {
    public static let vrrpSource = "vrrp"
    public static let inventorySource = "inventory"

    /// - Parameters:
    ///   - status: what the director reported now; nil when it could not be read.
    ///   - declared: the inventory's `role`.
    public static func resolve(status: RemoteStatus?, declared: PairRole?) -> (role: PairRole?, source: String?) {
        if let status, let live = live(status) { return (live, vrrpSource) }
        return (declared, declared == nil ? nil : inventorySource)
    }

    /// The role the director plays in its pair now, from its instances' states: master when any
    /// instance is MASTER (it holds a VIP); backup when every instance is BACKUP or FAULT, since
    /// an instance in FAULT holds no VIP either (a director in maintenance, or one lvsctl run
    /// holds unready; the VRRP gate judges whether that FAULT is sane); nil when it reports none,
    /// or any instance is unknown or stopped (not heard from keepalived: no evidence).
    public static func live(_ status: RemoteStatus) -> PairRole? {
        if status.vrrp.contains(where: { $0.state == "master" }) { return .master }
        if !status.vrrp.isEmpty && status.vrrp.allSatisfy({ $0.state == "backup" || $0.state == "fault" }) { return .backup }
        return nil
    }
}
