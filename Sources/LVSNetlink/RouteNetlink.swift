import CNetlink
public import LVSModel

#if canImport(Glibc)
    import Glibc
#endif

/// An error from rtnetlink, or from entering a network namespace.
public struct RouteNetlinkError: Error, CustomStringConvertible, Sendable {
    /// The errno the kernel (or the system call) reported; 0 when there is none.
    public var errno: Int32
    public var message: String
    public var description: String { message }

    init(_ message: String, errno: Int32 = 0) {
        self.errno = errno
        self.message = message
    }
}

/// A network interface as `RTM_GETLINK` reports it.
public struct LinkInfo: Hashable, Sendable {
    public var index: Int32
    public var name: String
    /// `IFF_UP` is set (administratively up).
    public var isUp: Bool

    public init(index: Int32, name: String, isUp: Bool) {
        self.index = index
        self.name = name
        self.isUp = isUp
    }
}

/// An address on an interface as `RTM_GETADDR` reports it.
public struct InterfaceAddress: Hashable, Sendable {
    public var interfaceIndex: Int32
    public var address: IPAddress
    public var prefixLength: UInt8

    public init(interfaceIndex: Int32, address: IPAddress, prefixLength: UInt8) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.prefixLength = prefixLength
    }
}

/// The few rtnetlink (`NETLINK_ROUTE`) operations a real server needs: look up a link, bring it
/// up or down, list, add and delete addresses.
///
/// libnl-3 core opens and connects the socket (`nl_socket_alloc`, `nl_connect(NETLINK_ROUTE)`);
/// the messages are built and parsed here (`ifinfomsg`, `ifaddrmsg` and a few attributes), and
/// every request waits for its ACK so the kernel's errno reaches the caller unchanged. The socket
/// belongs to the network namespace of the thread that creates it. Not thread-safe.
public final class RouteNetlink {
    private let sk: OpaquePointer
    private let fd: Int32
    private var seq: UInt32 = 1

    // linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/if.h
    private enum C {
        static let netlinkRoute: Int32 = 0
        static let msgError: UInt16 = 2, msgDone: UInt16 = 3
        static let fRequest: UInt16 = 0x1, fMulti: UInt16 = 0x2, fAck: UInt16 = 0x4
        static let fDump: UInt16 = 0x300, fExcl: UInt16 = 0x200, fCreate: UInt16 = 0x400
        static let newLink: UInt16 = 16, getLink: UInt16 = 18
        static let newAddr: UInt16 = 20, delAddr: UInt16 = 21, getAddr: UInt16 = 22
        static let iflaIfname: UInt16 = 3
        static let ifaAddress: UInt16 = 1, ifaLocal: UInt16 = 2
        static let iffUp: UInt32 = 0x1
        static let ifaFNodad: UInt8 = 0x02
        static let afUnspec: UInt8 = 0, afInet: UInt8 = 2, afInet6: UInt8 = 10
    }

    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    public init(timeout: Duration = .seconds(5)) throws(RouteNetlinkError) {
        guard let sk = nl_socket_alloc() else { throw RouteNetlinkError("nl_socket_alloc failed", errno: ENOMEM) }
        let rc = nl_connect(sk, C.netlinkRoute)
        guard rc >= 0 else {
            nl_socket_free(sk)
            throw RouteNetlinkError("cannot open an rtnetlink socket: \(String(cString: nl_geterror(rc)))")
        }
        self.sk = sk
        fd = nl_socket_get_fd(sk)
        let c = timeout.components
        _ = lvs_set_timeouts(fd, Int(c.seconds), Int(c.attoseconds / 1_000_000_000_000))
    }

    deinit { nl_socket_free(sk) }

