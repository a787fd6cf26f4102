#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an input file (a manifest, a keepalived.conf and its includes, an ipvsadm dump, a saved
/// plan) with the rules every reader shares: only a regular file is read, never more than a size
/// limit, and the answer is immediate: a FIFO without a writer, a device such as `/dev/zero` or a
/// directory is refused before anything is read, so no input can hang or exhaust memory.
///
/// The checks happen twice: `stat` before `open` (a FIFO is never opened, since opening one for
/// reading blocks until a writer comes), then `fstat` on the descriptor, opened `O_NONBLOCK`,
/// in case the path was replaced in between.
public enum InputFile {
    /// The limit for manifests, ipvsadm dumps and saved plans: far above a 10,000 × 10 table
    /// (about 5 MB as a manifest).
    public static let defaultLimit = 64 << 20

    /// Why a file could not be read. `description` names the path and says what was found.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        case notFound(path: String)
        case permissionDenied(path: String)
        /// Not a regular file: `kind` is "a directory", "a FIFO", "a character device"...
        case notRegular(path: String, kind: String)
        case tooLarge(path: String, size: Int, limit: Int)
        case readFailed(path: String, reason: String)

        public var path: String {
            switch self {
            case .notFound(let p), .permissionDenied(let p), .notRegular(let p, _), .tooLarge(let p, _, _),
                .readFailed(let p, _):
                p
            }
        }

        /// What went wrong, without the path (messages put the path in front).
        public var message: String {
            switch self {
            case .notFound: "no such file"
            case .permissionDenied: "permission denied"
            case .notRegular(_, let kind): "not a regular file (\(kind)); only regular files are read"
            case .tooLarge(_, let size, let limit):
                "the file is too large (\(InputFile.formatSize(size)); the limit is \(InputFile.formatSize(limit)))"
            case .readFailed(_, let reason): "cannot read the file: \(reason)"
            }
        }

        /// What to do about it.
        public var hint: String {
            switch self {
            case .notFound: "check the path"
            case .permissionDenied: "check the file's permissions, or run as a user who can read it"
            case .notRegular: "give the path of a regular file (for a pipe, write it to a file first)"
            case .tooLarge: "split the input, or check that this is the file you meant"
            case .readFailed: "check the file and the device it is on"
            }
        }

        public var description: String { "\(Escaped.text(path)): \(message)" }
    }

    /// The bytes of the regular file at `path`, at most `limit` of them.
    public static func read(_ path: String, limit: Int = defaultLimit) -> Result<[UInt8], Failure> {
        var info = stat()
        if stat(path, &info) != 0 { return .failure(failure(errno, path)) }
        if let kind = nonRegularKind(info.st_mode) { return .failure(.notRegular(path: path, kind: kind)) }
        if Int(info.st_size) > limit { return .failure(.tooLarge(path: path, size: Int(info.st_size), limit: limit)) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(failure(errno, path)) }
        defer { close(fd) }
        guard fstat(fd, &info) == 0 else { return .failure(failure(errno, path)) }
        if let kind = nonRegularKind(info.st_mode) { return .failure(.notRegular(path: path, kind: kind)) }
        let size = Int(info.st_size)
        if size > limit { return .failure(.tooLarge(path: path, size: size, limit: limit)) }
        return readAll(fd, path: path, sizeHint: size, limit: limit)
    }

    /// Standard input, at most `limit` bytes (a pipe or a file; a terminal is read until EOF).
    public static func readStandardInput(limit: Int = defaultLimit) -> Result<[UInt8], Failure> {
        readAll(0, path: "-", sizeHint: 0, limit: limit)
    }

    /// Reads to the end, refusing more than `limit` bytes (a regular file can grow while read).
    private static func readAll(_ fd: Int32, path: String, sizeHint: Int, limit: Int) -> Result<[UInt8], Failure> {
        var out: [UInt8] = []
        out.reserveCapacity(min(sizeHint, limit) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    // Only standard input can get here (a regular file never blocks): wait for it.
                    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    _ = poll(&p, 1, -1)
                    continue
                }
                return .failure(failure(errno, path))
            }
            if n == 0 { return .success(out) }
            if out.count + n > limit {
                return .failure(.tooLarge(path: path, size: out.count + n, limit: limit))
            }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    private static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(fd, buffer, count)
        #elseif canImport(Musl)
        Musl.read(fd, buffer, count)
        #else
        Darwin.read(fd, buffer, count)
        #endif
    }

    private static func failure(_ code: Int32, _ path: String) -> Failure {
        switch code {
        case ENOENT, ENOTDIR: .notFound(path: path)
        case EACCES, EPERM: .permissionDenied(path: path)
        case EISDIR: .notRegular(path: path, kind: "a directory")
        default: .readFailed(path: path, reason: String(cString: strerror(code)))
        }
    }

    private static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// `64 MiB`, `1.5 KiB`, `12 bytes`.
    static func formatSize(_ n: Int) -> String {
        if n < 1024 { return "\(n) bytes" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var v = Double(n) / 1024
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        let rounded = (v * 10).rounded() / 10
        let text = rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
        return "\(text) \(units[u])"
    }
}
