import CNetlink
public import LVSKernel
public import LVSModel

#if canImport(Glibc)
    import Glibc
#endif

/// The live IPVS table of one network namespace, over generic netlink (libnl-3 / libnl-genl-3).
///
/// Reads are lock-step request/answer exchanges (dumps until `NLMSG_DONE`, doit GETs until their
/// trailing ACK, so the socket never falls one answer behind). Writes are pipelined: up to
/// `window` requests are outstanding, several are packed into one datagram, and each ACK is
/// matched to its request by sequence number. Not thread-safe: use it from one thread at a time.
public final class NetlinkKernel: IPVSKernel {
    private let socket: NetlinkSocket
    /// `/proc/sys/net/ipv4/vs` of the same namespace as the socket.
    private let sysctlFiles: SysctlFiles
    private let namespacePath: String?
    private let timeout: Duration
    public private(set) var writeCount = 0

    /// Opens a socket to IPVS, inside the network namespace at `namespacePath` (`/run/netns/NAME`)
    /// if one is given. The socket stays bound to that namespace.
    ///
    /// - Throws: `KernelError` `.ipvsUnavailable` when the kernel has no IPVS ("load the ip_vs
    ///   module"), `.permissionDenied` without CAP_NET_ADMIN.
    public init(namespacePath: String? = nil, timeout: Duration = .seconds(5)) throws(KernelError) {
        self.namespacePath = namespacePath
        self.timeout = timeout
        socket = try NetlinkSocket(namespacePath: namespacePath, timeout: timeout)
        sysctlFiles = try SysctlFiles(namespacePath: namespacePath)
    }

    /// How many write requests may be outstanding at once: derived from the receive buffer, so
    /// that the answers of a full window always fit.
    public var window: Int { windowOverride ?? socket.window }

    /// Replaces the computed window. Only for tests of the overrun path: a window larger than
    /// the receive buffer can hold makes the kernel drop answers (ENOBUFS).
    public var windowOverride: Int?

    /// Shrinks (or grows) the receive buffer of the current socket; a reopened socket gets the
    /// normal size again. Only for tests of the overrun path.
    public func setReceiveBufferForTesting(_ bytes: Int) { socket.setReceiveBuffer(bytes) }

    /// The socket's receive buffer size (SO_RCVBUF as the kernel reports it).
    public var receiveBufferSize: Int { socket.receiveBufferSize }

    // MARK: - Reads

    public func info() throws(KernelError) -> KernelInfo {
        let msgs = try transact(IPVSRequest.getInfo(family: socket.family), what: "GET_INFO")
        guard let m = msgs.first else { throw IPVSReply.malformed("GET_INFO returned no reply") }
        return try IPVSReply.info(from: m)
    }

    /// `IPVS_CMD_GET_CONFIG`.
    public func timeouts() throws(KernelError) -> Timeouts {
        let msgs = try transact(IPVSRequest.getConfig(family: socket.family), what: "GET_CONFIG")
        guard let m = msgs.first else { throw IPVSReply.malformed("GET_CONFIG returned no reply") }
        return IPVSReply.timeouts(from: m)
    }

    /// The IPVS sysctls of the namespace (`/proc/sys/net/ipv4/vs/*`); nil fields are sysctls this
    /// kernel lacks.
    public func sysctls() throws(KernelError) -> IPVSSysctls {
        try sysctlFiles.read()
    }

    /// `IPVS_CMD_GET_DAEMON` (dump).
    public func syncDaemons() throws(KernelError) -> [SyncDaemon] {
        var out: [SyncDaemon] = []
        for m in try transact(IPVSRequest.dumpDaemons(family: socket.family), what: "GET_DAEMON", dump: true) {
            let d = try IPVSReply.daemon(from: m)
            if !out.contains(where: { $0.state == d.state }) { out.append(d) }
        }
        return out
    }

    /// Every service, deduplicated by identity, from dumps repeated until two in a row list the
    /// same services.
    ///
    /// The kernel keeps the services of every network namespace in one hash table, and a dump
    /// that needs a second datagram resumes at an index counted over all of them
    /// (`ip_vs_genl_dump_services`). A service added or removed in *another* namespace between
    /// two datagrams shifts that index: this namespace's dump then repeats a service (dropped
    /// here) or skips one, which would read as a missing service, a false drift and a create
    /// that fails with EEXIST. One dump is right unless such a change fell inside it, so two
    /// dumps that agree are taken as the table; a table that keeps changing (its own namespace
    /// being written) gives the last dump after a few tries, as a single dump did before. A
    /// short random pause before each repeat keeps a writer that changes its namespace at a
    /// steady rhythm from disturbing two dumps in the same way (seen in the lab, once, with a
    /// test that created and deleted the same 64 services every 20 ms).
    func services() throws(KernelError) -> [(VirtualService, IPVSStats)] {
        var previous = try dumpServices()
        for _ in 0..<Self.serviceDumpTries {
            usleep(UInt32.random(in: 0...2_000))
            let next = try dumpServices()
            if next.map(\.0) == previous.map(\.0) { return next }
            previous = next
        }
        return previous
    }

