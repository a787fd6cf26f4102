import CNetlink

/// The IPVS generic-netlink commands (`IPVS_CMD_*` in `<linux/ip_vs.h>`), converted once from the
/// anonymous C enum.
enum IPVSCommand: UInt8, Sendable {
    /// The corresponding kernel command is `IPVS_CMD_NEW_SERVICE`.
    case newService = 1
    /// The corresponding kernel command is `IPVS_CMD_SET_SERVICE`.
    case setService = 2
    /// The corresponding kernel command is `IPVS_CMD_DEL_SERVICE`.
    case delService = 3
    /// The corresponding kernel command is `IPVS_CMD_GET_SERVICE`.
    case getService = 4
    /// The corresponding kernel command is `IPVS_CMD_NEW_DEST`.
    case newDest = 5
    /// The corresponding kernel command is `IPVS_CMD_SET_DEST`.
    case setDest = 6
    /// The corresponding kernel command is `IPVS_CMD_DEL_DEST`.
    case delDest = 7
    /// The corresponding kernel command is `IPVS_CMD_GET_DEST`.
    case getDest = 8
    /// The corresponding kernel command is `IPVS_CMD_NEW_DAEMON`.
    case newDaemon = 9
    /// The corresponding kernel command is `IPVS_CMD_DEL_DAEMON`.
    case delDaemon = 10
    /// The corresponding kernel command is `IPVS_CMD_GET_DAEMON`.
    case getDaemon = 11
    /// The corresponding kernel command is `IPVS_CMD_SET_CONFIG`.
    case setConfig = 12
    /// The corresponding kernel command is `IPVS_CMD_GET_CONFIG`.
    case getConfig = 13
    /// The corresponding kernel command is `IPVS_CMD_SET_INFO`.
    case setInfo = 14
    /// The corresponding kernel command is `IPVS_CMD_GET_INFO`.
    case getInfo = 15
    /// The corresponding kernel command is `IPVS_CMD_ZERO`.
    case zero = 16
    /// The corresponding kernel command is `IPVS_CMD_FLUSH`.
    case flush = 17

    /// Checks the Swift values against the C header once (debug builds).
    static let checkedAgainstHeader: Bool = {
        assert(Int(IPVS_CMD_NEW_SERVICE) == 1 && Int(IPVS_CMD_GET_DEST) == 8
            && Int(IPVS_CMD_GET_CONFIG) == 13 && Int(IPVS_CMD_FLUSH) == 17)
        return true
    }()
}

