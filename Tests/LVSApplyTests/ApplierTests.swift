import LVSApply
import LVSKernel
import LVSModel
import LVSPlan
import Testing

/// A named step from one desired state to another.
struct ConvergeCase: Sendable, CustomTestStringConvertible {
    var name: String
    var from: DesiredState
    var to: DesiredState
    /// Non-empty plans needed to reach `to` (2 when a drain must finish).
    var rounds: Int
    var testDescription: String { name }
}

extension ConvergeCase {
    static let base = A.web([
        A.spec(VirtualService(id: A.sid(80), scheduler: .wrr), [A.rs(1, weight: 10), A.rs(2, weight: 10), A.rs(3, weight: 10)]),
        A.spec(VirtualService(id: A.sid(53, .udp), scheduler: .rr), [A.rs(1, port: 53), A.rs(2, port: 53)]),
    ])

    static func edit(_ f: (inout [ServiceSpec], inout GlobalSettings) -> Void) -> DesiredState {
        var s = base.services
        var g = base.settings
        f(&s, &g)
        return A.web(s, settings: g)
    }

    static let all: [ConvergeCase] = [
        ConvergeCase(name: "create from empty", from: A.web([]), to: base, rounds: 1),
        ConvergeCase(name: "weights", from: base, to: edit { s, _ in s[0].realServers[1].server.weight = 50 }, rounds: 1),
        ConvergeCase(name: "scheduler, persistence and PE", from: base, to: edit { s, _ in
            s[0].service.scheduler = .sh
            s[0].service.flags = [.persistent, .sched1]
            s[0].service.timeout = 600
            s[0].service.persistenceEngine = "sip"
        }, rounds: 1),
        ConvergeCase(name: "forwarding and tunnel", from: base, to: edit { s, _ in
            s[0].realServers[0].server.forwarding = .tunnel
            s[0].realServers[0].server.tunnel = TunnelSettings(type: .gue, port: 6080, checksum: .checksum)
            s[0].realServers[1].server.forwarding = .masquerade
        }, rounds: 1),
        ConvergeCase(name: "real-server port change", from: base, to: edit { s, _ in s[0].realServers[2].server.id.port = 8080 }, rounds: 1),
        ConvergeCase(
            name: "real server removed without connections: deleted at once", from: base,
            to: edit { s, _ in s[0].realServers.removeLast() }, rounds: 1),
        ConvergeCase(name: "UDP real server removed: deleted at once", from: base, to: edit { s, _ in s[1].realServers.removeLast() }, rounds: 1),
        ConvergeCase(name: "service removed", from: base, to: edit { s, _ in s.removeLast() }, rounds: 1),
        ConvergeCase(name: "everything removed", from: base, to: A.web([]), rounds: 1),
        ConvergeCase(name: "timeouts and sync daemons", from: base, to: edit { _, g in
            g.timeouts = Timeouts(tcp: 600, tcpFin: 60, udp: 30)
            g.syncDaemons = [SyncDaemon(state: .master, interface: "eth0", syncID: 4)]
        }, rounds: 1),
    ]
}

@Suite("Applier against the fake kernel")
struct ApplierTests {
    @Test(arguments: ConvergeCase.all)
    func applyThenReplanIsEmpty(_ c: ConvergeCase) throws {
        let h = Harness()
        #expect(try h.converge([c.from]) <= 1)
        #expect(try h.converge([c.to]) == c.rounds)
        #expect(try h.plan([c.to]).isEmpty)
        #expect(h.kernel.state.table == A.expectedTable(c.to))
        #expect(h.drains.isEmpty)
        #expect(Set(h.owners.keys) == Set(c.to.services.map(\.service.id)))
    }

