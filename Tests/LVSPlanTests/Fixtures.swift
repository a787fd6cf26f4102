import LVSModel
import LVSPlan

/// Small builders for planner tests: one VIP, real servers 10.0.0.<n>.
enum F {
    static let vip = IPAddress.v4(0x0a00_0064)  // 10.0.0.100

    static func sid(_ port: UInt16 = 80, _ proto: IPProtocol = .tcp) -> VirtualService.ID {
        .address(proto, vip, port: port)
    }

    static func svc(
        _ port: UInt16 = 80, _ proto: IPProtocol = .tcp, scheduler: Scheduler = .wlc, flags: ServiceFlags = [],
        timeout: UInt32 = 0, netmask: UInt32? = nil, pe: String? = nil
    ) -> VirtualService {
        VirtualService(id: sid(port, proto), scheduler: scheduler, flags: flags, timeout: timeout, netmask: netmask, persistenceEngine: pe)
    }

    static func rid(_ n: UInt32, _ port: UInt16 = 80) -> RealServer.ID {
        RealServer.ID(address: .v4(0x0a00_0000 | n), port: port)
    }

    static func rs(
        _ n: UInt32, port: UInt16 = 80, weight: UInt32 = 1, fwd: ForwardingMethod = .directRoute,
        upper: UInt32 = 0, lower: UInt32 = 0, tunnel: TunnelSettings = .default
    ) -> RealServer {
        RealServer(id: rid(n, port), forwarding: fwd, weight: weight, upperThreshold: upper, lowerThreshold: lower, tunnel: tunnel)
    }

    static func spec(_ s: VirtualService, _ servers: [RealServer], name: String = "svc", drainTimeout: UInt32? = nil) -> ServiceSpec {
        ServiceSpec(name: name, service: s, realServers: servers.map { RealServerSpec(server: $0) }, drainTimeout: drainTimeout)
    }

    static func desired(_ manifest: String, _ specs: [ServiceSpec], settings: GlobalSettings = GlobalSettings()) -> DesiredState {
        DesiredState(manifest: manifest, services: specs, settings: settings)
    }

    /// A desired state of manifest `web`.
    static func desired(_ specs: [ServiceSpec], settings: GlobalSettings = GlobalSettings()) -> DesiredState {
        DesiredState(manifest: "web", services: specs, settings: settings)
    }

    static func live(_ s: VirtualService, _ servers: [RealServer], active: [UInt32: UInt32] = [:], inactive: [UInt32: UInt32] = [:]) -> LiveService {
        LiveService(service: s, realServers: servers.map { r in
            let n = r.id.address.bytes[3]
            return LiveRealServer(server: r, activeConnections: active[UInt32(n)] ?? 0, inactiveConnections: inactive[UInt32(n)] ?? 0)
        })
    }

    static func table(_ services: [LiveService], timeouts: Timeouts = .kernelDefault, daemons: [SyncDaemon] = []) -> LiveTable {
        LiveTable(services: services, timeouts: timeouts, syncDaemons: daemons)
    }

    static func drain(_ port: UInt16, _ n: UInt32, proto: IPProtocol = .tcp, started: Double = 1000, deadline: Double = 1030) -> DrainState {
        DrainState(service: sid(port, proto), realServer: rid(n), manifest: "web", startedAt: started, deadline: deadline)
    }

    /// A drain of 10.0.0.<n>:80 in tcp/10.0.0.100:80.
    static func drain(_ n: UInt32, started: Double = 1000, deadline: Double = 1030) -> DrainState {
        drain(80, n, started: started, deadline: deadline)
    }

    static func key(_ port: UInt16 = 80, _ n: UInt32, proto: IPProtocol = .tcp) -> ServiceRealServerKey {
        ServiceRealServerKey(service: sid(port, proto), realServer: rid(n))
    }

    /// `drainRealServer tcp/10.0.0.100:80 10.0.0.4:80: not in manifest…` — the line a table test expects.
    static func line(_ c: Change) -> String {
        var s = c.action.rawValue
        if let sv = c.service { s += " \(sv)" }
        if let r = c.realServer { s += " \(r)" }
        return s + ": " + c.reasonText
    }
}
