public import LVSModel

/// An in-memory IPVS table that answers like the kernel: the same errno for duplicates, missing
/// objects and out-of-range values, the same defaults filled in, counters kept per object.
///
/// For fast unit tests only: it is held to the kernel's behaviour by the contract suite, which
/// also runs against the real kernel in the lab guest. Failures can be injected per write.
public final class FakeKernel: IPVSKernel {
    /// The current state; tests may read and seed it directly.
    public var state: LiveTable
    /// Scheduler modules that "load"; others fail with ENOENT like a missing module.
    public var availableSchedulers: Set<Scheduler>
    /// Network interfaces that exist, for sync daemons.
    public var interfaces: Set<String> = ["lo", "dummy0", "eth0"]
    /// Sysctls this "kernel" lacks (an old kernel): writing one fails with ENOENT (a test that
    /// sets this also sets the field nil in `state.sysctls`, as a snapshot would show it).
    public var missingSysctls: Set<IPVSSysctls.Field> = []
    public private(set) var writeCount = 0
    /// Every write executed (successful or not), in order.
    public private(set) var log: [KernelWrite] = []

    private var injected: [(matches: @Sendable (KernelWrite) -> Bool, errno: Int32)] = []

    public init(state: LiveTable = LiveTable(), availableSchedulers: Set<Scheduler>? = nil) {
        self.state = state
        self.availableSchedulers = availableSchedulers ?? Set(Scheduler.known.filter { $0 != .twos } + [.none])
    }

    /// Makes the next write matching `matches` fail with `errno` (once).
    public func injectFailure(errno: Int32, when matches: @escaping @Sendable (KernelWrite) -> Bool) {
        injected.append((matches, errno))
    }

    public func info() throws(KernelError) -> KernelInfo {
        KernelInfo(version: 0x010201, connectionTableSize: 4096)
    }

    public func snapshot() throws(KernelError) -> LiveTable { state }

    public func service(_ id: VirtualService.ID) throws(KernelError) -> LiveService? { state[id] }

    public func execute(_ writes: [KernelWrite], stopOnError: Bool) -> [WriteOutcome] {
        var outcomes: [WriteOutcome] = []
        var failed = false
        for w in writes {
            if failed && stopOnError {
                outcomes.append(.skipped)
                continue
            }
            writeCount += 1
            log.append(w)
            if let i = injected.firstIndex(where: { $0.matches(w) }) {
                let e = injected.remove(at: i).errno
                outcomes.append(.failed(KernelError.fromErrno(e, write: w)))
                failed = true
                continue
            }
            if let e = apply(w) {
                outcomes.append(.failed(KernelError.fromErrno(e, write: w)))
                failed = true
            } else {
                outcomes.append(.applied)
            }
        }
        return outcomes
    }

    // MARK: - The kernel's rules

    private static let EEXIST: Int32 = 17, ESRCH: Int32 = 3, ENOENT: Int32 = 2, ERANGE: Int32 = 34
    private static let EINVAL: Int32 = 22, ENODEV: Int32 = 19
    /// INT_MAX / HZ with Debian's HZ=250.
    static let maxTimeout: UInt32 = 8_589_934

    private func index(of id: VirtualService.ID) -> Int? {
        state.services.firstIndex { $0.service.id == id }
    }

    private func checkService(_ s: VirtualService) -> Int32? {
        if case .fwmark(0, _) = s.id { return Self.EINVAL }
        // The kernel's order: scheduler module, persistence engine module, then the IPv6 netmask.
        if !availableSchedulers.contains(s.scheduler) { return Self.ENOENT }
        if let pe = s.persistenceEngine, !pe.isEmpty, pe != "sip" { return Self.ENOENT }
        if s.id.family == .ipv6 && !(1...128).contains(s.netmask) { return Self.EINVAL }
        return nil
    }

    private func checkRealServer(_ r: RealServer, in svc: VirtualService) -> Int32? {
        if r.id.family != svc.id.family {
            if r.forwarding != .tunnel || !state.syncDaemons.isEmpty { return Self.EINVAL }
        }
        if r.weight > UInt32(Int32.max) { return Self.ERANGE }
        if r.lowerThreshold > r.upperThreshold && !(r.upperThreshold == 0 && r.lowerThreshold == 0) {
            return Self.ERANGE
        }
        if r.tunnel.type == .gue && r.tunnel.port == 0 { return Self.EINVAL }
        return nil
    }

    private static func addressAcceptable(_ a: IPAddress) -> Bool {
        switch a {
        case .v4(let v):
            // 0.0.0.0, broadcast, multicast and class E are refused (not RTN_UNICAST/RTN_LOCAL).
            return v != 0 && v != 0xffff_ffff && (v >> 28) != 0xe && (v >> 28) != 0xf
        case .v6(let b):
            let bytes = b.array
            if bytes.allSatisfy({ $0 == 0 }) { return false }
            if bytes[0] == 0xff { return false }
            if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { return false }
            return true
        }
    }