    @Test func applyThenReplanIsEmptyWithoutForeignServicesTouched() throws {
        let foreign = LiveService(service: VirtualService(id: A.sid(9000), scheduler: .rr), realServers: [LiveRealServer(server: A.rs(9))])
        let h = Harness(LiveTable(services: [foreign]))
        let d = ConvergeCase.base
        let p = try h.plan([d])
        #expect(p.foreign == [A.sid(9000)])
        try h.apply(p)
        #expect(try h.plan([d]).isEmpty)
        #expect(h.kernel.state[A.sid(9000)] == foreign)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
    func randomizedTablesConverge(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let h = Harness()
        for _ in 0..<4 {
            let d = RandomTable.desired(&rng)
            let rounds = try h.converge([d])
            #expect(rounds <= 2, "seed \(seed)")
            #expect(try h.plan([d]).isEmpty, "seed \(seed)")
            #expect(h.kernel.state.table == A.expectedTable(d), "seed \(seed)")
            #expect(h.drains.isEmpty, "seed \(seed)")
        }
    }

    @Test func drainWaitsForConnectionsThenTheDeadline() throws {
        let h = Harness()
        let d = ConvergeCase.base
        try h.apply(try h.plan([d]))
        // The server to be removed has connections.
        guard let i = h.kernel.state.services.firstIndex(where: { $0.service.id == A.sid(80) }) else {
            Issue.record("service missing")
            return
        }
        h.kernel.state.services[i].realServers[2].activeConnections = 5
        var smaller = d
        smaller.services[0].realServers.removeLast()

        let drain = try h.plan([smaller])
        #expect(drain.changes.map(\.action) == [.drainRealServer])
        try h.apply(drain)
        #expect(h.kernel.state[A.sid(80)]?.realServers[2].server.weight == 0)
        #expect(h.drains.map(\.deadline) == [1030])

        h.now = 1029
        let waiting = try h.plan([smaller])
        #expect(waiting.isEmpty)
        #expect(waiting.pendingDrains.map(\.activeConnections) == [5])

        h.now = 1030
        let expired = try h.plan([smaller])
        #expect(expired.changes.map(\.action) == [.deleteRealServer])
        #expect(expired.changes.first?.reasonText == "drain timeout 30 s expired (5 connections left)")
        try h.apply(expired)
        #expect(try h.plan([smaller]).isEmpty)
        #expect(h.drains.isEmpty)
    }

    @Test func stalePlanIsRefusedAfterAnOutOfBandChange() throws {
        let h = Harness()
        try h.apply(try h.plan([ConvergeCase.base]))
        let plan = try h.plan([ConvergeCase.edit { s, _ in s[0].realServers[0].server.weight = 99 }])
        #expect(plan.changes.count == 1)
        try h.kernel.execute(.updateRealServer(A.sid(80), A.rs(2, weight: 3)))
        let writes = h.kernel.writeCount
        #expect {
            try Applier(kernel: h.kernel).apply(plan)
        } throws: { error in
            guard let e = error as? ApplyError, case .stalePlan = e else { return false }
            return "\(e)".contains("stale") && "\(e)".contains("nothing was written")
        }
        #expect(h.kernel.writeCount == writes)
        #expect(h.kernel.state[A.sid(80)]?.realServers[0].server.weight == 10)
    }

    @Test func planWithViolationsIsRefused() throws {
        let h = Harness()
        try h.apply(try h.plan([ConvergeCase.base]))
        h.policy = PlanPolicy()
        let plan = try h.plan([A.web([])])
        #expect(!plan.violations.isEmpty)
        let writes = h.kernel.writeCount
        #expect(throws: ApplyError.planHasViolations(plan.violations)) { try Applier(kernel: h.kernel).apply(plan) }
        #expect(h.kernel.writeCount == writes)
    }

