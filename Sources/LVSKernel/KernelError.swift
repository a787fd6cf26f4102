import LVSModel

/// An error from the kernel (or from talking to it), with the raw errno kept.
///
/// `code` says what it means for the operation that failed: the same errno means different things
/// for different commands (ENOENT is "scheduler module missing" for NEW_SERVICE and "no such real
/// server" for SET_DEST), so the adapter classifies it once, here, with the request in hand.
public struct KernelError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        /// EEXIST: the service, real server or sync daemon already exists.
        case alreadyExists
        /// ESRCH: the service does not exist.
        case noSuchService
        /// ENOENT on a real-server command: the real server does not exist.
        case noSuchRealServer
        /// ENOENT on NEW/SET_SERVICE: the scheduler (or persistence engine) module is not available.
        case schedulerUnavailable
        /// ESRCH on DEL_DAEMON: that sync daemon is not running.
        case noSuchDaemon
        /// ERANGE: weight or thresholds out of range.
        case outOfRange
        /// EINVAL: the kernel refused the values (address, netmask, tunnel, family rules…).
        case invalidArgument
        /// EAFNOSUPPORT: the address family is not supported (IPv6 disabled?).
        case familyNotSupported
        /// ENODEV: no such interface (sync daemon).
        case noSuchDevice
        /// EPERM: the caller lacks CAP_NET_ADMIN.
        case permissionDenied
        /// The kernel has no IPVS (the generic netlink family "IPVS" does not resolve).
        case ipvsUnavailable
        /// ENOBUFS: answers were lost because the receive queue overflowed.
        case bufferOverrun
        /// No answer within the socket timeout.
        case timeout
        /// Anything else; see `errno`.
        case other
    }

    public var code: Code
    /// The positive errno the kernel returned (0 if the error did not come from the kernel).
    public var errno: Int32
    /// The write that failed, if the error belongs to one.
    public var write: KernelWrite?
    /// A readable explanation.
    public var message: String

    public init(_ code: Code, errno: Int32 = 0, write: KernelWrite? = nil, message: String) {
        self.code = code
        self.errno = errno
        self.write = write
        self.message = message
    }

    public var description: String {
        var s = message
        if errno != 0 { s += " (errno \(errno)\(KernelError.errnoName(errno).map { " " + $0 } ?? ""))" }
        return s
    }

    /// Classifies a raw errno from the kernel for a given write, with a readable message.
    public static func fromErrno(_ errno: Int32, write: KernelWrite?) -> KernelError {
        let what = write?.description ?? "request"
        switch errno {
        case 17:  // EEXIST
            return KernelError(.alreadyExists, errno: errno, write: write, message: "\(what): already exists")
        case 3:  // ESRCH
            if case .stopSyncDaemon = write {
                return KernelError(.noSuchDaemon, errno: errno, write: write, message: "\(what): no such sync daemon is running")
            }
            return KernelError(.noSuchService, errno: errno, write: write, message: "\(what): no such virtual service")
        case 2:  // ENOENT
            switch write {
            case .createService(let s), .updateService(let s):
                var m = "\(what): scheduler '\(s.scheduler)'"
                if let pe = s.persistenceEngine { m += " or persistence engine '\(pe)'" }
                m += " is not available in the kernel; load the module (modprobe \(s.scheduler.moduleName))"
                return KernelError(.schedulerUnavailable, errno: errno, write: write, message: m)
            case .updateRealServer, .deleteRealServer, .addRealServer:
                return KernelError(.noSuchRealServer, errno: errno, write: write, message: "\(what): no such real server")
            case .setSysctls:
                return KernelError(.other, errno: errno, write: write, message: "\(what): this kernel lacks one of these sysctls under /proc/sys/net/ipv4/vs (too old?); remove it from the manifest's settings")
            default:
                return KernelError(.other, errno: errno, write: write, message: "\(what): not found")
            }
        case 34:  // ERANGE
            return KernelError(.outOfRange, errno: errno, write: write,
                message: "\(what): weight or thresholds out of range (weight 0-2147483647, lower threshold ≤ upper)")
        case 22:  // EINVAL
            var m = "\(what): the kernel refused the values as invalid"
            switch write {
            case .addRealServer, .updateRealServer:
                // ip_vs_ctl.c checks a real server's address against the namespace's routing
                // (inet_addr_type must say unicast or local): a fresh namespace with its loopback
                // down has no local table and refuses every IPv4 real server.
                m += "; for a real server: is its address unicast and routable in this network namespace "
                    + "(loopback up, a route to it)? A GUE tunnel also needs a port, and an IPv6 real server "
                    + "an IPv6 service unless it is tunnelled"
            case .setSysctls(let v):
                m += v.kernelRejection.map { ": \($0)" } ?? ""
            default: break
            }
            return KernelError(.invalidArgument, errno: errno, write: write, message: m)
        case 97:  // EAFNOSUPPORT
            return KernelError(.familyNotSupported, errno: errno, write: write, message: "\(what): address family not supported (is IPv6 enabled?)")
        case 19:  // ENODEV
            return KernelError(.noSuchDevice, errno: errno, write: write, message: "\(what): no such network interface")
        case 1:  // EPERM
            return KernelError(.permissionDenied, errno: errno, write: write, message: "\(what): permission denied; run as root (CAP_NET_ADMIN)")
        case 105:  // ENOBUFS
            return KernelError(.bufferOverrun, errno: errno, write: write, message: "\(what): netlink receive buffer overrun; answers were lost")
        case 11, 110:  // EAGAIN, ETIMEDOUT
            return KernelError(.timeout, errno: errno, write: write, message: "\(what): no answer from the kernel in time")
        default:
            return KernelError(.other, errno: errno, write: write, message: "\(what): kernel error")
        }
    }

    /// The symbolic name of the errnos IPVS returns.
    public static func errnoName(_ e: Int32) -> String? {
        switch e {
        case 1: "EPERM"
        case 2: "ENOENT"
        case 3: "ESRCH"
        case 11: "EAGAIN"
        case 12: "ENOMEM"
        case 17: "EEXIST"
        case 19: "ENODEV"
        case 22: "EINVAL"
        case 34: "ERANGE"
        case 90: "EMSGSIZE"
        case 92: "ENOPROTOOPT"
        case 95: "EOPNOTSUPP"
        case 97: "EAFNOSUPPORT"
        case 105: "ENOBUFS"
        case 110: "ETIMEDOUT"
        default: nil
        }
    }

    public static let ipvsUnavailable = KernelError(
        .ipvsUnavailable,
        message: "the kernel has no IPVS (generic netlink family \"IPVS\" not found); load the ip_vs module (modprobe ip_vs)")
}
