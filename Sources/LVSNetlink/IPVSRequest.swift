import CNetlink
public import LVSKernel
public import LVSModel

/// One IPVS request message, built with libnl (`nlmsg_alloc`, `genlmsg_put`, `nla_put_*`) and kept
/// as its wire bytes.
///
/// Building needs no socket: the family id is a parameter, sequence number and port are left 0 and
/// are filled in by the sender. That makes the encoding testable on a host without IPVS.
public struct IPVSRequest: Hashable, Sendable {
    /// The whole netlink message (`nlmsghdr` + `genlmsghdr` + attributes).
    public var bytes: [UInt8]

    /// The `genlmsghdr.cmd` of the message.
    public var command: UInt8 { bytes.count > 16 ? bytes[16] : 0 }

    /// Builds a request. `fill` adds the attributes; it returns false if one did not fit.
    ///
    /// The corresponding libnl calls are `nlmsg_alloc_size` and `genlmsg_put`.
    static func build(
        family: UInt16, command: IPVSCommand, dump: Bool = false,
        fill: (NetlinkMessageBuilder) -> Bool
    ) throws(KernelError) -> IPVSRequest {
        // libnl zeroes the whole buffer it allocates: a small one first (every IPVS request
        // fits in a few hundred bytes), a large one only if that did not fit.
        for capacity in [1024, 65536] {
            if let request = try build(family: family, command: command, dump: dump, capacity: capacity, fill: fill) {
                return request
            }
        }
        throw KernelError(.other, errno: 90, message: "IPVS request \(command) does not fit into a netlink message")
    }

