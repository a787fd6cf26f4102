/// What caused a kernel change or an apply run; stored as the `origin` column.
public enum ChangeOrigin: String, Hashable, Sendable, Codable, CaseIterable {
    /// `lvsctl apply`.
    case apply
    /// `lvsctl rollback`.
    case rollback
    /// Reversing earlier changes of a failed run.
    case undo
    /// `lvsctl drift --fix` (or the daemon correcting drift).
    case driftFix = "drift-fix"
    /// Draining a removed real server (weight 0, then delete).
    case drain
    /// A health-check transition.
    case health
    /// `lvsctl drain` maintenance, and a director's `lvsctl maintenance on|off`.
    case maintenance
    /// A daemon reconcile pass.
    case daemon
    /// A VRRP role change keepalived reported (`lvsctl run` with a `vrrp` section); no kernel
    /// write: the row records the transition.
    case vrrp
    /// A BGP route of a virtual address announced, drained or withdrawn (`lvsctl run` with a
    /// `bgp` section); no kernel write: the row records the transition and its reason.
    case bgp
}