    /// Moves the calling thread into the network namespace at `path` (`/run/netns/NAME`) for
    /// good: rtnetlink sockets opened and `/proc/sys/net` files read afterwards belong to it.
    public static func enterNetworkNamespace(path: String) throws(RouteNetlinkError) {
        let target = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else {
            let e = lvs_errno()
            throw RouteNetlinkError("cannot open network namespace \(path): \(String(cString: strerror(e))); check the name (ip netns list)", errno: e)
        }
        defer { close(target) }
        guard lvs_setns_net(target) == 0 else {
            let e = lvs_errno()
            throw RouteNetlinkError("cannot enter network namespace \(path) (setns): \(String(cString: strerror(e))); run as root", errno: e)
        }
    }

    // MARK: - Links

    /// The link called `name`, or nil when there is none (`ENODEV`).
    public func link(named name: String) throws(RouteNetlinkError) -> LinkInfo? {
        var body = Self.ifinfomsg(index: 0, flags: 0, change: 0)
        Self.appendAttribute(&body, type: C.iflaIfname, Array(name.utf8) + [0])
        do {
            let replies = try transact(type: C.getLink, flags: 0, body: body, what: "looking up link \(name)")
            guard let m = replies.first(where: { $0.type == C.newLink }), m.payload.count >= 16 else { return nil }
            let index = Int32(bitPattern: readLE32(m.payload, 4))
            let flags = readLE32(m.payload, 8)
            return LinkInfo(index: index, name: name, isUp: flags & C.iffUp != 0)
        } catch where error.errno == ENODEV {
            return nil
        }
    }

    /// Sets or clears `IFF_UP` on a link (`ip link set NAME up|down`).
    public func setLink(index: Int32, up: Bool) throws(RouteNetlinkError) {
        let body = Self.ifinfomsg(index: index, flags: up ? C.iffUp : 0, change: C.iffUp)
        _ = try transact(type: C.newLink, flags: C.fAck, body: body, what: "setting link \(index) \(up ? "up" : "down")")
    }

    // MARK: - Addresses

    /// Every IPv4 and IPv6 address of every interface.
    public func addresses() throws(RouteNetlinkError) -> [InterfaceAddress] {
        let body = Self.ifaddrmsg(family: C.afUnspec, prefixLength: 0, flags: 0, index: 0)
        var out: [InterfaceAddress] = []
        for m in try transact(type: C.getAddr, flags: C.fDump, body: body, what: "listing addresses") where m.type == C.newAddr {
            guard m.payload.count >= 8 else { continue }
            let family: IPFamily
            switch m.payload[0] {
            case C.afInet: family = .ipv4
            case C.afInet6: family = .ipv6
            default: continue
            }
            let prefix = m.payload[1]
            let index = Int32(bitPattern: readLE32(m.payload, 4))
            // IFA_LOCAL is the interface's own address (differs from IFA_ADDRESS on point-to-point
            // links); IPv6 only sends IFA_ADDRESS.
            let attributes = NetlinkAttributes(m.payload, start: 8, end: m.payload.count)
            guard let bytes = attributes[C.ifaLocal] ?? attributes[C.ifaAddress],
                  let a = IPAddress(family: family, bytes: bytes)
            else { continue }
            out.append(InterfaceAddress(interfaceIndex: index, address: a, prefixLength: prefix))
        }
        return out
    }

    /// `ip addr add ADDRESS/PREFIX dev INDEX` (IPv6 with `nodad`). Fails with EEXIST when present.
    public func addAddress(_ address: IPAddress, prefixLength: UInt8, interfaceIndex: Int32) throws(RouteNetlinkError) {
        try changeAddress(C.newAddr, flags: C.fCreate | C.fExcl, address, prefixLength, interfaceIndex, what: "adding")
    }

    /// `ip addr del ADDRESS/PREFIX dev INDEX`. Fails with EADDRNOTAVAIL when absent.
    public func deleteAddress(_ address: IPAddress, prefixLength: UInt8, interfaceIndex: Int32) throws(RouteNetlinkError) {
        try changeAddress(C.delAddr, flags: 0, address, prefixLength, interfaceIndex, what: "deleting")
    }