    @Test func malformedChangeIsRefusedBeforeAnyWrite() throws {
        let h = Harness()
        var plan = try h.plan([ConvergeCase.base])
        plan.changes[1].after = nil
        #expect {
            try Applier(kernel: h.kernel).apply(plan)
        } throws: { error in
            guard let e = error as? ApplyError, case .malformedChange(let i, _, _) = e else { return false }
            return i == 1
        }
        #expect(h.kernel.writeCount == 0)
    }

    @Test func emptyPlanWritesNothing() throws {
        let h = Harness()
        let report = try Applier(kernel: h.kernel).apply(try h.plan([A.web([])]))
        #expect(report == ApplyReport())
        #expect(h.kernel.writeCount == 0)
    }

    /// A plan touching every kind of change, failing at its last write, is taken back completely.
    @Test func failureMidApplyUndoesEarlierChanges() throws {
        let h = Harness()
        let start = A.web(
            [
                A.spec(VirtualService(id: A.sid(80), scheduler: .wrr), [A.rs(1, weight: 10), A.rs(2, weight: 10), A.rs(3, weight: 10), A.rs(4, port: 8080)]),
                A.spec(VirtualService(id: A.sid(443)), [A.rs(1, port: 443), A.rs(2, port: 443)]),
            ],
            settings: GlobalSettings(syncDaemons: [SyncDaemon(state: .backup, interface: "eth0", syncID: 1)]))
        try h.apply(try h.plan([start]))
        // rs 3 has a connection: removing it drains (a connectionless one is deleted at once).
        if let s = h.kernel.state.services.firstIndex(where: { $0.service.id == A.sid(80) }),
            let r = h.kernel.state.services[s].realServers.firstIndex(where: { $0.server.id == A.rs(3).id })
        {
            h.kernel.state.services[s].realServers[r].activeConnections = 1
        }
        let target = A.web(
            [
                A.spec(VirtualService(id: A.sid(80), scheduler: .rr), [A.rs(1, weight: 20), A.rs(2, weight: 10), A.rs(4, port: 8081), A.rs(5)]),
                A.spec(VirtualService(id: A.sid(8443)), [A.rs(1, port: 8443)]),
            ],
            settings: GlobalSettings(
                timeouts: Timeouts(tcp: 600, tcpFin: 0, udp: 0), syncDaemons: [],
                sysctls: IPVSSysctls(sloppyTcp: true, syncThreshold: .init(threshold: 2, period: 40))))
        let plan = try h.plan([target])
        // Every kernel action; the rendered keepalived config is written by the reconciler after
        // the kernel writes (its undo is covered there), so it is not part of this plan.
        #expect(Set(plan.changes.map(\.action)) == Set(Change.Action.allCases.filter { $0 != .startSyncDaemon && !$0.isFileWrite }))
        guard let last = plan.changes.last else {
            Issue.record("plan is empty")
            return
        }
        #expect(last.action == .stopSyncDaemon)

        let before = h.kernel.state
        let writesBefore = h.kernel.writeCount
        h.kernel.injectFailure(errno: 22) { $0 == .stopSyncDaemon(.backup) }
        var events: [ApplyEvent] = []
        #expect {
            try Applier(kernel: h.kernel).apply(plan) { events.append($0) }
        } throws: { error in
            guard let e = error as? ApplyError, case .changeFailed(let f) = e else { return false }
            let text = "\(e)"
            return f.index == plan.changes.count - 1 && f.error.errno == 22 && f.undoFailures.isEmpty
                && f.report.undone == plan.changes.count - 1
                && text.contains("web: settings.syncDaemons") && text.contains("errno 22 EINVAL")
                && text.contains("the kernel is as before the apply")
        }
        // The kernel is back where it was (counters aside).
        #expect(h.kernel.state.table == before.table)
        #expect(h.kernel.state.timeouts == before.timeouts)
        #expect(h.kernel.state.syncDaemons == before.syncDaemons)
        #expect(h.kernel.state.sysctls == before.sysctls)
        #expect(h.kernel.state.fingerprint == before.fingerprint)

        let planEvents = events.filter { $0.origin == .plan }
        let undoEvents = events.filter { $0.origin == .undo }
        #expect(planEvents.count == plan.changes.count)
        #expect(planEvents.last?.outcome.error?.errno == 22)
        // Undo runs newest first; a deleted service comes back with its real servers.
        #expect(undoEvents.first?.index == plan.changes.count - 2)
        #expect(undoEvents.map(\.index) == undoEvents.map(\.index).sorted(by: >))
        #expect(undoEvents.allSatisfy { $0.outcome == .applied })
        #expect(undoEvents.contains { $0.write == .createService(VirtualService(id: A.sid(443))) })
        #expect(undoEvents.count == plan.changes.count - 1 + 2)  // deleteService undo = create + 2 adds
        #expect(h.kernel.writeCount - writesBefore == plan.changes.count + undoEvents.count)
    }

    @Test func failureInTheMiddleSkipsTheRestAndUndoesTheStart() throws {
        let h = Harness()
        let plan = try h.plan([ConvergeCase.base])
        #expect(plan.changes.count == 7)
        // Fail the third write (the first real server of tcp/…:80): both services exist, nothing else.
        let third = try plan.changes[2].kernelWrite()
        h.kernel.injectFailure(errno: 34) { $0 == third }
        var events: [ApplyEvent] = []
        #expect {
            try Applier(kernel: h.kernel).apply(plan) { events.append($0) }
        } throws: { error in
            guard let e = error as? ApplyError, case .changeFailed(let f) = e else { return false }
            return f.index == 2 && f.report.applied == 2 && f.report.skipped == 4 && f.report.undone == 2 && f.report.failed == 1
                && "\(e)" == "apply failed at change 3 (web: services[0].realServers[0]): add real server 10.0.0.1:80 to tcp/10.0.0.100:80: weight or thresholds out of range (weight 0-2147483647, lower threshold ≤ upper) (errno 34 ERANGE); undid 2 earlier changes, the kernel is as before the apply"
        }
        #expect(h.kernel.state.services.isEmpty)
        #expect(events.filter { $0.outcome == .skipped }.count == 4)
        #expect(events.filter { $0.origin == .undo }.map(\.write) == [
            .deleteService(plan.changes[1].service ?? A.sid()),
            .deleteService(plan.changes[0].service ?? A.sid()),
        ])
    }

    @Test func undoFailureIsReported() throws {
        let h = Harness()
        let plan = try h.plan([ConvergeCase.base])
        let third = try plan.changes[2].kernelWrite()
        let firstUndo = try plan.changes[1].undoWrites()
        h.kernel.injectFailure(errno: 22) { $0 == third }
        h.kernel.injectFailure(errno: 1) { firstUndo.contains($0) }
        #expect {
            try Applier(kernel: h.kernel).apply(plan)
        } throws: { error in
            guard let e = error as? ApplyError, case .changeFailed(let f) = e else { return false }
            return f.undoFailures.count == 1 && f.report.undone == 1 && "\(e)".contains("partly changed")
                && "\(e)".contains("EPERM")
        }
        #expect(h.kernel.state.services.count == 1)
    }

    @Test func everyChangeMapsToOneWriteAndBack() throws {
        let h = Harness()
        try h.apply(try h.plan([ConvergeCase.base]))
        let plan = try h.plan([A.web(
            [A.spec(VirtualService(id: A.sid(80), scheduler: .rr), [A.rs(1, weight: 2), A.rs(2, weight: 10), A.rs(3, weight: 10), A.rs(7)])],
            settings: GlobalSettings(timeouts: Timeouts(tcp: 1, tcpFin: 2, udp: 3)))])
        for c in plan.changes {
            let w = try c.kernelWrite()
            switch (c.action, w) {
            case (.updateService, .updateService(let s)): #expect(c.after?.service == s)
            case (.addRealServer, .addRealServer(let id, let r)): #expect(id == c.service && r == c.after?.realServer)
            case (.updateRealServer, .updateRealServer(let id, let r)): #expect(id == c.service && r == c.after?.realServer)
            case (.setTimeouts, .setTimeouts(let t)): #expect(t == Timeouts(tcp: 1, tcpFin: 2, udp: 3))
            case (.deleteService, .deleteService(let id)): #expect(id == c.service)
            default: Issue.record("unexpected mapping \(c.action) → \(w)")
            }
            #expect(try c.undoWrites().count == (c.action == .deleteService ? 1 + (c.before?.realServers?.count ?? 0) : 1))
        }
    }
}

