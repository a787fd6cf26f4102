import Foundation
import LVSModel

#if canImport(Glibc)
    import Glibc
#endif

/// One rollout at a time per inventory: an `flock` on a lock file next to the inventory
/// (`INVENTORY.lock`) or in `--lock-dir`, holding who has it (pid, host, author, rollout id,
/// since) as one JSON line a CI job can read.
///
/// What must stay true: the kernel releases the lock when the holder dies, so a crashed rollout
/// never blocks the next; the content is only a note (the flock decides).
public final class RolloutLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    public struct Busy: Error, CustomStringConvertible {
        public var path: String
        /// What the holder wrote.
        public var holder: String
        public var waited: Double
        public var description: String {
            "another rollout of this inventory is running (lock \(path)"
                + (holder.isEmpty ? "" : ", held by \(Escaped.excerpt(holder, limit: 300))")
                + ")" + (waited > 0 ? " and did not finish within \(Int(waited)) s" : "")
                + "; wait for it, or pass --lock-timeout SECONDS to wait"
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The lock file of `inventory`: beside it, or in `directory`.
    public static func path(inventory: String, directory: String?) -> String {
        let url = URL(fileURLWithPath: inventory)
        guard let directory else { return url.path + ".lock" }
        // Two inventories of one name in different places get different locks.
        let digest = SHA256.hex(Array(url.standardizedFileURL.path.utf8)).prefix(12)
        return URL(fileURLWithPath: directory).appendingPathComponent("\(url.lastPathComponent).\(digest).lock").path
    }

    /// Takes the lock, waiting up to `timeout` seconds (0: not at all), then writes `note`.
    public init(path: String, timeout: Double, note: String, isStopRequested: () -> Bool = { false }) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Failure(description: "cannot open the rollout lock \(path): \(String(cString: strerror(errno))); pass --lock-dir DIR for a writable place")
        }
        let start = Date()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let why = String(cString: strerror(errno))
                close(fd)
                throw Failure(description: "cannot lock \(path): \(why)")
            }
            if Date().timeIntervalSince(start) >= timeout || isStopRequested() {
                let holder = Self.read(fd)
                close(fd)
                throw Busy(path: path, holder: holder, waited: timeout)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        _ = ftruncate(fd, 0)
        let bytes = Array((note + "\n").utf8)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// The holder's note, as a CI job would read it.
    public static func holder(path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return read(fd)
    }

    static func read(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmed : ""
    }

    /// Empties the note and releases the lock.
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
