import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a command spends its time and memory, phase by phase, when `LVSCTL_TRACE=1`.
///
/// Each `mark` prints one line to standard error: the phase that just ended, its wall-clock
/// milliseconds, the time since the process started and the resident set size. Used to profile
/// `apply` and `plan` in the lab guest (`make bench`), where a sampling profiler adds too much.
enum PhaseTrace {
    static let enabled = ProcessInfo.processInfo.environment["LVSCTL_TRACE"] == "1"
    nonisolated(unsafe) private static var last = ContinuousClock.now

    /// Ends the current phase and names it.
    static func mark(_ phase: String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let ms = (now - last).milliseconds
        last = now
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let line = "lvsctl: trace: \(phase): \(ms) ms, peak RSS \(usage.ru_maxrss / 1024) MiB, "
            + "user \(usage.ru_utime.tv_sec * 1000 + Int(usage.ru_utime.tv_usec) / 1000) ms, "
            + "sys \(usage.ru_stime.tv_sec * 1000 + Int(usage.ru_stime.tv_usec) / 1000) ms\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
