#if canImport(Glibc)
    import Glibc
#endif

/// Holds back SIGTERM, SIGINT and SIGHUP while an apply writes to the kernel and records its
/// audit rows, so a `kill -TERM` (or Ctrl-C) of `lvsctl apply` takes effect only once every
/// kernel write made has its audit row and the run is closed.
///
/// Only a signal whose disposition is the default (terminate) is held: one the process ignores
/// or handles itself is left alone. The CLI turns this on (``Reconciler/holdTerminationSignals``);
/// the daemon does not need it, as it handles SIGTERM itself and finishes its pass.
public enum TerminationSignals {
    /// The signals held back.
    public static let held: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// The last held signal that arrived (0 = none). Written by the handler.
    nonisolated(unsafe) private static var arrived: Int32 = 0

    /// Runs `body` with the held signals caught; returns its result and the signal that arrived
    /// meanwhile, if any, with the signals' dispositions restored. Not reentrant: one caller at a
    /// time (the CLI's single apply).
    public static func holding<T>(_ body: () throws -> T) rethrows -> (result: T, signal: Int32?) {
        var previous: [(Int32, sigaction)] = []
        arrived = 0
        for sig in held {
            var old = sigaction()
            guard sigaction(sig, nil, &old) == 0, old.__sigaction_handler.sa_handler == nil else { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in TerminationSignals.arrived = sig }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            if sigaction(sig, &action, nil) == 0 { previous.append((sig, old)) }
        }
        defer {
            for (sig, old) in previous {
                var o = old
                sigaction(sig, &o, nil)
            }
        }
        let result = try body()
        return (result, arrived == 0 ? nil : arrived)
    }

    /// Runs `body` with the held signals caught; then, if one arrived, says so on stderr and
    /// takes its default action (the process ends as if the signal had arrived now).
    public static func deferring<T>(_ body: () throws -> T) throws -> T {
        let (outcome, signal) = holding { Result { try body() } }
        if let signal {
            let note = "lvsctl: signal \(signal) arrived during the apply; stopping now that its kernel writes are audited\n"
            _ = note.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            raise(signal)
        }
        return try outcome.get()
    }
}