    /// One attempt at `capacity` bytes; nil if the attributes did not fit.
    private static func build(
        family: UInt16, command: IPVSCommand, dump: Bool, capacity: Int,
        fill: (NetlinkMessageBuilder) -> Bool
    ) throws(KernelError) -> IPVSRequest? {
        guard let msg = nlmsg_alloc_size(capacity) else {
            throw KernelError(.other, errno: 12, message: "cannot allocate a netlink message (out of memory)")
        }
        defer { nlmsg_free(msg) }
        let flags: Int32 = dump ? Int32(NetlinkConst.fDump) : 0
        guard genlmsg_put(msg, 0, 0, Int32(family), 0, flags, command.rawValue, UInt8(IPVS_GENL_VERSION)) != nil,
            fill(NetlinkMessageBuilder(msg: msg))
        else {
            return nil
        }
        guard let hdr = nlmsg_hdr(msg) else {
            throw KernelError(.other, message: "libnl returned a message without a header")
        }
        let len = Int(hdr.pointee.nlmsg_len)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: UnsafeRawPointer(hdr), count: len))
        return IPVSRequest(bytes: bytes)
    }

    // MARK: - Requests for writes

    /// The request message for one write, or a client-side refusal for values the kernel would
    /// accept silently although they are wrong (fwmark 0 addresses the TCP service 0.0.0.0:0).
    public static func forWrite(_ write: KernelWrite, family: UInt16) throws(KernelError) -> IPVSRequest {
        try validate(write)
        switch write {
        case .createService(let s):
            return try build(family: family, command: .newService) { fillService($0, s.id, full: s) }
        case .updateService(let s):
            return try build(family: family, command: .setService) { fillService($0, s.id, full: s) }
        case .deleteService(let id):
            return try build(family: family, command: .delService) { fillService($0, id, full: nil) }
        case .addRealServer(let sid, let r):
            return try build(family: family, command: .newDest) {
                fillService($0, sid, full: nil) && fillDest($0, r.id, full: r)
            }
        case .updateRealServer(let sid, let r):
            return try build(family: family, command: .setDest) {
                fillService($0, sid, full: nil) && fillDest($0, r.id, full: r)
            }
        case .deleteRealServer(let sid, let rid):
            return try build(family: family, command: .delDest) {
                fillService($0, sid, full: nil) && fillDest($0, rid, full: nil)
            }
        case .setTimeouts(let t):
            return try build(family: family, command: .setConfig) { fillTimeouts($0, t) }
        case .setSysctls:
            throw KernelError(.invalidArgument, write: write, message: "\(write): sysctls are written to /proc/sys, not over netlink")
        case .startSyncDaemon(let d):
            return try build(family: family, command: .newDaemon) { fillDaemon($0, d) }
        case .stopSyncDaemon(let state):
            return try build(family: family, command: .delDaemon) { b in
                b.nested(IPVSAttr.Cmd.daemon) { b.u32(IPVSAttr.Daemon.state, state.rawValue) }
            }
        case .zeroCounters(let id):
            return try build(family: family, command: .zero) { b in
                if let id { return fillService(b, id, full: nil) }
                return true
            }
        case .flush:
            return try build(family: family, command: .flush) { _ in true }
        }
    }

    /// Refuses writes that are wrong but that the kernel would not refuse. Nothing is sent for them.
    static func validate(_ write: KernelWrite) throws(KernelError) {
        let ids: [VirtualService.ID]
        switch write {
        case .createService(let s), .updateService(let s): ids = [s.id]
        case .deleteService(let id), .addRealServer(let id, _), .updateRealServer(let id, _),
            .deleteRealServer(let id, _):
            ids = [id]
        case .zeroCounters(let id): ids = id.map { [$0] } ?? []
        default: ids = []
        }
        for id in ids {
            if case .fwmark(0, _) = id {
                throw KernelError(
                    .invalidArgument, write: write,
                    message: "\(write): firewall mark 0 is not a valid service identity (the kernel would address TCP 0.0.0.0:0 instead); use a mark from 1 to 4294967295")
            }
        }
        if case .createService(let s) = write, s.scheduler.rawValue.utf8.count > 15 {
            throw KernelError(.invalidArgument, write: write, message: "\(write): scheduler name '\(s.scheduler)' is longer than 15 characters")
        }
        if case .startSyncDaemon(let d) = write, d.interface.isEmpty || d.interface.utf8.count > 15 {
            throw KernelError(.invalidArgument, write: write, message: "\(write): interface name must have 1 to 15 characters")
        }
    }

    // MARK: - Requests for reads

    /// `IPVS_CMD_GET_SERVICE` as a dump of every service.
    public static func dumpServices(family: UInt16) throws(KernelError) -> IPVSRequest {
        try build(family: family, command: .getService, dump: true) { _ in true }
    }

    /// `IPVS_CMD_GET_SERVICE` (do) for one service.
    public static func getService(_ id: VirtualService.ID, family: UInt16) throws(KernelError) -> IPVSRequest {
        try build(family: family, command: .getService) { fillService($0, id, full: nil) }
    }

    /// `IPVS_CMD_GET_DEST` (dump only) for one service.
    public static func dumpDests(_ id: VirtualService.ID, family: UInt16) throws(KernelError) -> IPVSRequest {
        try build(family: family, command: .getDest, dump: true) { fillService($0, id, full: nil) }
    }

    /// `IPVS_CMD_GET_DAEMON` (dump only).
    public static func dumpDaemons(family: UInt16) throws(KernelError) -> IPVSRequest {
        try build(family: family, command: .getDaemon, dump: true) { _ in true }
    }

    /// `IPVS_CMD_GET_CONFIG`.
    public static func getConfig(family: UInt16) throws(KernelError) -> IPVSRequest {
        try build(family: family, command: .getConfig) { _ in true }
    }

    /// `IPVS_CMD_GET_INFO`.
    public static func getInfo(family: UInt16) throws(KernelError) -> IPVSRequest {
        try build(family: family, command: .getInfo) { _ in true }
    }

    // MARK: - Fill functions (model → attributes)

    /// Fills `IPVS_CMD_ATTR_SERVICE`: the identity, and with `full` every settable attribute
    /// (SCHED_NAME, PE_NAME when the model has one, FLAGS with the full mask, TIMEOUT, NETMASK).
    static func fillService(_ b: NetlinkMessageBuilder, _ id: VirtualService.ID, full: VirtualService?) -> Bool {
        b.nested(IPVSAttr.Cmd.service) {
            var ok = b.u16(IPVSAttr.Svc.af, id.family.kernelValue)
            switch id {
            case .fwmark(let mark, _):
                ok = ok && b.u32(IPVSAttr.Svc.fwmark, mark)
            case .address(let proto, let addr, let port):
                ok = ok && b.u16(IPVSAttr.Svc.proto, proto.kernelValue)
                ok = ok && b.bytes(IPVSAttr.Svc.addr, addr.bytes)
                ok = ok && b.u16(IPVSAttr.Svc.port, port.bigEndian)
            }
            guard let s = full else { return ok }
            ok = ok && b.string(IPVSAttr.Svc.schedName, s.scheduler.rawValue)
            if let pe = s.persistenceEngine { ok = ok && b.string(IPVSAttr.Svc.peName, pe) }
            var flags = [UInt8]()
            appendLE(&flags, s.flags.rawValue)
            appendLE(&flags, UInt32.max)
            ok = ok && b.bytes(IPVSAttr.Svc.flags, flags)
            ok = ok && b.u32(IPVSAttr.Svc.timeout, s.timeout)
            ok = ok && b.u32(IPVSAttr.Svc.netmask, netmaskWire(s.netmask, family: id.family))
            return ok
        }
    }

    /// The NETMASK attribute value as `nla_put_u32` must be given it: the IPv4 mask's bytes in
    /// network order, the IPv6 prefix length in host order.
    static func netmaskWire(_ netmask: UInt32, family: IPFamily) -> UInt32 {
        family == .ipv4 ? netmask.bigEndian : netmask
    }

    /// Fills `IPVS_CMD_ATTR_DEST`: ADDR, PORT, ADDR_FAMILY, and with `full` FWD_METHOD, WEIGHT,
    /// both thresholds and the tunnel triple (always sent: absent means IPIP/0/none on SET).
    static func fillDest(_ b: NetlinkMessageBuilder, _ id: RealServer.ID, full: RealServer?) -> Bool {
        b.nested(IPVSAttr.Cmd.dest) {
            var ok = b.bytes(IPVSAttr.Dest.addr, id.address.bytes)
            ok = ok && b.u16(IPVSAttr.Dest.port, id.port.bigEndian)
            ok = ok && b.u16(IPVSAttr.Dest.addrFamily, id.family.kernelValue)
            guard let r = full else { return ok }
            ok = ok && b.u32(IPVSAttr.Dest.fwdMethod, r.forwarding.rawValue)
            ok = ok && b.u32(IPVSAttr.Dest.weight, r.weight)
            ok = ok && b.u32(IPVSAttr.Dest.uThresh, r.upperThreshold)
            ok = ok && b.u32(IPVSAttr.Dest.lThresh, r.lowerThreshold)
            ok = ok && b.u8(IPVSAttr.Dest.tunType, r.tunnel.type.rawValue)
            ok = ok && b.u16(IPVSAttr.Dest.tunPort, r.tunnel.port.bigEndian)
            ok = ok && b.u16(IPVSAttr.Dest.tunFlags, r.tunnel.checksum.rawValue)
            return ok
        }
    }

    /// Fills the three `IPVS_CMD_ATTR_TIMEOUT_*` attributes (0 = leave unchanged).
    static func fillTimeouts(_ b: NetlinkMessageBuilder, _ t: Timeouts) -> Bool {
        b.u32(IPVSAttr.Cmd.timeoutTCP, t.tcp) && b.u32(IPVSAttr.Cmd.timeoutTCPFin, t.tcpFin)
            && b.u32(IPVSAttr.Cmd.timeoutUDP, t.udp)
    }

    /// Fills `IPVS_CMD_ATTR_DAEMON`. Optional attributes whose model value means "kernel default"
    /// (0, nil) are left out.
    static func fillDaemon(_ b: NetlinkMessageBuilder, _ d: SyncDaemon) -> Bool {
        b.nested(IPVSAttr.Cmd.daemon) {
            var ok = b.u32(IPVSAttr.Daemon.state, d.state.rawValue)
            ok = ok && b.string(IPVSAttr.Daemon.mcastIfn, d.interface)
            ok = ok && b.u32(IPVSAttr.Daemon.syncID, d.syncID)
            if d.maxLength != 0 { ok = ok && b.u16(IPVSAttr.Daemon.syncMaxLen, d.maxLength) }
            switch d.group {
            case .v4?: ok = ok && b.bytes(IPVSAttr.Daemon.mcastGroup, d.group?.bytes ?? [])
            case .v6?: ok = ok && b.bytes(IPVSAttr.Daemon.mcastGroup6, d.group?.bytes ?? [])
            case nil: break
            }
            if d.port != 0 { ok = ok && b.u16(IPVSAttr.Daemon.mcastPort, d.port) }
            if d.ttl != 0 { ok = ok && b.u8(IPVSAttr.Daemon.mcastTTL, d.ttl) }
            return ok
        }
    }
}

