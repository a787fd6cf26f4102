import Foundation

/// Reads keepalived's `vrrp_notify_fifo` on its own thread, line by line, reopening it by path
/// after every EOF.
///
/// keepalived opens the FIFO read-write and closes it on every reload (SIGHUP), so the reader
/// sees EOF each time: it reports it (`onEOF`: the roles must be learnt again, silence proves
/// nothing) and opens the path again, which blocks until keepalived opens it for writing.
/// lvsctl creates the FIFO (``create(at:)``): keepalived unlinks a FIFO it created itself when it
/// closes it.
///
/// What must stay true: every complete line is delivered once, in order; a partial line at EOF
/// is dropped (keepalived writes whole lines). `stop()` ends the thread: it wakes a blocked open
/// by opening the FIFO for writing itself.
public final class NotifyFIFOReader: @unchecked Sendable {
    public let path: String
    private let onLine: @Sendable (String) -> Void
    private let onEOF: @Sendable () -> Void
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(path: String, onLine: @escaping @Sendable (String) -> Void, onEOF: @escaping @Sendable () -> Void) {
        self.path = path
        self.onLine = onLine
        self.onEOF = onEOF
    }

    /// Creates the FIFO (mode 0600) and its directory; an existing FIFO is kept, anything else
    /// at the path is an error naming it.
    public static func create(at path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create the run directory \(dir): \(error.localizedDescription)")
        }
        var st = stat()
        if lstat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFIFO {
                chmod(path, 0o600)
                return
            }
            throw Failure(description: "\(path) exists and is not a FIFO; remove it (lvsctl creates the VRRP notify FIFO there)")
        }
        guard mkfifo(path, 0o600) == 0 else {
            throw Failure(description: "cannot create the VRRP notify FIFO \(path): \(String(cString: strerror(errno)))")
        }
        chmod(path, 0o600)  // mkfifo's mode is filtered by the umask
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Starts the reading thread.
    public func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "lvsctl.vrrp-fifo"
        lock.withLock { thread = t }
        t.start()
    }

    /// Ends the thread (at once if blocked in open; within 200 ms if reading).
    public func stop() {
        lock.withLock { stopped = true }
        // A reader blocked in open(2) wakes when a writer opens the FIFO.
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if fd >= 0 { close(fd) }
    }

    private func loop() {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !isStopped {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == EINTR { continue }
                // The FIFO went away (removed by hand): make it again, slowly.
                try? Self.create(at: path)
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            buffer.removeAll()
            reading: while !isStopped {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&p, 1, 200)
                if ready < 0 && errno != EINTR { break }
                if ready <= 0 { continue }
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    break
                }
                if n == 0 { break reading }
                buffer.append(contentsOf: chunk[0..<n])
                while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<nl], as: UTF8.self)
                    buffer.removeSubrange(...nl)
                    if !line.isEmpty { onLine(line) }
                }
            }
            close(fd)
            if !isStopped { onEOF() }
        }
    }
}
