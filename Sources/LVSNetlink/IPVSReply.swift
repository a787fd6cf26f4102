public import LVSKernel
public import LVSModel

/// Assemble functions: reply attributes → model values. Each throws a readable error naming the
/// attribute that is missing or malformed.
public enum IPVSReply {
    static func malformed(_ what: String) -> KernelError {
        KernelError(.other, message: "malformed IPVS reply: \(what); is the kernel's IPVS newer than this lvsctl understands?")
    }

    /// A service from a `NEW_SERVICE` reply message (GET_SERVICE), with its counters.
    public static func service(from message: NetlinkMessage) throws(KernelError) -> (VirtualService, IPVSStats) {
        guard let svc = message.attributes.nested(IPVSAttr.Cmd.service) else { throw malformed("no IPVS_CMD_ATTR_SERVICE") }
        return try assembleService(svc)
    }

    /// Assembles a service from the attributes of an `IPVS_CMD_ATTR_SERVICE` nest. `HASHED` is
    /// stripped from the flags; the IPv4 netmask is turned from wire bytes into a host-order mask.
    public static func assembleService(_ a: NetlinkAttributes) throws(KernelError) -> (VirtualService, IPVSStats) {
        guard let afRaw = a.u16(IPVSAttr.Svc.af), let family = IPFamily(kernelValue: afRaw) else {
            throw malformed("service without a known IPVS_SVC_ATTR_AF")
        }
        let id: VirtualService.ID
        if let mark = a.u32(IPVSAttr.Svc.fwmark) {
            id = .fwmark(mark, family)
        } else {
            guard let p = a.u16(IPVSAttr.Svc.proto), let proto = IPProtocol(kernelValue: p) else {
                throw malformed("service with unknown IPVS_SVC_ATTR_PROTOCOL \(a.u16(IPVSAttr.Svc.proto).map(String.init) ?? "(missing)")")
            }
            guard let addr = a.address(IPVSAttr.Svc.addr, family: family) else {
                throw malformed("service without IPVS_SVC_ATTR_ADDR")
            }
            guard let port = a.be16(IPVSAttr.Svc.port) else { throw malformed("service without IPVS_SVC_ATTR_PORT") }
            id = .address(proto, addr, port: port)
        }
        guard let sched = a.string(IPVSAttr.Svc.schedName) else { throw malformed("service \(id) without IPVS_SVC_ATTR_SCHED_NAME") }
        guard var flags = a.u32(IPVSAttr.Svc.flags) else { throw malformed("service \(id) without IPVS_SVC_ATTR_FLAGS") }
        if let mask = a.u32(IPVSAttr.Svc.flags, at: 4) { flags &= mask }
        guard let timeout = a.u32(IPVSAttr.Svc.timeout) else { throw malformed("service \(id) without IPVS_SVC_ATTR_TIMEOUT") }
        guard let nmWire = a.u32(IPVSAttr.Svc.netmask) else { throw malformed("service \(id) without IPVS_SVC_ATTR_NETMASK") }
        let netmask = family == .ipv4 ? UInt32(bigEndian: nmWire) : nmWire
        let pe = a.string(IPVSAttr.Svc.peName).flatMap { $0.isEmpty ? nil : $0 }
        let service = VirtualService(
            id: id, scheduler: Scheduler(sched), flags: ServiceFlags(rawValue: flags), timeout: timeout,
            netmask: netmask, persistenceEngine: pe)
        return (service, assembleStats(a.nested(IPVSAttr.Svc.stats64), a.nested(IPVSAttr.Svc.stats)))
    }

    /// Counters: `STATS64` when present, else the 32-bit `STATS` (kernels before 4.1).
    public static func assembleStats(_ s64: NetlinkAttributes?, _ s32: NetlinkAttributes?) -> IPVSStats {
        var st = IPVSStats()
        if let s = s64 {
            st.connections = s.u64(IPVSAttr.Stats.conns) ?? 0
            st.inPackets = s.u64(IPVSAttr.Stats.inPkts) ?? 0
            st.outPackets = s.u64(IPVSAttr.Stats.outPkts) ?? 0
            st.inBytes = s.u64(IPVSAttr.Stats.inBytes) ?? 0
            st.outBytes = s.u64(IPVSAttr.Stats.outBytes) ?? 0
            st.connectionRate = s.u64(IPVSAttr.Stats.cps) ?? 0
            st.inPacketRate = s.u64(IPVSAttr.Stats.inPPS) ?? 0
            st.outPacketRate = s.u64(IPVSAttr.Stats.outPPS) ?? 0
            st.inByteRate = s.u64(IPVSAttr.Stats.inBPS) ?? 0
            st.outByteRate = s.u64(IPVSAttr.Stats.outBPS) ?? 0
        } else if let s = s32 {
            st.connections = UInt64(s.u32(IPVSAttr.Stats.conns) ?? 0)
            st.inPackets = UInt64(s.u32(IPVSAttr.Stats.inPkts) ?? 0)
            st.outPackets = UInt64(s.u32(IPVSAttr.Stats.outPkts) ?? 0)
            st.inBytes = s.u64(IPVSAttr.Stats.inBytes) ?? 0
            st.outBytes = s.u64(IPVSAttr.Stats.outBytes) ?? 0
            st.connectionRate = UInt64(s.u32(IPVSAttr.Stats.cps) ?? 0)
            st.inPacketRate = UInt64(s.u32(IPVSAttr.Stats.inPPS) ?? 0)
            st.outPacketRate = UInt64(s.u32(IPVSAttr.Stats.outPPS) ?? 0)
            st.inByteRate = UInt64(s.u32(IPVSAttr.Stats.inBPS) ?? 0)
            st.outByteRate = UInt64(s.u32(IPVSAttr.Stats.outBPS) ?? 0)
        }
        return st
    }