/// Random but valid desired tables from a seed.
enum RandomTable {
    static func desired(_ rng: inout SplitMix64) -> DesiredState {
        let ports: [(UInt16, IPProtocol)] = [(80, .tcp), (443, .tcp), (8080, .tcp), (53, .udp)]
        let schedulers: [Scheduler] = [.rr, .wrr, .wlc, .sh, .mh, .lc]
        var specs: [ServiceSpec] = []
        for (port, proto) in ports where Bool.random(using: &rng) || specs.isEmpty {
            var s = VirtualService(id: A.sid(port, proto), scheduler: schedulers.randomElement(using: &rng) ?? .wlc)
            if Bool.random(using: &rng) {
                s.flags = .persistent
                s.timeout = UInt32.random(in: 1...900, using: &rng)
            }
            if s.scheduler == .sh && Bool.random(using: &rng) { s.flags.insert(.sched1) }
            var servers: [RealServer] = []
            for n in UInt32(1)...6 where Int.random(in: 0..<3, using: &rng) > 0 {
                let p: UInt16 = Bool.random(using: &rng) ? port : port &+ 8000
                var r = A.rs(n, port: p, weight: UInt32.random(in: 0...100, using: &rng))
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: r.forwarding = .masquerade
                case 1:
                    r.forwarding = .tunnel
                    if Bool.random(using: &rng) { r.tunnel = TunnelSettings(type: .gue, port: 6080, checksum: .checksum) }
                default: r.forwarding = .directRoute
                }
                if Bool.random(using: &rng) {
                    r.upperThreshold = UInt32.random(in: 10...1000, using: &rng)
                    r.lowerThreshold = UInt32.random(in: 0...r.upperThreshold, using: &rng)
                }
                servers.append(r)
            }
            specs.append(A.spec(s, servers, drainTimeout: Bool.random(using: &rng) ? 10 : nil))
        }
        return A.web(specs)
    }
}

/// A small seeded generator, so random tables repeat.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
