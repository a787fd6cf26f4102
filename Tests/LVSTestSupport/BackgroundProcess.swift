import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program running in the background (servers, `lvsctl run`, keepalived), its standard output
/// and error appended to a log file.
///
/// Started with `posix_spawn`, not Foundation's `Process` (see ``ProcessRunner``). Killed with
/// SIGKILL on deinit if it is still running.
public final class BackgroundProcess: @unchecked Sendable {
    public let pid: pid_t
    /// The command line, for messages.
    public let arguments: [String]
    /// Where its output goes (appended: a restarted server keeps one log).
    public let logPath: String
    private var status: Int32?

    public init(_ arguments: [String], environment: [String: String], log: String) throws {
        guard !arguments.isEmpty else { throw ProcessRunner.Failure(description: "BackgroundProcess: no program given") }
        self.arguments = arguments
        logPath = log
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The child starts with no blocked signals and default handlers: the test runner's mask
        // and ignored signals would otherwise be inherited, and SIGTERM would not stop it.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, ProcessRunner.resolve(arguments[0]), &actions, &attr, argv, envp)
        guard rc == 0 else {
            throw ProcessRunner.Failure(description: "cannot start \(arguments.joined(separator: " ")): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
    }

    public func signal(_ sig: Int32) { if status == nil { kill(pid, sig) } }

    /// The exit status (128 + signal when killed), or nil if still running after `timeout` seconds.
    public func wait(timeout: Double) -> Int32? {
        if let status { return status }
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                let s = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                status = s
                return s
            }
            usleep(50_000)
        } while Date() < deadline
        return nil
    }

    /// True until the process has been seen to exit.
    public var isRunning: Bool { wait(timeout: 0) == nil }

    /// Sends `signal` and waits for the exit; throws, with the end of the log, if the process is
    /// still running after `timeout` seconds. Returns the exit status.
    @discardableResult
    public func stop(_ sig: Int32 = SIGTERM, timeout: Double = 10) throws -> Int32 {
        signal(sig)
        guard let status = wait(timeout: timeout) else {
            throw ProcessRunner.Failure(description: "`\(arguments.joined(separator: " "))` did not exit within \(timeout) s of signal \(sig)\n\(logTail())")
        }
        return status
    }

    /// The log so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The last `lines` lines of the log, labelled, for failure messages.
    public func logTail(_ lines: Int = 30) -> String {
        "log of `\(arguments.joined(separator: " "))` (\(logPath), last \(lines) lines):\n"
            + log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
    }
}
