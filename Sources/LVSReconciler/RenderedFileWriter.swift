public import LVSPlan

/// Writes the files a plan renders beside the kernel table (the VRRP-only keepalived config) and
/// makes their reader take them up. The reconciler calls it in this order for each apply:
/// ``check(_:)`` before any kernel write, ``write(_:)`` after every kernel write succeeded (a
/// throw undoes the kernel writes), ``reload(after:)`` once the run is recorded.
public protocol RenderedFileWriter: AnyObject {
    /// Refuses the change before anything is written: the file changed since it was planned
    /// (its digest is not `before`'s), the text fails the reader's own check, the reader is not
    /// running and must be reloaded.
    func check(_ change: Change) throws
    /// Replaces the file with the change's `after` text atomically.
    func write(_ change: Change) throws
    /// Makes the reader take the written files up (SIGHUP to keepalived).
    func reload(after changes: [Change]) throws
}
