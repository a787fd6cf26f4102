import Foundation
import LVSModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Store {
    /// The lock file that serialises writers across processes: `<db>.lock`.
    public var lockPath: String { path + ".lock" }

    /// Runs `body` while holding the cross-process writer lock, so only one lvsctl applies at a time.
    ///
    /// The lock is `flock(LOCK_EX)` on ``lockPath`` (created mode 0600), polled until `timeout`;
    /// the holder writes its pid into the file so a waiting process can name it. The lock is per
    /// open file, so two `Store` objects in one process also exclude each other; calls do not nest.
    /// An in-memory store runs `body` directly.
    /// - Throws: ``StoreError/lockTimeout(lockPath:holderPID:waitedSeconds:)`` when the lock stays
    ///   held for `timeout`; ``StoreError/permissionDenied(path:detail:)`` if the lock file cannot be opened.
    public func withWriterLock<T>(
        timeout: Duration, pollInterval: Duration = .milliseconds(20), _ body: () throws -> T
    ) throws -> T {
        try Self.withWriterLock(databasePath: path, timeout: timeout, pollInterval: pollInterval, body)
    }

    /// ``withWriterLock(timeout:pollInterval:_:)`` for the database at `databasePath`, without
    /// opening it: a command can hold the lock while the store opens on another thread. Creates
    /// the database's directory (mode 0700) only for the default path (`systemPath`): a missing
    /// directory of another path is a mistyped `--db`, reported as
    /// ``StoreError/noDatabase(path:detail:)``.
    public static func withWriterLock<T>(
        databasePath path: String, timeout: Duration, pollInterval: Duration = .milliseconds(20),
        _ body: () throws -> T
    ) throws -> T {
        if path == ":memory:" { return try body() }
        try prepareDirectory(path, create: path == systemPath)
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.fileError(errno, path: lockPath, doing: "cannot open the lock file") }
        defer { close(fd) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            guard code == EWOULDBLOCK || code == EAGAIN else {
                throw Self.fileError(code, path: lockPath, doing: "cannot lock")
            }
            if clock.now >= deadline {
                throw StoreError.lockTimeout(
                    lockPath: lockPath, holderPID: Self.readPID(fd), waitedSeconds: Self.seconds(timeout))
            }
            Thread.sleep(forTimeInterval: Self.seconds(pollInterval))
        }
        defer {
            _ = ftruncate(fd, 0)
            _ = flock(fd, LOCK_UN)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return try body()
    }

    static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// The lock one `lvsctl run` holds on its store for as long as it runs (`<db>.daemon.lock`,
/// `flock`, with the holder's pid in it): a second daemon on the same store would fight the
/// first over every weight. Released when closed or when the process ends, however it ends.
public final class DaemonLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Takes the lock, without waiting.
    /// - Throws: ``StoreError/daemonRunning(lockPath:holderPID:)`` when another process holds it.
    public init(databasePath: String) throws {
        let lockPath = databasePath + ".daemon.lock"
        path = lockPath
        if databasePath == ":memory:" {
            fd = -1
            return
        }
        try Store.prepareDirectory(databasePath)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Store.fileError(errno, path: lockPath, doing: "cannot open the daemon lock file") }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            defer { close(fd) }
            guard code == EWOULDBLOCK || code == EAGAIN else { throw Store.fileError(code, path: lockPath, doing: "cannot lock") }
            throw StoreError.daemonRunning(lockPath: lockPath, holderPID: Store.readPID(fd))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    /// Releases the lock (the process ending releases it too).
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
