#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// keepalived's `vrrp_track_file`: lvsctl writes `1` to hold the tracking instances in FAULT and
/// `0` to release them (the rendered config tracks with `weight 0`).
///
/// Written atomically (a temporary file in the same directory, fsync, rename), so keepalived
/// never reads a half-written value; keepalived watches the directory with inotify and sees the
/// rename at once. An unchanged value writes nothing (no spurious inotify event).
public enum TrackFile {
    public struct WriteError: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Writes `held ? "1\n" : "0\n"` to `path` unless it already holds that value; creates the
    /// directory (mode 0755) if missing. - Returns: whether the file changed.
    @discardableResult
    public static func write(_ held: Bool, to path: String) throws(WriteError) -> Bool {
        let text = held ? "1\n" : "0\n"
        if let current = try? String(contentsOfFile: path, encoding: .utf8), current == text {
            return false
        }
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        do {
            try FileManager.default.createDirectory(atPath: dir.isEmpty ? "/" : dir, withIntermediateDirectories: true)
        } catch {
            throw WriteError(description: "cannot create the directory of the track file \(path): \(error)")
        }
        let temporary = "\(path).tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw WriteError(description: "cannot write the track file \(path): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(description: "cannot write the track file \(path): \(e)")
        }
        return true
    }

    /// The value in the file: true = non-zero, false = 0, nil = missing or not a number.
    public static func read(_ path: String) -> Bool? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let n = Int(String(text.filter { !$0.isWhitespace }))
        else { return nil }
        return n != 0
    }
}