    /// A real server from a `NEW_DEST` reply message (GET_DEST). Replies do not repeat the
    /// service, so its family is the fallback when `ADDR_FAMILY` is absent (kernels < 3.18).
    public static func realServer(from message: NetlinkMessage, serviceFamily: IPFamily) throws(KernelError) -> LiveRealServer {
        guard let d = message.attributes.nested(IPVSAttr.Cmd.dest) else { throw malformed("no IPVS_CMD_ATTR_DEST") }
        return try assembleDest(d, serviceFamily: serviceFamily)
    }

    /// Assembles a real server from the attributes of an `IPVS_CMD_ATTR_DEST` nest.
    public static func assembleDest(_ a: NetlinkAttributes, serviceFamily: IPFamily) throws(KernelError) -> LiveRealServer {
        var family = serviceFamily
        if let af = a.u16(IPVSAttr.Dest.addrFamily) {
            guard let f = IPFamily(kernelValue: af) else { throw malformed("real server with unknown address family \(af)") }
            family = f
        }
        guard let addr = a.address(IPVSAttr.Dest.addr, family: family) else {
            throw malformed("real server without IPVS_DEST_ATTR_ADDR")
        }
        guard let port = a.be16(IPVSAttr.Dest.port) else { throw malformed("real server without IPVS_DEST_ATTR_PORT") }
        guard let fwd = a.u32(IPVSAttr.Dest.fwdMethod), let weight = a.u32(IPVSAttr.Dest.weight) else {
            throw malformed("real server \(addr) without FWD_METHOD/WEIGHT")
        }
        let tunnel = TunnelSettings(
            type: TunnelType(rawValue: a.u8(IPVSAttr.Dest.tunType) ?? 0),
            port: a.be16(IPVSAttr.Dest.tunPort) ?? 0,
            checksum: TunnelChecksum(rawValue: a.u16(IPVSAttr.Dest.tunFlags) ?? 0))
        let server = RealServer(
            id: RealServer.ID(address: addr, port: port), forwarding: ForwardingMethod(rawValue: fwd & 0x7),
            weight: weight, upperThreshold: a.u32(IPVSAttr.Dest.uThresh) ?? 0,
            lowerThreshold: a.u32(IPVSAttr.Dest.lThresh) ?? 0, tunnel: tunnel)
        return LiveRealServer(
            server: server, activeConnections: a.u32(IPVSAttr.Dest.activeConns) ?? 0,
            inactiveConnections: a.u32(IPVSAttr.Dest.inactConns) ?? 0,
            persistentConnections: a.u32(IPVSAttr.Dest.persistConns) ?? 0,
            stats: assembleStats(a.nested(IPVSAttr.Dest.stats64), a.nested(IPVSAttr.Dest.stats)))
    }

    /// A sync daemon from a `NEW_DAEMON` reply message (GET_DAEMON).
    public static func daemon(from message: NetlinkMessage) throws(KernelError) -> SyncDaemon {
        guard let a = message.attributes.nested(IPVSAttr.Cmd.daemon) else { throw malformed("no IPVS_CMD_ATTR_DAEMON") }
        guard let st = a.u32(IPVSAttr.Daemon.state), let state = SyncDaemon.State(rawValue: st) else {
            throw malformed("sync daemon without a known state")
        }
        var group: IPAddress? = nil
        if let g = a[IPVSAttr.Daemon.mcastGroup6] { group = IPAddress(family: .ipv6, bytes: g) }
        if let g = a[IPVSAttr.Daemon.mcastGroup] { group = IPAddress(family: .ipv4, bytes: g) }
        return SyncDaemon(
            state: state, interface: a.string(IPVSAttr.Daemon.mcastIfn) ?? "",
            syncID: a.u32(IPVSAttr.Daemon.syncID) ?? 0, maxLength: a.u16(IPVSAttr.Daemon.syncMaxLen) ?? 0,
            group: group, port: a.u16(IPVSAttr.Daemon.mcastPort) ?? 0, ttl: a.u8(IPVSAttr.Daemon.mcastTTL) ?? 0)
    }

    /// The timeouts from a `SET_CONFIG` reply (GET_CONFIG); a missing one reads as 0.
    public static func timeouts(from message: NetlinkMessage) -> Timeouts {
        let a = message.attributes
        return Timeouts(
            tcp: a.u32(IPVSAttr.Cmd.timeoutTCP) ?? 0, tcpFin: a.u32(IPVSAttr.Cmd.timeoutTCPFin) ?? 0,
            udp: a.u32(IPVSAttr.Cmd.timeoutUDP) ?? 0)
    }

    /// The version and table size from a `SET_INFO` reply (GET_INFO); INFO numbering, not CMD.
    public static func info(from message: NetlinkMessage) throws(KernelError) -> KernelInfo {
        let a = message.attributes
        guard let v = a.u32(IPVSAttr.Info.version), let size = a.u32(IPVSAttr.Info.connTabSize) else {
            throw malformed("GET_INFO reply without VERSION/CONN_TAB_SIZE")
        }
        return KernelInfo(version: v, connectionTableSize: size)
    }
}
