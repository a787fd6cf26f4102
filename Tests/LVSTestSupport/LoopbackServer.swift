import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real TCP server on 127.0.0.1 (or ::1) for tests: each accepted connection is handed to
/// `handler` on its own thread and closed when the handler returns.
public final class LoopbackServer: @unchecked Sendable {
    public let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var closed = false

    /// A connected client socket, with blocking helpers.
    public final class Connection: @unchecked Sendable {
        public let fd: Int32
        private var buffer: [UInt8] = []
        init(fd: Int32) { self.fd = fd }

        /// Reads until `\r\n\r\n` and then `Content-Length` more bytes; returns the whole request.
        public func readHTTPRequest() -> String {
            while !headersDone() {
                guard readMore() else { break }
            }
            let text = String(decoding: buffer, as: UTF8.self)
            if let range = text.range(of: "\r\n\r\n") {
                let head = text[..<range.lowerBound].lowercased()
                if let cl = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let n = Int(cl.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                {
                    let headerBytes = text[..<range.upperBound].utf8.count
                    while buffer.count < headerBytes + n {
                        guard readMore() else { break }
                    }
                }
            }
            return String(decoding: buffer, as: UTF8.self)
        }

        /// Reads one CRLF-terminated line (without the CRLF); nil at end of stream.
        public func readLine() -> String? {
            while true {
                if let i = buffer.firstIndex(of: 10) {
                    var line = Array(buffer[..<i])
                    buffer.removeFirst(i + 1)
                    if line.last == 13 { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                guard readMore() else { return nil }
            }
        }

        public func write(_ text: String) { write(Array(text.utf8)) }

        public func write(_ bytes: [UInt8]) {
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                off += n
            }
        }

        private func headersDone() -> Bool {
            guard buffer.count >= 4 else { return false }
            for j in 0...(buffer.count - 4) where buffer[j] == 13 && buffer[j + 1] == 10 && buffer[j + 2] == 13 && buffer[j + 3] == 10 {
                return true
            }
            return false
        }

        private func readMore() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    /// Binds an ephemeral port on `host` and starts accepting (unless `accepting` is false:
    /// then connections only queue up in the backlog).
    public init(host: String = "127.0.0.1", backlog: Int32 = 16, accepting: Bool = true,
         handler: @escaping @Sendable (Connection) -> Void = { _ in }) throws {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if v6 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = 0
            _ = inet_pton(AF_INET6, host, &sin6.sin6_addr)
            rc = withUnsafePointer(to: &sin6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = 0
            _ = inet_pton(AF_INET, host, &sin.sin_addr)
            rc = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else { close(fd); throw ServerError("bind \(host) failed: errno \(errno)") }
        guard listen(fd, backlog) == 0 else { close(fd); throw ServerError("listen failed") }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let boundPort = withUnsafePointer(to: &storage) { p in
            v6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        self.fd = fd
        self.port = boundPort
        guard accepting else { return }
        let listenFD = fd
        Thread.detachNewThread { [self] in
            while true {
                let c = accept(listenFD, nil, nil)
                if c < 0 {
                    if self.isClosed { return }
                    if errno == EINTR { continue }
                    return
                }
                Thread.detachNewThread {
                    let conn = Connection(fd: c)
                    handler(conn)
                    close(c)
                }
            }
        }
    }

    private var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }

    public func stop() {
        lock.lock()
        let was = closed
        closed = true
        lock.unlock()
        if !was {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    deinit { stop() }

    /// A port on 127.0.0.1 that nothing listens on (bound, then closed).
    public static func closedPort() throws -> UInt16 {
        let s = try LoopbackServer(accepting: false)
        let p = s.port
        s.stop()
        return p
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Collects values from server threads.
public final class Recorder<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    public init() {}
    public func append(_ t: T) { lock.lock(); items.append(t); lock.unlock() }
    public var values: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

/// A canned HTTP/1.1 response.
public func httpResponse(status: Int, reason: String = "X", body: String = "", headers: [String] = []) -> String {
    var lines = ["HTTP/1.1 \(status) \(reason)"]
    lines += headers
    lines.append("Content-Length: \(body.utf8.count)")
    lines.append("Connection: close")
    return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
}
