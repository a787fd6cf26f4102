public import LVSModel

/// Whether this director can serve: the one rule that gates its VRRP election (the readiness
/// track file) and, later, any other way of attracting traffic (a BGP announcement).
///
/// A director is ready when all of these hold:
/// - a reconcile pass has converged since the daemon started (it succeeded: the kernel holds
///   what the applied manifests, health and maintenance say);
/// - every real server of the applied manifests has a settled health state in this daemon's
///   lifetime (a probe confirmed it up, or enough failures took it down): a fresh daemon does not
///   assume a pool it has not checked yet;
/// - every service of the applied manifests has health quorum (``HealthOverlay``: the healthy,
///   undrained weight reaches the service's `quorum`, 1 by default, i.e. at least one healthy
///   real server).
///
/// It never lets a director win an election into an empty pool: measured without it, a director
/// whose link came back took the VIP 11 s before its checks restored the weights.
public enum DirectorReadiness {
    public struct Verdict: Hashable, Sendable, CustomStringConvertible {
        public var ready: Bool
        /// Why not, one sentence each; empty when ready.
        public var reasons: [String]
        public var description: String { ready ? "ready" : "not ready: " + reasons.joined(separator: "; ") }
    }

    /// - Parameters:
    ///   - converged: a pass has succeeded since start.
    ///   - unsettled: real servers (`service/realServer`) whose health is not settled yet.
    ///   - quorum: the quorum of each service after the last pass.
    public static func evaluate(converged: Bool, unsettled: [String], quorum: [VirtualService.ID: Bool]) -> Verdict {
        var reasons: [String] = []
        if !converged { reasons.append("no reconcile pass has converged yet") }
        if !unsettled.isEmpty {
            let shown = unsettled.sorted().prefix(3).joined(separator: ", ")
            reasons.append("health not settled for \(unsettled.count) real server\(unsettled.count == 1 ? "" : "s") (\(shown)\(unsettled.count > 3 ? ", …" : ""))")
        }
        let lost = quorum.filter { !$0.value }.keys.sorted()
        if !lost.isEmpty {
            reasons.append("no health quorum for \(lost.map(\.description).joined(separator: ", "))")
        }
        return Verdict(ready: reasons.isEmpty, reasons: reasons)
    }
}
