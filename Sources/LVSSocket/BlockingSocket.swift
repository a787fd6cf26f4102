#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import LVSModel

/// A TCP socket whose every operation ends by a deadline: the building block of the health
/// probes (LVSHealth) and the SMTP sink (LVSNotify).
///
/// Operations block the calling thread (non-blocking connect, then `poll(2)` until the
/// deadline), so callers run them on a thread of their own via `BlockingSocket.offload`, never on
/// the Swift concurrency pool.
package final class BlockingSocket {
    /// Why a socket operation failed, with the short text the probes report.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case refused
        case timeout(Double)
        case closed
        case system(String)

        package var description: String {
            switch self {
            case .refused: "connect refused"
            case .timeout(let s): "timeout after \(formatSeconds(s)) s"
            case .closed: "connection closed by peer"
            case .system(let s): s
            }
        }
    }

    package let fd: Int32
    private let deadline: ContinuousClock.Instant
    private let timeout: Double

    private init(fd: Int32, deadline: ContinuousClock.Instant, timeout: Double) {
        self.fd = fd
        self.deadline = deadline
        self.timeout = timeout
    }

    deinit { close(fd) }

    /// Connects to `address:port`; `timeout` seconds bound the connect and every later operation.
    package static func connect(to address: IPAddress, port: UInt16, timeout: Double) throws(Failure) -> BlockingSocket {
        let deadline = ContinuousClock.now + .milliseconds(Int64((max(timeout, 0) * 1000).rounded()))
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket: \(errnoText())") }
        let sock = BlockingSocket(fd: fd, deadline: deadline, timeout: timeout)
        var rc: Int32
        switch address {
        case .v4(let v):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = v.bigEndian
            rc = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let b):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            let bytes = b.array
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for i in 0..<16 { raw[i] = bytes[i] }
            }
            rc = withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        if rc == 0 { return sock }
        guard errno == EINPROGRESS else { throw connectFailure(errno, timeout) }
        try sock.wait(for: Int16(POLLOUT))
        var soError: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len) == 0 else {
            throw .system("getsockopt: \(errnoText())")
        }
        if soError != 0 { throw connectFailure(soError, timeout) }
        return sock
    }

    /// Connects to a host name or address literal; names are resolved with `getaddrinfo`
    /// and each address is tried in turn.
    package static func connect(host: String, port: UInt16, timeout: Double) throws(Failure) -> BlockingSocket {
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let address = IPAddress(literal) { return try connect(to: address, port: port, timeout: timeout) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0, let first = list else {
            throw .system("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            if ai.pointee.ai_family == AF_INET, let sa = ai.pointee.ai_addr {
                let v = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                addresses.append(.v4(v))
            } else if ai.pointee.ai_family == AF_INET6, let sa = ai.pointee.ai_addr {
                let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
                }
                if let a = IPAddress(family: .ipv6, bytes: bytes) { addresses.append(a) }
            }
            cursor = ai.pointee.ai_next
        }
        var lastError = Failure.system("cannot resolve \(host): no addresses")
        var seen = Set<IPAddress>()
        for address in addresses where seen.insert(address).inserted {
            do throws(Failure) {
                return try connect(to: address, port: port, timeout: timeout)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Writes all of `bytes` before the deadline.
    package func send(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try wait(for: Int16(POLLOUT))
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw .system("send: \(errnoText())")
            }
        }
    }

    /// Reads what is available (up to `max` bytes) before the deadline; `[]` at end of stream.
    package func receive(max: Int = 16384) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buffer[0..<n]) }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                try wait(for: Int16(POLLIN))
            } else if errno == EINTR {
                continue
            } else if errno == ECONNRESET {
                throw .system("connection reset by peer")
            } else {
                throw .system("recv: \(errnoText())")
            }
        }
    }

    /// Waits until the socket is ready for `events` or the deadline passes.
    private func wait(for events: Int16) throws(Failure) {
        while true {
            let remaining = deadline - ContinuousClock.now
            let ms = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
            if ms <= 0 { throw .timeout(timeout) }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&pfd, 1, Int32(clamping: ms))
            if rc > 0 { return }
            if rc == 0 { throw .timeout(timeout) }
            if errno != EINTR { throw .system("poll: \(errnoText())") }
        }
    }

    private static func connectFailure(_ code: Int32, _ timeout: Double) -> Failure {
        switch code {
        case ECONNREFUSED: .refused
        case ETIMEDOUT: .timeout(timeout)
        case EHOSTUNREACH: .system("no route to host")
        case ENETUNREACH: .system("network unreachable")
        default: .system("connect: \(String(cString: strerror(code)))")
        }
    }


    /// Runs blocking work on a thread of its own and resumes the caller with its result, so a
    /// blocked socket never holds a Dispatch worker or a thread of Swift's cooperative pool.
    /// Callers bound how much runs at once.
    package static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }
}

package func errnoText() -> String { String(cString: strerror(errno)) }

/// `3`, `0.5`, `2.25`: seconds as a person writes them.
package func formatSeconds(_ s: Double) -> String {
    if s == s.rounded() && abs(s) < 1e15 { return String(Int(s)) }
    var text = String(format3(s))
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}

private func format3(_ s: Double) -> String {
    let milli = Int((s * 1000).rounded())
    let whole = milli / 1000
    let frac = abs(milli % 1000)
    let fracText = String(frac)
    return "\(whole).\(String(repeating: "0", count: 3 - fracText.count))\(fracText)"
}

/// Runs `work` after `seconds` on a thread of its own. Timeouts must not wait for a Dispatch
/// worker: on Linux the global queues are only as wide as the core count, and blocked probes or
/// hooks can hold every worker, which would delay the very timer meant to stop them.
package func afterDelay(_ seconds: Double, _ work: @escaping @Sendable () -> Void) {
    Thread.detachNewThread {
        Thread.sleep(forTimeInterval: max(seconds, 0))
        work()
    }
}