    private func changeAddress(
        _ type: UInt16, flags: UInt16, _ address: IPAddress, _ prefix: UInt8, _ index: Int32, what: String
    ) throws(RouteNetlinkError) {
        let v6 = address.family == .ipv6
        var body = Self.ifaddrmsg(
            family: v6 ? C.afInet6 : C.afInet, prefixLength: prefix, flags: v6 ? C.ifaFNodad : 0, index: index)
        Self.appendAttribute(&body, type: C.ifaLocal, address.bytes)
        Self.appendAttribute(&body, type: C.ifaAddress, address.bytes)
        _ = try transact(type: type, flags: flags | C.fAck, body: body, what: "\(what) address \(address)/\(prefix) on link \(index)")
    }

    // MARK: - Messages

    /// Sends one request and reads until its ACK, error or end of dump; returns the data messages.
    private func transact(type: UInt16, flags: UInt16, body: [UInt8], what: String) throws(RouteNetlinkError) -> [NetlinkMessage] {
        seq &+= 1
        let mySeq = seq
        var msg: [UInt8] = []
        Self.put32(&msg, UInt32(16 + body.count))
        Self.put16(&msg, type)
        Self.put16(&msg, flags | C.fRequest)
        Self.put32(&msg, mySeq)
        Self.put32(&msg, 0)
        msg += body
        let sent = msg.withUnsafeBytes { lvs_send(fd, $0.baseAddress, UInt($0.count)) }
        guard sent >= 0 else {
            let e = Int32(-sent)
            throw RouteNetlinkError("\(what): send failed: \(String(cString: strerror(e)))", errno: e)
        }
        let dump = flags & C.fDump == C.fDump
        var out: [NetlinkMessage] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let cap = buffer.count
            let n = buffer.withUnsafeMutableBytes { lvs_recv(fd, $0.baseAddress, UInt(cap), 0) }
            guard n >= 0 else {
                let e = Int32(-n)
                throw RouteNetlinkError("\(what): receive failed: \(String(cString: strerror(e)))", errno: e)
            }
            guard Int(n) <= cap else {
                buffer = [UInt8](repeating: 0, count: Int(n) * 2)
                throw RouteNetlinkError("\(what): reply larger than \(cap) bytes", errno: EMSGSIZE)
            }
            for m in NetlinkMessage.split(buffer[0..<Int(n)]) where m.seq == mySeq {
                switch m.type {
                case C.msgError:
                    let code = m.payload.count >= 4 ? Int32(bitPattern: readLE32(m.payload, 0)) : -EPROTO
                    if code == 0 { return out }
                    throw RouteNetlinkError("\(what): \(String(cString: strerror(-code)))", errno: -code)
                case C.msgDone:
                    return out
                default:
                    out.append(m)
                    // A doit GET answers with one message and no ACK unless asked for.
                    if !dump && flags & C.fAck == 0 && m.flags & C.fMulti == 0 { return out }
                }
            }
        }
    }

    /// `struct ifinfomsg` (16 bytes).
    static func ifinfomsg(index: Int32, flags: UInt32, change: UInt32) -> [UInt8] {
        var b: [UInt8] = [C.afUnspec, 0, 0, 0]  // family, pad, type (u16)
        put32(&b, UInt32(bitPattern: index))
        put32(&b, flags)
        put32(&b, change)
        return b
    }

    /// `struct ifaddrmsg` (8 bytes); scope universe.
    static func ifaddrmsg(family: UInt8, prefixLength: UInt8, flags: UInt8, index: Int32) -> [UInt8] {
        var b: [UInt8] = [family, prefixLength, flags, 0]
        put32(&b, UInt32(bitPattern: index))
        return b
    }

    static func appendAttribute(_ b: inout [UInt8], type: UInt16, _ value: [UInt8]) {
        put16(&b, UInt16(4 + value.count))
        put16(&b, type)
        b += value
        while b.count % 4 != 0 { b.append(0) }
    }

    static func put16(_ b: inout [UInt8], _ v: UInt16) { b += [UInt8(v & 0xff), UInt8(v >> 8)] }
    static func put32(_ b: inout [UInt8], _ v: UInt32) { for i in 0..<4 { b.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
}
