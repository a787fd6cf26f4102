import CNetlink
import LVSKernel

#if canImport(Glibc)
    import Glibc
#endif

/// A generic-netlink socket connected to the IPVS family of one network namespace.
///
/// libnl creates, connects and resolves it (`nl_socket_alloc`, `genl_connect`,
/// `genl_ctrl_resolve`); requests go out and answers come in through the socket's file descriptor,
/// so that several requests can share one datagram, every answer is matched to its request by
/// sequence number and the kernel's raw errno is read straight from `nlmsgerr.error` (libnl folds
/// ESRCH and ENOENT into one code). Not thread-safe: one thread at a time.
final class NetlinkSocket {
    private(set) var sk: OpaquePointer
    private(set) var fd: Int32
    /// The IPVS family id resolved for this socket.
    private(set) var family: UInt16
    private(set) var localPort: UInt32
    /// SO_RCVBUF as the kernel reports it.
    private(set) var receiveBufferSize: Int
    private var nextSeq: UInt32
    private var buffer: [UInt8]

    /// Largest datagram of packed requests (well below SO_SNDBUF).
    static let maxDatagram = 32 * 1024

    init(namespacePath: String?, timeout: Duration) throws(KernelError) {
        let s = try NetlinkSocket.open(namespacePath: namespacePath, timeout: timeout)
        (sk, fd, family, localPort, receiveBufferSize) = s
        nextSeq = UInt32(truncatingIfNeeded: UInt64(bitPattern: Int64(time(nil)))) &* 2_654_435_761
        buffer = [UInt8](repeating: 0, count: 256 * 1024)
    }

    deinit { nl_socket_free(sk) }

    /// Replaces the socket by a fresh one (after a receive-buffer overrun or a timeout, whose late
    /// answers must not be read as answers to later requests).
    func reopen(namespacePath: String?, timeout: Duration) throws(KernelError) {
        let s = try NetlinkSocket.open(namespacePath: namespacePath, timeout: timeout)
        nl_socket_free(sk)
        (sk, fd, family, localPort, receiveBufferSize) = s
    }

    private static func sysError(_ what: String, _ e: Int32) -> KernelError {
        KernelError(.other, errno: e, message: "\(what) failed: \(String(cString: strerror(e)))")
    }

    private static func open(namespacePath: String?, timeout: Duration)
        throws(KernelError) -> (OpaquePointer, Int32, UInt16, UInt32, Int)
    {
        guard let sk = nl_socket_alloc() else { throw sysError("nl_socket_alloc", ENOMEM) }
        var ok = false
        defer { if !ok { nl_socket_free(sk) } }
        if let path = namespacePath {
            // The socket stays in the target namespace.
            let rc = try insideNetworkNamespace(path, opening: "the IPVS socket") { () throws(KernelError) in genl_connect(sk) }
            guard rc >= 0 else { throw KernelError(.other, message: "genl_connect failed: \(String(cString: nl_geterror(rc)))") }
        } else {
            let rc = genl_connect(sk)
            guard rc >= 0 else { throw KernelError(.other, message: "genl_connect failed: \(String(cString: nl_geterror(rc)))") }
        }
        let fd = nl_socket_get_fd(sk)
        let secs = timeout.components.seconds
        let usecs = timeout.components.attoseconds / 1_000_000_000_000
        let trc = lvs_set_timeouts(fd, Int(secs), Int(usecs))
        guard trc == 0 else { throw sysError("setting SO_RCVTIMEO/SO_SNDTIMEO", -trc) }
        // The family is resolved on this socket, so in its namespace. -NLE_OBJ_NOTFOUND = no IPVS.
        let fam = genl_ctrl_resolve(sk, IPVS_GENL_NAME)
        if fam < 0 {
            if -fam == NLE_PERM { throw KernelError(.permissionDenied, errno: EPERM, message: "resolving the IPVS netlink family: permission denied; run as root (CAP_NET_ADMIN)") }
            throw KernelError.ipvsUnavailable
        }
        // A receive buffer large enough for a window of answers: SO_RCVBUFFORCE (needs
        // CAP_NET_ADMIN), else the largest the rmem_max cap allows.
        if lvs_setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20) != 0 {
            _ = nl_socket_set_buffer_size(sk, 1 << 20, 0)
        }
        if lvs_setsockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20) != 0 {
            _ = lvs_setsockopt_int(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20)
        }
        let rcvbuf = Int(max(lvs_getsockopt_int(fd, SOL_SOCKET, SO_RCVBUF), 65536))
        ok = true
        return (sk, fd, UInt16(fam), nl_socket_get_local_port(sk), rcvbuf)
    }

    /// Sets the receive buffer (SO_RCVBUFFORCE, else SO_RCVBUF) and records what the kernel made of it.
    func setReceiveBuffer(_ bytes: Int) {
        if lvs_setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, Int32(clamping: bytes)) != 0 {
            _ = lvs_setsockopt_int(fd, SOL_SOCKET, SO_RCVBUF, Int32(clamping: bytes))
        }
        receiveBufferSize = Int(max(lvs_getsockopt_int(fd, SOL_SOCKET, SO_RCVBUF), 0))
    }

    /// The number of requests that may be outstanding without risking a receive-buffer overrun:
    /// every queued answer is charged about 770 bytes (more for an error echoing the request).
    var window: Int { max(16, min(256, receiveBufferSize / 2048)) }

    /// Stamps a request with a fresh sequence number, this socket's port and REQUEST (+ACK).
    func stamp(_ request: IPVSRequest, ack: Bool) -> (bytes: [UInt8], seq: UInt32) {
        nextSeq &+= 1
        if nextSeq == 0 { nextSeq = 1 }
        var b = request.bytes
        var flags = UInt16(b[6]) | UInt16(b[7]) << 8
        flags |= NetlinkConst.fRequest
        if ack { flags |= NetlinkConst.fAck }
        b[6] = UInt8(flags & 0xff); b[7] = UInt8(flags >> 8)
        for i in 0..<4 {
            b[8 + i] = UInt8((nextSeq >> (8 * UInt32(i))) & 0xff)
            b[12 + i] = UInt8((localPort >> (8 * UInt32(i))) & 0xff)
        }
        return (b, nextSeq)
    }

    enum IOError: Error {
        /// errno from send/recv (positive).
        case errno(Int32)
    }

    /// Sends one datagram (one or more messages back to back).
    func send(_ datagram: [UInt8]) -> Result<Void, IOError> {
        let n = datagram.withUnsafeBytes { lvs_send(fd, $0.baseAddress, UInt($0.count)) }
        if n < 0 { return .failure(.errno(Int32(-n))) }
        return .success(())
    }

    /// Receives one datagram and splits it into messages. EAGAIN means the receive timeout passed.
    func receive(dontWait: Bool = false) -> Result<[NetlinkMessage], IOError> {
        let cap = buffer.count
        let n = buffer.withUnsafeMutableBytes { lvs_recv(fd, $0.baseAddress, UInt(cap), dontWait ? 1 : 0) }
        if n < 0 { return .failure(.errno(Int32(-n))) }
        if Int(n) > cap {
            // Truncated; grow for next time and report it as an overrun of our own buffer.
            buffer = [UInt8](repeating: 0, count: Int(n) * 2)
            return .failure(.errno(EMSGSIZE))
        }
        return .success(NetlinkMessage.split(buffer[0..<Int(n)]))
    }
}