    /// How many more dumps `services()` may take to find two that agree.
    static let serviceDumpTries = 8

    /// One GET_SERVICE dump, repeats dropped.
    private func dumpServices() throws(KernelError) -> [(VirtualService, IPVSStats)] {
        var seen = Set<VirtualService.ID>()
        var out: [(VirtualService, IPVSStats)] = []
        for m in try transact(IPVSRequest.dumpServices(family: socket.family), what: "GET_SERVICE dump", dump: true) {
            let s = try IPVSReply.service(from: m)
            if seen.insert(s.0.id).inserted { out.append(s) }
        }
        return out
    }

    /// The real servers of one service (empty also when the service does not exist).
    func realServers(of id: VirtualService.ID) throws(KernelError) -> [LiveRealServer] {
        var seen = Set<RealServer.ID>()
        var out: [LiveRealServer] = []
        for m in try transact(IPVSRequest.dumpDests(id, family: socket.family), what: "GET_DEST dump of \(id)", dump: true) {
            let r = try IPVSReply.realServer(from: m, serviceFamily: id.family)
            if seen.insert(r.server.id).inserted { out.append(r) }
        }
        return out
    }

    public func snapshot() throws(KernelError) -> LiveTable {
        var live: [LiveService] = []
        for (svc, stats) in try services() {
            live.append(LiveService(service: svc, stats: stats, realServers: try realServers(of: svc.id)))
        }
        return LiveTable(services: live, timeouts: try timeouts(), syncDaemons: try syncDaemons(), sysctls: try sysctls())
    }

    public func service(_ id: VirtualService.ID) throws(KernelError) -> LiveService? {
        if case .fwmark(0, _) = id { return nil }
        let msgs: [NetlinkMessage]
        do {
            msgs = try transact(IPVSRequest.getService(id, family: socket.family), what: "GET_SERVICE \(id)")
        } catch {
            if error.errno == ESRCH { return nil }
            throw error
        }
        guard let m = msgs.first else { throw IPVSReply.malformed("GET_SERVICE returned no reply") }
        let (svc, stats) = try IPVSReply.service(from: m)
        // Sorted by identity, as in a snapshot (the kernel lists them newest first).
        let servers = try realServers(of: id).sorted { $0.server.id < $1.server.id }
        return LiveService(service: svc, stats: stats, realServers: servers)
    }

    /// One request, answered in lock step: the data messages of the answer, after the trailing
    /// ACK (doit) or `NLMSG_DONE` (dump) has been read. Messages with another sequence number
    /// (late answers to a request that timed out) are skipped.
    private func transact(_ request: IPVSRequest, what: String, dump: Bool = false) throws(KernelError) -> [NetlinkMessage] {
        let (bytes, seq) = socket.stamp(request, ack: !dump)
        if case .failure(.errno(let e)) = socket.send(bytes) { throw ioError(e, what: what) }
        var data: [NetlinkMessage] = []
        while true {
            let msgs: [NetlinkMessage]
            switch socket.receive() {
            case .success(let m): msgs = m
            case .failure(.errno(let e)):
                try? socket.reopen(namespacePath: namespacePath, timeout: timeout)
                throw ioError(e, what: what)
            }
            for m in msgs where m.seq == seq {
                switch m.type {
                case NetlinkConst.msgError:
                    let code = m.errorCode ?? -EPROTO
                    if code != 0 { throw readError(-code, what: what) }
                    return data
                case NetlinkConst.msgDone:
                    if m.payload.count >= 4 {
                        let code = Int32(bitPattern: readLE32(m.payload, 0))
                        if code < 0 { throw readError(-code, what: what) }
                    }
                    return data
                case NetlinkConst.msgOverrun:
                    throw ioError(ENOBUFS, what: what)
                default:
                    if m.type == socket.family { data.append(m) }
                    // A doit reply carries no NLM_F_MULTI; its ACK follows, keep reading.
                }
            }
        }
    }

    private func readError(_ e: Int32, what: String) -> KernelError {
        var err = KernelError.fromErrno(e, write: nil)
        err.message = "reading IPVS (\(what)): " + err.message.replacingPrefix("request: ")
        return err
    }

    private func ioError(_ e: Int32, what: String, write: KernelWrite? = nil) -> KernelError {
        switch e {
        case EAGAIN, EWOULDBLOCK, ETIMEDOUT:
            return KernelError(.timeout, errno: e, write: write, message: "\(write?.description ?? what): no answer from the kernel within \(timeout); the kernel may be busy, retry")
        case ENOBUFS:
            return KernelError(.bufferOverrun, errno: e, write: write, message: "\(write?.description ?? what): the answer was lost in a netlink receive-buffer overrun; the change may or may not have been applied, re-read the table")
        default:
            return KernelError(.other, errno: e, write: write, message: "\(write?.description ?? what): netlink socket error: \(String(cString: strerror(e)))")
        }
    }

