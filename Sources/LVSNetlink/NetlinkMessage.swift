// Splitting netlink datagrams into messages (pure Swift, no libnl).
/// One netlink message taken apart: header fields and the payload after `nlmsghdr`.
public struct NetlinkMessage: Hashable, Sendable {
    public var type: UInt16
    public var flags: UInt16
    public var seq: UInt32
    public var pid: UInt32
    /// Everything after the 16-byte `nlmsghdr` (for generic netlink: `genlmsghdr` + attributes).
    public var payload: [UInt8]

    /// Splits a datagram into its messages; stops at the first malformed header.
    public static func split(_ datagram: some Collection<UInt8>) -> [NetlinkMessage] {
        let d = Array(datagram)
        var out: [NetlinkMessage] = []
        var off = 0
        while off + 16 <= d.count {
            let len = Int(readLE32(d, off))
            guard len >= 16, off + len <= d.count else { break }
            out.append(NetlinkMessage(
                type: readLE16(d, off + 4), flags: readLE16(d, off + 6), seq: readLE32(d, off + 8),
                pid: readLE32(d, off + 12), payload: Array(d[(off + 16)..<(off + len)])))
            off += (len + 3) & ~3
        }
        return out
    }

    /// For `NLMSG_ERROR`: the error code (0 = ACK, else a negative errno), nil otherwise.
    public var errorCode: Int32? {
        guard type == NetlinkConst.msgError, payload.count >= 4 else { return nil }
        return Int32(bitPattern: readLE32(payload, 0))
    }

    /// For generic netlink messages: the command byte.
    public var genlCommand: UInt8? { payload.count >= 4 ? payload[0] : nil }

    /// For generic netlink messages: the top-level attributes after `genlmsghdr`.
    public var attributes: NetlinkAttributes {
        NetlinkAttributes(payload, start: min(4, payload.count), end: payload.count)
    }
}
