#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program and collects its exit status and output.
///
/// Built on `posix_spawnp` and `poll` rather than Foundation's `Process`, whose run-loop machinery
/// failed to start in the lab guest ("Could not create wakeup socket pair for CFSocket").
public enum ProcessRunner {
    /// The result of one run.
    public struct Result: Sendable, CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// The signal that ended the program, if one did (`status` is then 128 + the signal).
        public var signal: Int32? = nil
        /// Whether the program was killed for running past the `timeout` given to `run`.
        public var timedOut = false
        public var description: String {
            "status \(status)\(timedOut ? " (killed after the timeout)" : signal.map { " (signal \($0))" } ?? ""), stdout: \(stdout), stderr: \(stderr)"
        }
    }

    /// An error for a program that could not be started or failed where success was required.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Runs `arguments[0]` (looked up in a PATH that includes the sbin directories) with the rest
    /// as arguments, feeding `input` on standard input. `environment`, when given, replaces the
    /// inherited environment (PATH is always the one above).
    ///
    /// With a `timeout`, a program still running after it is killed (SIGKILL) and the result says
    /// `timedOut`.
    public static func run(
        _ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
        timeout: Duration? = nil
    ) throws -> Result {
        guard !arguments.isEmpty else { throw Failure(description: "run: no program given") }
        signal(SIGPIPE, SIG_IGN)  // a child that exits early must not kill the test process
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        // O_CLOEXEC: tests run in parallel, and a child of another test must not inherit these
        // pipes (it would hold our EOF back); dup2 in the child clears the flag on 0, 1 and 2.
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw Failure(description: "pipe failed: \(String(cString: strerror(errno)))")
        }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }

        let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        var env: [String] = [path]
        if let environment {
            env += environment.filter { $0.key != "PATH" }.map { "\($0.key)=\($0.value)" }
        } else {
            var i = 0
            while let e = environ[i] {
                let s = String(cString: e)
                if !s.hasPrefix("PATH=") { env.append(s) }
                i += 1
            }
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        // posix_spawnp searches the caller's PATH; resolve against ours instead.
        let program = resolve(arguments[0])
        let rc = posix_spawn(&pid, program, &actions, nil, argv, envp)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        if let input {
            var bytes = Array(input.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
                if n <= 0 { break }
                bytes = bytes.dropFirst(n)
            }
        }
        close(inPipe[1])
        var out: [UInt8] = [], err: [UInt8] = []
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buf = [UInt8](repeating: 0, count: 65536)
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        var timedOut = false
        while open > 0 {
            var wait: Int32 = -1
            if let deadline, !timedOut {
                let left = clock.now.duration(to: deadline)
                if left <= .zero {
                    kill(pid, SIGKILL)
                    timedOut = true
                } else {
                    let (s, atto) = left.components
                    wait = Int32(clamping: s * 1000 + atto / 1_000_000_000_000_000 + 1)
                }
            }
            let ready = poll(&fds, 2, wait)
            if ready < 0 { if errno == EINTR { continue }; break }
            if ready == 0 { continue }
            for k in 0..<2 where fds[k].fd >= 0 && fds[k].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(fds[k].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if k == 0 { out += buf[0..<n] } else { err += buf[0..<n] }
                } else {
                    close(fds[k].fd); fds[k].fd = -1; open -= 1
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signalled = (status & 0x7f) != 0
        let exit: Int32 = signalled ? 128 + (status & 0x7f) : (status >> 8) & 0xff
        return Result(
            status: exit, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self),
            signal: signalled ? status & 0x7f : nil, timedOut: timedOut)
    }

    static func resolve(_ name: String) -> String {
        if name.contains("/") { return name }
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let p = dir + "/" + name
            if access(p, X_OK) == 0 { return p }
        }
        return name
    }

    /// Like `run`, but throws unless the program exits with status 0.
    @discardableResult
    public static func check(_ arguments: [String], input: String? = nil) throws -> Result {
        let r = try run(arguments, input: input)
        guard r.status == 0 else {
            throw Failure(description: "`\(arguments.joined(separator: " "))` failed with status \(r.status): \(r.stderr)\(r.stdout)")
        }
        return r
    }
}
