public import LVSModel

/// The live IPVS table of one network namespace, as a Swift protocol.
///
/// `LVSNetlink.NetlinkKernel` implements it over generic netlink; `FakeKernel` implements it in
/// memory with the kernel's error behaviour. Both pass the same contract suite
/// (`LVSTestSupport.KernelContract`): the fake in unit tests, netlink in the lab guest.
///
/// Implementations are not thread-safe: use one from one task or thread at a time.
public protocol IPVSKernel: AnyObject {
    /// `IPVS_CMD_GET_INFO`.
    func info() throws(KernelError) -> KernelInfo

    /// Reads every service (one dump) and the real servers of each (one dump per service),
    /// plus timeouts and sync daemons.
    func snapshot() throws(KernelError) -> LiveTable

    /// Reads one service and its real servers; nil if it does not exist.
    func service(_ id: VirtualService.ID) throws(KernelError) -> LiveService?

    /// Executes writes in order. Implementations may pipeline them; each write gets its own
    /// outcome, in the same order. With `stopOnError`, no write is started after a failure is
    /// seen (writes already in flight still complete and report their outcome).
    func execute(_ writes: [KernelWrite], stopOnError: Bool) -> [WriteOutcome]

    /// The number of write messages sent to the kernel since this object was created.
    var writeCount: Int { get }
}

extension IPVSKernel {
    /// Executes one write and throws its error.
    public func execute(_ write: KernelWrite) throws(KernelError) {
        if case .failed(let e) = execute([write], stopOnError: true).first ?? .skipped { throw e }
    }
}

/// One change to the kernel's IPVS state: one netlink request.
public enum KernelWrite: Hashable, Sendable, CustomStringConvertible {
    /// `IPVS_CMD_NEW_SERVICE`.
    case createService(VirtualService)
    /// `IPVS_CMD_SET_SERVICE`: a full replace of the editable attributes.
    case updateService(VirtualService)
    /// `IPVS_CMD_DEL_SERVICE`.
    case deleteService(VirtualService.ID)
    /// `IPVS_CMD_NEW_DEST`.
    case addRealServer(VirtualService.ID, RealServer)
    /// `IPVS_CMD_SET_DEST`: a full replace of the editable attributes.
    case updateRealServer(VirtualService.ID, RealServer)
    /// `IPVS_CMD_DEL_DEST`.
    case deleteRealServer(VirtualService.ID, RealServer.ID)
    /// `IPVS_CMD_SET_CONFIG`; 0 leaves a timeout unchanged.
    case setTimeouts(Timeouts)
    /// Writes the set fields to `/proc/sys/net/ipv4/vs/*` of the kernel's namespace (no netlink
    /// command exists for them), in `IPVSSysctls.Field` order.
    case setSysctls(IPVSSysctls)
    /// `IPVS_CMD_NEW_DAEMON`.
    case startSyncDaemon(SyncDaemon)
    /// `IPVS_CMD_DEL_DAEMON`.
    case stopSyncDaemon(SyncDaemon.State)
    /// `IPVS_CMD_ZERO`: reset counters of one service, or of everything.
    case zeroCounters(VirtualService.ID?)
    /// `IPVS_CMD_FLUSH`: delete every service.
    case flush

    public var description: String {
        switch self {
        case .createService(let s): "create service \(s.id)"
        case .updateService(let s): "update service \(s.id)"
        case .deleteService(let id): "delete service \(id)"
        case .addRealServer(let s, let r): "add real server \(r.id) to \(s)"
        case .updateRealServer(let s, let r): "update real server \(r.id) of \(s)"
        case .deleteRealServer(let s, let r): "delete real server \(r) from \(s)"
        case .setTimeouts(let t): "set timeouts tcp \(t.tcp) tcpfin \(t.tcpFin) udp \(t.udp)"
        case .setSysctls(let s): "set sysctls " + s.fields.map { "\($0.sysctlName)=\(s.text($0) ?? "")" }.joined(separator: " ")
        case .startSyncDaemon(let d): "start sync daemon \(d.state) on \(d.interface)"
        case .stopSyncDaemon(let s): "stop sync daemon \(s)"
        case .zeroCounters(let id): id.map { "zero counters of \($0)" } ?? "zero all counters"
        case .flush: "flush"
        }
    }
}

/// The outcome of one `KernelWrite`.
public enum WriteOutcome: Hashable, Sendable {
    case applied
    case failed(KernelError)
    /// Not sent, because an earlier write failed and the batch stops on error.
    case skipped

    public var error: KernelError? {
        if case .failed(let e) = self { return e }
        return nil
    }
}