    private func apply(_ w: KernelWrite) -> Int32? {
        switch w {
        case .createService(let s):
            // The kernel looks the service up first: a duplicate is EEXIST whatever its attributes.
            if case .fwmark(0, _) = s.id { return Self.EINVAL }
            if index(of: s.id) != nil { return Self.EEXIST }
            if let e = checkService(s) { return e }
            var s = s
            if s.persistenceEngine == "" { s.persistenceEngine = nil }
            state.services.append(LiveService(service: s))
            state = LiveTable(services: state.services, timeouts: state.timeouts, syncDaemons: state.syncDaemons, sysctls: state.sysctls)
        case .updateService(let s):
            guard let i = index(of: s.id) else { return Self.ESRCH }
            if let e = checkService(s) { return e }
            var s = s
            if s.persistenceEngine == "" { s.persistenceEngine = nil }
            state.services[i].service = s
        case .deleteService(let id):
            guard let i = index(of: id) else { return Self.ESRCH }
            state.services.remove(at: i)
        case .addRealServer(let sid, let r):
            guard let i = index(of: sid) else { return Self.ESRCH }
            if let e = checkRealServer(r, in: state.services[i].service) { return e }
            if state.services[i].realServers.contains(where: { $0.server.id == r.id }) { return Self.EEXIST }
            if !Self.addressAcceptable(r.id.address) { return Self.EINVAL }
            state.services[i].realServers.append(LiveRealServer(server: r))
            state.services[i].realServers.sort { $0.server.id < $1.server.id }
        case .updateRealServer(let sid, let r):
            guard let i = index(of: sid) else { return Self.ESRCH }
            if let e = checkRealServer(r, in: state.services[i].service) { return e }
            guard let j = state.services[i].realServers.firstIndex(where: { $0.server.id == r.id }) else {
                return Self.ENOENT
            }
            state.services[i].realServers[j].server = r
        case .deleteRealServer(let sid, let rid):
            guard let i = index(of: sid) else { return Self.ESRCH }
            guard let j = state.services[i].realServers.firstIndex(where: { $0.server.id == rid }) else {
                return Self.ENOENT
            }
            state.services[i].realServers.remove(at: j)
        case .setTimeouts(let t):
            for v in [t.tcp, t.tcpFin, t.udp] where v > Self.maxTimeout { return Self.EINVAL }
            if t.tcp != 0 { state.timeouts.tcp = t.tcp }
            if t.tcpFin != 0 { state.timeouts.tcpFin = t.tcpFin }
            if t.udp != 0 { state.timeouts.udp = t.udp }
        case .setSysctls(let s):
            // The kernel writes file by file: values before a refused one stay written.
            for f in s.fields {
                guard let text = s.text(f) else { continue }
                if s.restricted(to: [f]).kernelRejection != nil { return Self.EINVAL }
                if missingSysctls.contains(f) { return Self.ENOENT }
                state.sysctls.set(f, text: text)
            }
        case .startSyncDaemon(let d):
            if state.syncDaemons.contains(where: { $0.state == d.state }) { return Self.EEXIST }
            if let g = d.group {
                let multicast: Bool
                switch g {
                case .v4(let v): multicast = (v >> 28) == 0xe
                case .v6(let b): multicast = b.array[0] == 0xff
                }
                if !multicast { return Self.EINVAL }
            }
            let mixed = state.services.contains { s in s.realServers.contains { $0.server.id.family != s.service.id.family } }
            if mixed { return Self.EINVAL }
            guard interfaces.contains(d.interface) else { return Self.ENODEV }
            var d = d
            if d.group == nil { d.group = .v4(0xe000_0051) }
            if d.port == 0 { d.port = 8848 }
            if d.ttl == 0 { d.ttl = 1 }
            if d.maxLength == 0 { d.maxLength = 1472 }
            state.syncDaemons.append(d)
            state.syncDaemons.sort { $0.state.rawValue < $1.state.rawValue }
        case .stopSyncDaemon(let st):
            guard let i = state.syncDaemons.firstIndex(where: { $0.state == st }) else { return Self.ESRCH }
            state.syncDaemons.remove(at: i)
        case .zeroCounters(let id):
            for i in state.services.indices where id == nil || state.services[i].service.id == id {
                state.services[i].stats = IPVSStats()
                for j in state.services[i].realServers.indices {
                    state.services[i].realServers[j].stats = IPVSStats()
                }
            }
            if let id, index(of: id) == nil { return Self.ESRCH }
        case .flush:
            state.services.removeAll()
        }
        return nil
    }
}
