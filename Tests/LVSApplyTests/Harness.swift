import LVSApply
import LVSKernel
import LVSModel
import LVSPlan
import Testing

/// A fake kernel plus the store-side state a caller keeps between plans (ownership, drains, time).
final class Harness {
    let kernel: FakeKernel
    var owners: [VirtualService.ID: String] = [:]
    var drains: [DrainState] = []
    var now: Double = 1000
    var policy = PlanPolicy(allowRemoval: true, allowDelete: true)

    init(_ state: LiveTable = LiveTable()) {
        kernel = FakeKernel(state: state)
    }

    func plan(_ desired: [DesiredState]) throws -> Plan {
        Planner.plan(PlanInput(desired: desired, live: try kernel.snapshot(), owners: owners, drains: drains, now: now, policy: policy))
    }

    /// Applies `plan`, checks one kernel write per change, and persists the plan's bookkeeping.
    @discardableResult
    func apply(_ plan: Plan, events: inout [ApplyEvent]) throws -> ApplyReport {
        let before = kernel.writeCount
        var collected: [ApplyEvent] = []
        let report = try Applier(kernel: kernel).apply(plan, verifyFingerprint: true) { collected.append($0) }
        events += collected
        #expect(kernel.writeCount - before == plan.changes.count)
        #expect(report.writes == plan.changes.count)
        #expect(report.applied == plan.changes.count)
        #expect(collected.count == plan.changes.count)
        #expect(collected.map(\.change) == plan.changes)
        owners = plan.owners(after: owners)
        drains = plan.drains(after: drains)
        return report
    }

    @discardableResult
    func apply(_ plan: Plan) throws -> ApplyReport {
        var ignored: [ApplyEvent] = []
        return try apply(plan, events: &ignored)
    }

    /// Plans and applies until the plan is empty; returns the number of non-empty rounds.
    func converge(_ desired: [DesiredState], maxRounds: Int = 4) throws -> Int {
        for round in 0..<maxRounds {
            let p = try plan(desired)
            if p.isEmpty { return round }
            #expect(p.violations.isEmpty, "\(p.violations)")
            try apply(p)
        }
        return maxRounds
    }
}

/// Builders shared by the apply tests.
enum A {
    static let vip = IPAddress.v4(0x0a00_0064)

    static func sid(_ port: UInt16 = 80, _ proto: IPProtocol = .tcp) -> VirtualService.ID { .address(proto, vip, port: port) }

    static func rs(_ n: UInt32, port: UInt16 = 80, weight: UInt32 = 1, fwd: ForwardingMethod = .directRoute) -> RealServer {
        RealServer(id: RealServer.ID(address: .v4(0x0a00_0000 | n), port: port), forwarding: fwd, weight: weight)
    }

    static func spec(_ s: VirtualService, _ servers: [RealServer], drainTimeout: UInt32? = nil) -> ServiceSpec {
        ServiceSpec(name: "\(s.id)", service: s, realServers: servers.map { RealServerSpec(server: $0) }, drainTimeout: drainTimeout)
    }

    static func web(_ specs: [ServiceSpec], settings: GlobalSettings = GlobalSettings()) -> DesiredState {
        DesiredState(manifest: "web", services: specs, settings: settings)
    }

    /// The configuration of the services `desired` declares, as the kernel should hold them.
    static func expectedTable(_ desired: DesiredState) -> IPVSTable {
        IPVSTable(entries: desired.services.map { spec in
            var s = spec.service
            if s.persistenceEngine == "" { s.persistenceEngine = nil }
            return IPVSTable.Entry(service: s, realServers: spec.realServers.map(\.server))
        })
    }
}