func appendLE(_ a: inout [UInt8], _ v: UInt32) {
    for i in 0..<4 { a.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) }
}

/// A thin wrapper over an `nl_msg` under construction; every call returns false when the
/// attribute did not fit.
final class NetlinkMessageBuilder {
    let msg: OpaquePointer

    init(msg: OpaquePointer) { self.msg = msg }

    /// The corresponding libnl call is `nla_put_u8`.
    func u8(_ type: UInt16, _ v: UInt8) -> Bool { nla_put_u8(msg, Int32(type), v) == 0 }
    /// The corresponding libnl call is `nla_put_u16` (host order; pass `.bigEndian` for ports).
    func u16(_ type: UInt16, _ v: UInt16) -> Bool { nla_put_u16(msg, Int32(type), v) == 0 }
    /// The corresponding libnl call is `nla_put_u32`.
    func u32(_ type: UInt16, _ v: UInt32) -> Bool { nla_put_u32(msg, Int32(type), v) == 0 }
    /// The corresponding libnl call is `nla_put_string` (NUL-terminated).
    func string(_ type: UInt16, _ s: String) -> Bool { nla_put_string(msg, Int32(type), s) == 0 }
    /// The corresponding libnl call is `nla_put`.
    func bytes(_ type: UInt16, _ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { nla_put(msg, Int32(type), Int32($0.count), $0.baseAddress) } == 0
    }
    /// The corresponding libnl calls are `nla_nest_start` and `nla_nest_end`.
    func nested(_ type: UInt16, _ body: () -> Bool) -> Bool {
        guard let nest = nla_nest_start(msg, Int32(type)) else { return false }
        guard body() else { return false }
        return nla_nest_end(msg, nest) == 0
    }
}