/// Attribute numbers of the IPVS family, named after their C constants.
enum IPVSAttr {
    /// Top level, `IPVS_CMD_ATTR_*`.
    enum Cmd {
        static let service = UInt16(IPVS_CMD_ATTR_SERVICE)
        static let dest = UInt16(IPVS_CMD_ATTR_DEST)
        static let daemon = UInt16(IPVS_CMD_ATTR_DAEMON)
        static let timeoutTCP = UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP)
        static let timeoutTCPFin = UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)
        static let timeoutUDP = UInt16(IPVS_CMD_ATTR_TIMEOUT_UDP)
    }

    /// `IPVS_SVC_ATTR_*`.
    enum Svc {
        static let af = UInt16(IPVS_SVC_ATTR_AF)
        static let proto = UInt16(IPVS_SVC_ATTR_PROTOCOL)
        static let addr = UInt16(IPVS_SVC_ATTR_ADDR)
        static let port = UInt16(IPVS_SVC_ATTR_PORT)
        static let fwmark = UInt16(IPVS_SVC_ATTR_FWMARK)
        static let schedName = UInt16(IPVS_SVC_ATTR_SCHED_NAME)
        static let flags = UInt16(IPVS_SVC_ATTR_FLAGS)
        static let timeout = UInt16(IPVS_SVC_ATTR_TIMEOUT)
        static let netmask = UInt16(IPVS_SVC_ATTR_NETMASK)
        static let stats = UInt16(IPVS_SVC_ATTR_STATS)
        static let peName = UInt16(IPVS_SVC_ATTR_PE_NAME)
        static let stats64 = UInt16(IPVS_SVC_ATTR_STATS64)
    }

    /// `IPVS_DEST_ATTR_*`.
    enum Dest {
        static let addr = UInt16(IPVS_DEST_ATTR_ADDR)
        static let port = UInt16(IPVS_DEST_ATTR_PORT)
        static let fwdMethod = UInt16(IPVS_DEST_ATTR_FWD_METHOD)
        static let weight = UInt16(IPVS_DEST_ATTR_WEIGHT)
        static let uThresh = UInt16(IPVS_DEST_ATTR_U_THRESH)
        static let lThresh = UInt16(IPVS_DEST_ATTR_L_THRESH)
        static let activeConns = UInt16(IPVS_DEST_ATTR_ACTIVE_CONNS)
        static let inactConns = UInt16(IPVS_DEST_ATTR_INACT_CONNS)
        static let persistConns = UInt16(IPVS_DEST_ATTR_PERSIST_CONNS)
        static let stats = UInt16(IPVS_DEST_ATTR_STATS)
        static let addrFamily = UInt16(IPVS_DEST_ATTR_ADDR_FAMILY)
        static let stats64 = UInt16(IPVS_DEST_ATTR_STATS64)
        static let tunType = UInt16(IPVS_DEST_ATTR_TUN_TYPE)
        static let tunPort = UInt16(IPVS_DEST_ATTR_TUN_PORT)
        static let tunFlags = UInt16(IPVS_DEST_ATTR_TUN_FLAGS)
    }

    /// `IPVS_DAEMON_ATTR_*`.
    enum Daemon {
        static let state = UInt16(IPVS_DAEMON_ATTR_STATE)
        static let mcastIfn = UInt16(IPVS_DAEMON_ATTR_MCAST_IFN)
        static let syncID = UInt16(IPVS_DAEMON_ATTR_SYNC_ID)
        static let syncMaxLen = UInt16(IPVS_DAEMON_ATTR_SYNC_MAXLEN)
        static let mcastGroup = UInt16(IPVS_DAEMON_ATTR_MCAST_GROUP)
        static let mcastGroup6 = UInt16(IPVS_DAEMON_ATTR_MCAST_GROUP6)
        static let mcastPort = UInt16(IPVS_DAEMON_ATTR_MCAST_PORT)
        static let mcastTTL = UInt16(IPVS_DAEMON_ATTR_MCAST_TTL)
    }

    /// `IPVS_STATS_ATTR_*`.
    enum Stats {
        static let conns = UInt16(IPVS_STATS_ATTR_CONNS)
        static let inPkts = UInt16(IPVS_STATS_ATTR_INPKTS)
        static let outPkts = UInt16(IPVS_STATS_ATTR_OUTPKTS)
        static let inBytes = UInt16(IPVS_STATS_ATTR_INBYTES)
        static let outBytes = UInt16(IPVS_STATS_ATTR_OUTBYTES)
        static let cps = UInt16(IPVS_STATS_ATTR_CPS)
        static let inPPS = UInt16(IPVS_STATS_ATTR_INPPS)
        static let outPPS = UInt16(IPVS_STATS_ATTR_OUTPPS)
        static let inBPS = UInt16(IPVS_STATS_ATTR_INBPS)
        static let outBPS = UInt16(IPVS_STATS_ATTR_OUTBPS)
    }

    /// `IPVS_INFO_ATTR_*` (GET_INFO reply, top level).
    enum Info {
        static let version = UInt16(IPVS_INFO_ATTR_VERSION)
        static let connTabSize = UInt16(IPVS_INFO_ATTR_CONN_TAB_SIZE)
    }
}

/// Netlink header constants used by the framing code.
enum NetlinkConst {
    static let headerSize = 16
    static let genlHeaderSize = 4
    static let msgError: UInt16 = 2  // NLMSG_ERROR
    static let msgDone: UInt16 = 3  // NLMSG_DONE
    static let msgOverrun: UInt16 = 4  // NLMSG_OVERRUN
    static let fRequest: UInt16 = 0x1
    static let fMulti: UInt16 = 0x2
    static let fAck: UInt16 = 0x4
    static let fDump: UInt16 = 0x300
    static let fDumpInterrupted: UInt16 = 0x10
}