    // MARK: - Writes

    public func execute(_ writes: [KernelWrite], stopOnError: Bool) -> [WriteOutcome] {
        // Sysctl writes are file writes, not netlink requests: the netlink writes before one are
        // finished (their answers read) before it is made, so the order is kept.
        guard writes.contains(where: { if case .setSysctls = $0 { true } else { false } }) else {
            return executeNetlink(writes, stopOnError: stopOnError)
        }
        var outcomes: [WriteOutcome] = []
        var segment: [KernelWrite] = []
        var stopped = false
        func flush() {
            guard !segment.isEmpty else { return }
            if stopped {
                outcomes += Array(repeating: .skipped, count: segment.count)
            } else {
                let o = executeNetlink(segment, stopOnError: stopOnError)
                if stopOnError && o.contains(where: { $0.error != nil }) { stopped = true }
                outcomes += o
            }
            segment.removeAll()
        }
        for w in writes {
            guard case .setSysctls(let values) = w else {
                segment.append(w)
                continue
            }
            flush()
            if stopped {
                outcomes.append(.skipped)
                continue
            }
            writeCount += 1
            let (e, field) = sysctlFiles.write(values)
            if e == 0 {
                outcomes.append(.applied)
            } else {
                var err = KernelError.fromErrno(e, write: w)
                if let field { err.message += " (writing \(SysctlFiles.directory)\(field.sysctlName))" }
                outcomes.append(.failed(err))
                if stopOnError { stopped = true }
            }
        }
        flush()
        return outcomes
    }

    private func executeNetlink(_ writes: [KernelWrite], stopOnError: Bool) -> [WriteOutcome] {
        var outcomes = [WriteOutcome](repeating: .skipped, count: writes.count)
        var pending: [UInt32: Int] = [:]
        var next = 0
        var stop = false

        func fail(_ i: Int, _ e: KernelError) {
            outcomes[i] = .failed(e)
            if stopOnError { stop = true }
        }
        /// Answers lost: every outstanding write is reported failed, and the socket is replaced.
        func abandonPending(_ e: Int32) {
            for (_, i) in pending.sorted(by: { $0.value < $1.value }) {
                fail(i, ioError(e, what: "", write: writes[i]))
            }
            pending.removeAll()
            try? socket.reopen(namespacePath: namespacePath, timeout: timeout)
        }
        func handle(_ msgs: [NetlinkMessage]) {
            for m in msgs where m.type == NetlinkConst.msgError {
                guard let i = pending.removeValue(forKey: m.seq) else { continue }
                let code = m.errorCode ?? -EPROTO
                if code == 0 {
                    outcomes[i] = .applied
                } else {
                    fail(i, KernelError.fromErrno(-code, write: writes[i]))
                }
            }
        }

        while true {
            // Send as many requests as the window allows, packed into one datagram.
            if !stop && next < writes.count && pending.count < window {
                var datagram: [UInt8] = []
                var batch: [(UInt32, Int)] = []
                while !stop && next < writes.count && pending.count + batch.count < window {
                    let i = next
                    let request: IPVSRequest
                    do {
                        request = try IPVSRequest.forWrite(writes[i], family: socket.family)
                    } catch {
                        next += 1
                        fail(i, error)
                        continue
                    }
                    if !datagram.isEmpty && datagram.count + request.bytes.count > NetlinkSocket.maxDatagram { break }
                    let (bytes, seq) = socket.stamp(request, ack: true)
                    datagram += bytes
                    batch.append((seq, i))
                    next += 1
                }
                if !datagram.isEmpty {
                    switch socket.send(datagram) {
                    case .success:
                        writeCount += batch.count
                        for (seq, i) in batch { pending[seq] = i }
                    case .failure(.errno(let e)):
                        // Nothing of this datagram reached the kernel.
                        for (_, i) in batch { fail(i, ioError(e, what: "", write: writes[i])) }
                    }
                }
            }
            if pending.isEmpty {
                if stop || next >= writes.count { break }
                continue
            }
            switch socket.receive() {
            case .success(let msgs):
                handle(msgs)
            case .failure(.errno(let e)) where e == ENOBUFS:
                // The oldest answers are still queued; read them, the rest are lost.
                while case .success(let msgs) = socket.receive(dontWait: true) { handle(msgs) }
                abandonPending(ENOBUFS)
            case .failure(.errno(let e)):
                abandonPending(e)
            }
        }
        return outcomes
    }
}

extension String {
    fileprivate func replacingPrefix(_ p: String) -> String {
        hasPrefix(p) ? String(dropFirst(p.count)) : self
    }
}
