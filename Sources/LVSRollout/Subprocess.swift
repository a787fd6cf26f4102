import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program (ssh, the `--probe` command) with input on standard input and its output
/// collected, in a process group of its own.
///
/// Its own group: Ctrl-C in a terminal signals the foreground group, and an ssh that died with
/// it would cut a remote apply short; the rollout itself decides when to stop (after the director
/// in progress). Built on `posix_spawn` and `poll`, not Foundation's `Process` (whose run loop
/// does not start in the lab guest).
public enum Subprocess {
    public struct Result: Hashable, Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        public var timedOut: Bool
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `arguments` (the program is looked up in PATH when it has no slash), feeding `input`.
    /// After `timeout` seconds the whole group is killed and `timedOut` set.
    public static func run(_ arguments: [String], input: Data = Data(), environment: [String: String]? = nil, timeout: Double) throws -> Result {
        precondition(!arguments.isEmpty)
        signal(SIGPIPE, SIG_IGN)
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw StartFailure(description: "pipe: \(String(cString: strerror(errno)))")
        }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let program = resolve(arguments[0], environment: environment)
        let rc = posix_spawn(&pid, program, &actions, &attr, argv, envp)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw StartFailure(description: "cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        // Standard input is written as the output is read (a large manifest must not deadlock
        // against a program that writes before it has read everything).
        let input = [UInt8](input)
        var written = 0
        let writeFD = inPipe[1]
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
        var inputOpen = true
        if input.isEmpty { close(writeFD); inputOpen = false }
        var out: [UInt8] = [], err: [UInt8] = []
        var readFDs = [outPipe[0], errPipe[0]]
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while readFDs.contains(where: { $0 >= 0 }) || inputOpen {
            var fds = readFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            fds.append(pollfd(fd: inputOpen ? writeFD : -1, events: Int16(POLLOUT), revents: 0))
            let left = deadline.timeIntervalSinceNow
            if left <= 0 && !timedOut {
                kill(-pid, SIGKILL)
                timedOut = true
            }
            let ready = poll(&fds, nfds_t(fds.count), timedOut ? 1000 : Int32(min(left * 1000 + 1, 1000)))
            if ready < 0 { if errno == EINTR { continue }; break }
            for k in 0..<2 where fds[k].fd >= 0 && fds[k].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(fds[k].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if k == 0 { out += buf[0..<n] } else { err += buf[0..<n] }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(fds[k].fd)
                    readFDs[k] = -1
                }
            }
            if inputOpen && fds[2].revents != 0 {
                let n = input[written...].withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
                if n > 0 { written += n }
                if n < 0 && errno != EAGAIN && errno != EINTR || written >= input.count {
                    close(writeFD)
                    inputOpen = false
                }
            }
            if timedOut && readFDs.allSatisfy({ $0 < 0 }) { break }
        }
        if inputOpen { close(writeFD) }
        for fd in readFDs where fd >= 0 { close(fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit: Int32 = (status & 0x7f) != 0 ? 128 + (status & 0x7f) : (status >> 8) & 0xff
        return Result(status: exit, stdout: Data(out), stderr: Data(err), timedOut: timedOut)
    }

    static func resolve(_ name: String, environment: [String: String]?) -> String {
        if name.contains("/") { return name }
        let path = (environment ?? ProcessInfo.processInfo.environment)["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let p = "\(dir)/\(name)"
            if access(p, X_OK) == 0 { return p }
        }
        return name
    }
}

/// A word for a POSIX shell: the remote side of ssh runs its command line through one.
public func shellQuoted(_ word: String) -> String {
    if !word.isEmpty && word.unicodeScalars.allSatisfy({
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_./=:@%+,".unicodeScalars.contains($0)
    }) {
        return word
    }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
