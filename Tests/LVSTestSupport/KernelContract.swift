public import LVSKernel
public import LVSModel

/// The behaviour every `IPVSKernel` must show, as named checks.
///
/// Each check takes a fresh kernel (an empty IPVS table with the kernel's default timeouts, no
/// sync daemons, an interface `dummy0`, and IPv4 and IPv6 addresses configured so real servers are
/// admitted) and throws a `ContractViolation` describing the first mismatch. The same checks run
/// against `FakeKernel` on any host and against `NetlinkKernel` in the lab guest, which is what
/// keeps the fake honest.
public enum KernelContract {
    /// One named check.
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        public let run: @Sendable (any IPVSKernel) throws -> Void
        public var description: String { name }
    }

    /// Every check, in a stable order.
    public static let checks: [Check] = [
        Check(name: "create and read back every attribute", run: createAndReadBack),
        Check(name: "update every editable attribute in place", run: updateInPlace),
        Check(name: "delete real servers and services", run: deleteObjects),
        Check(name: "duplicate service or real server is alreadyExists", run: duplicates),
        Check(name: "missing service is noSuchService", run: missingService),
        Check(name: "missing real server is noSuchRealServer", run: missingRealServer),
        Check(name: "unknown scheduler is schedulerUnavailable", run: unknownScheduler),
        Check(name: "weight and thresholds out of range", run: outOfRange),
        Check(name: "invalid values are invalidArgument", run: invalidArguments),
        Check(name: "timeouts get and set, 0 leaves unchanged", run: timeouts),
        Check(name: "sysctls get and set, refused values and what stays written", run: sysctls),
        Check(name: "sync daemons start, list and stop", run: syncDaemons),
        Check(name: "batch with a failing write, stopOnError true and false", run: batchWithFailure),
        Check(name: "round trip: read, write back unchanged, read again", run: roundTrip),
        Check(name: "zero counters and flush", run: zeroAndFlush),
    ]

    public static func check(named name: String) -> Check? { checks.first { $0.name == name } }

    // MARK: - Fixtures

    static func v4(_ s: String) -> IPAddress { IPAddress(s) ?? .v4(0) }
    static func rs(_ s: String) -> RealServer.ID { RealServer.ID(s) ?? RealServer.ID(address: .v4(0), port: 0) }

    static let webID = VirtualService.ID.address(.tcp, v4("192.0.2.10"), port: 80)

    /// A table that uses every attribute the kernel stores.
    public static let fullTable: IPVSTable = {
        let v6VIP = IPAddress("2001:db8::10") ?? .v4(0)
        return IPVSTable(entries: [
            .init(
                service: VirtualService(id: webID, scheduler: .wlc),
                realServers: [
                    RealServer(id: rs("10.0.0.11:80"), forwarding: .directRoute, weight: 1),
                    RealServer(id: rs("10.0.0.12:8080"), forwarding: .masquerade, weight: 0),
                    RealServer(id: rs("10.0.0.13:80"), forwarding: .tunnel, weight: 5, upperThreshold: 100, lowerThreshold: 10),
                    RealServer(id: rs("10.0.0.14:80"), forwarding: .tunnel, weight: 2, tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .checksum)),
                    RealServer(id: rs("10.0.0.15:80"), forwarding: .tunnel, weight: 3, tunnel: TunnelSettings(type: .gre, checksum: .checksum)),
                    RealServer(id: rs("10.0.0.16:80"), forwarding: .tunnel, weight: 4, tunnel: TunnelSettings(type: .gue, port: 5555, checksum: .remoteChecksum)),
                    RealServer(id: rs("[2001:db8:1::5]:80"), forwarding: .tunnel, weight: 7),
                ]),
            .init(
                service: VirtualService(id: .address(.udp, v4("192.0.2.53"), port: 53), scheduler: .rr, flags: [.onePacket]),
                realServers: [RealServer(id: rs("10.0.0.21:5353"), forwarding: .masquerade, weight: 65535)]),
            .init(
                service: VirtualService(id: .address(.sctp, v4("192.0.2.20"), port: 3868), scheduler: .sh, flags: [.sched1, .sched2]),
                realServers: [RealServer(id: rs("10.0.0.31:3868"), weight: 2_147_483_647)]),
            .init(
                service: VirtualService(
                    id: .address(.tcp, v6VIP, port: 443), scheduler: .mh, flags: [.persistent, .sched1], timeout: 600, netmask: 64),
                realServers: [RealServer(id: rs("[2001:db8:1::11]:443"), weight: 1)]),
            .init(
                service: VirtualService(
                    id: .address(.udp, v4("192.0.2.30"), port: 5060), scheduler: .lc, flags: [.persistent], timeout: 360,
                    persistenceEngine: "sip")),
            .init(
                service: VirtualService(id: .fwmark(7, .ipv4), scheduler: .wrr, flags: [.persistent], timeout: 300, netmask: 0xffff_ff00),
                realServers: [RealServer(id: rs("10.0.0.41:0"), weight: 3), RealServer(id: rs("10.0.0.42:0"), weight: 1)]),
            .init(
                service: VirtualService(id: .fwmark(8, .ipv6), scheduler: .sed),
                realServers: [RealServer(id: rs("[2001:db8:2::1]:0"), weight: 1)]),
            .init(service: VirtualService(id: .fwmark(4_000_000_000, .ipv4), scheduler: .nq, flags: [.sched3])),
        ])
    }()

    static func writes(for table: IPVSTable) -> [KernelWrite] {
        table.entries.flatMap { e in
            [KernelWrite.createService(e.service)] + e.realServers.map { .addRealServer(e.service.id, $0) }
        }
    }

    // MARK: - Helpers

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ContractViolation(message()) }
    }

    static func apply(_ k: any IPVSKernel, _ writes: [KernelWrite]) throws {
        for (w, o) in zip(writes, k.execute(writes, stopOnError: true)) {
            if case .applied = o { continue }
            throw ContractViolation("setup write '\(w)' did not apply: \(o)")
        }
    }

    static func expectFailure(_ k: any IPVSKernel, _ w: KernelWrite, _ code: KernelError.Code) throws {
        let o = k.execute([w], stopOnError: true)
        guard o.count == 1, case .failed(let e) = o[0] else {
            throw ContractViolation("'\(w)' should fail with \(code), got \(o)")
        }
        try expect(e.code == code, "'\(w)' should fail with \(code), got \(e.code): \(e)")
        try expect(e.write == w, "the error of '\(w)' should carry that write, got \(e.write.map { "\($0)" } ?? "none")")
        try expect(!e.message.isEmpty, "the error of '\(w)' has no message")
    }

    static func expectTable(_ k: any IPVSKernel, _ expected: IPVSTable, _ context: String) throws {
        let live = try k.snapshot().table
        if live == expected { return }
        var diff: [String] = []
        for e in expected.entries {
            guard let l = live[e.service.id] else { diff.append("missing service \(e.service.id)"); continue }
            if l.service != e.service { diff.append("service \(e.service.id): expected \(e.service), got \(l.service)") }
            if l.realServers != e.realServers {
                diff.append("real servers of \(e.service.id): expected \(e.realServers), got \(l.realServers)")
            }
        }
        for l in live.entries where expected[l.service.id] == nil { diff.append("unexpected service \(l.service.id)") }
        throw ContractViolation("\(context): table differs: " + diff.joined(separator: "; "))
    }

    // MARK: - Checks

    static func createAndReadBack(_ k: any IPVSKernel) throws {
        try apply(k, writes(for: fullTable))
        try expectTable(k, fullTable, "after creating the full table")
        for e in fullTable.entries {
            guard let s = try k.service(e.service.id) else { throw ContractViolation("service(\(e.service.id)) returned nil") }
            try expect(s.service == e.service, "service(\(e.service.id)) returned \(s.service)")
            try expect(s.realServers.map(\.server) == e.realServers, "service(\(e.service.id)) real servers \(s.realServers.map(\.server))")
        }
        try expect(try k.service(.address(.tcp, v4("192.0.2.99"), port: 1)) == nil, "service() of a missing service should be nil")
        let info = try k.info()
        try expect(info.version >= 0x010200, "info version \(info.versionString)")
        try expect(k.writeCount >= writes(for: fullTable).count, "writeCount \(k.writeCount) is below the writes sent")
    }

    static func updateInPlace(_ k: any IPVSKernel) throws {
        try apply(k, writes(for: fullTable))
        var table = fullTable
        var updates: [KernelWrite] = []
        for i in table.entries.indices {
            var s = table.entries[i].service
            switch s.id {
            case webID:
                s.scheduler = .sh; s.flags = [.persistent, .sched2]; s.timeout = 120; s.netmask = 0xffff_0000
                s.persistenceEngine = "sip"
            case .address(.udp, _, port: 5060):
                s.persistenceEngine = nil; s.flags = [.onePacket]; s.timeout = 0; s.scheduler = .rr
            case .address(.tcp, _, port: 443):
                s.netmask = 96; s.scheduler = .wlc; s.flags = []
            default:
                s.scheduler = .dh
            }
            table.entries[i].service = s
            updates.append(.updateService(s))
            for j in table.entries[i].realServers.indices {
                var r = table.entries[i].realServers[j]
                if r.id.family != s.id.family { continue }  // mixed family must stay a tunnel
                r.weight += 10
                r.upperThreshold = 50; r.lowerThreshold = 5
                if r.tunnel.type == .gue {
                    r.tunnel = TunnelSettings(type: .gre, checksum: .none)
                } else if r.tunnel.type == .gre {
                    r.tunnel = TunnelSettings(type: .gue, port: 7000, checksum: .none)
                } else if r.forwarding == .directRoute {
                    r.forwarding = .tunnel
                } else if r.forwarding == .tunnel {
                    r.forwarding = .directRoute
                }
                if r.weight > UInt32(Int32.max) { r.weight = 0 }
                table.entries[i].realServers[j] = r
                updates.append(.updateRealServer(s.id, r))
            }
        }
        try apply(k, updates)
        try expectTable(k, table, "after updating every attribute")
    }

    static func deleteObjects(_ k: any IPVSKernel) throws {
        try apply(k, writes(for: fullTable))
        var table = fullTable
        let removed = table.entries[0].realServers.removeFirst()
        let mixed = table.entries[0].realServers.removeLast()
        let gone = table.entries.removeLast().service.id
        try apply(k, [
            .deleteRealServer(webID, removed.id), .deleteRealServer(webID, mixed.id), .deleteService(gone),
        ])
        try expectTable(k, table, "after deleting")
        try expect(try k.service(gone) == nil, "deleted service \(gone) is still found")
    }

    static func duplicates(_ k: any IPVSKernel) throws {
        let svc = VirtualService(id: webID)
        let r = RealServer(id: rs("10.0.0.11:80"))
        try apply(k, [.createService(svc), .addRealServer(webID, r)])
        try expectFailure(k, .createService(svc), .alreadyExists)
        // A duplicate with other attributes (even an unknown scheduler) is still a duplicate.
        try expectFailure(k, .createService(VirtualService(id: webID, scheduler: Scheduler("bogus"))), .alreadyExists)
        try expectFailure(k, .addRealServer(webID, r), .alreadyExists)
        try expectFailure(k, .addRealServer(webID, RealServer(id: r.id, forwarding: .masquerade, weight: 9)), .alreadyExists)
    }

    static func missingService(_ k: any IPVSKernel) throws {
        let missing = VirtualService.ID.address(.udp, v4("192.0.2.77"), port: 77)
        try apply(k, [.createService(VirtualService(id: webID))])
        try expectFailure(k, .updateService(VirtualService(id: missing)), .noSuchService)
        try expectFailure(k, .deleteService(missing), .noSuchService)
        try expectFailure(k, .deleteService(.fwmark(99, .ipv6)), .noSuchService)
        try expectFailure(k, .addRealServer(missing, RealServer(id: rs("10.0.0.1:77"))), .noSuchService)
        try expectFailure(k, .updateRealServer(missing, RealServer(id: rs("10.0.0.1:77"))), .noSuchService)
        try expectFailure(k, .deleteRealServer(missing, rs("10.0.0.1:77")), .noSuchService)
        try expectFailure(k, .zeroCounters(missing), .noSuchService)
    }

    static func missingRealServer(_ k: any IPVSKernel) throws {
        try apply(k, [.createService(VirtualService(id: webID)), .addRealServer(webID, RealServer(id: rs("10.0.0.11:80")))])
        try expectFailure(k, .updateRealServer(webID, RealServer(id: rs("10.0.0.12:80"))), .noSuchRealServer)
        try expectFailure(k, .deleteRealServer(webID, rs("10.0.0.12:80")), .noSuchRealServer)
        // Same address, other port: another real server.
        try expectFailure(k, .deleteRealServer(webID, rs("10.0.0.11:81")), .noSuchRealServer)
    }

    static func unknownScheduler(_ k: any IPVSKernel) throws {
        try expectFailure(k, .createService(VirtualService(id: webID, scheduler: Scheduler("bogus"))), .schedulerUnavailable)
        try apply(k, [.createService(VirtualService(id: webID))])
        try expectFailure(k, .updateService(VirtualService(id: webID, scheduler: Scheduler("bogus"))), .schedulerUnavailable)
        try expectFailure(
            k, .createService(VirtualService(id: .fwmark(3, .ipv4), flags: [.persistent], timeout: 60, persistenceEngine: "bogus")),
            .schedulerUnavailable)
        try expectTable(k, IPVSTable(entries: [.init(service: VirtualService(id: webID))]), "after refused scheduler changes")
    }

    static func outOfRange(_ k: any IPVSKernel) throws {
        try apply(k, [.createService(VirtualService(id: webID)), .addRealServer(webID, RealServer(id: rs("10.0.0.11:80")))])
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("10.0.0.12:80"), weight: UInt32(Int32.max) + 1)), .outOfRange)
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("10.0.0.12:80"), weight: .max)), .outOfRange)
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("10.0.0.12:80"), upperThreshold: 5, lowerThreshold: 6)), .outOfRange)
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("10.0.0.12:80"), upperThreshold: 0, lowerThreshold: 1)), .outOfRange)
        try expectFailure(k, .updateRealServer(webID, RealServer(id: rs("10.0.0.11:80"), weight: 0x8000_0000)), .outOfRange)
        try expectFailure(k, .updateRealServer(webID, RealServer(id: rs("10.0.0.11:80"), upperThreshold: 1, lowerThreshold: 2)), .outOfRange)
        try apply(k, [.addRealServer(webID, RealServer(id: rs("10.0.0.12:80"), weight: UInt32(Int32.max), upperThreshold: 6, lowerThreshold: 6))])
    }

    static func invalidArguments(_ k: any IPVSKernel) throws {
        try apply(k, [.createService(VirtualService(id: webID))])
        // GUE needs a port, whatever the forwarding method.
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("10.0.0.12:80"), forwarding: .tunnel, tunnel: TunnelSettings(type: .gue))), .invalidArgument)
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("10.0.0.12:80"), tunnel: TunnelSettings(type: .gue))), .invalidArgument)
        // Another address family only through a tunnel.
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("[2001:db8::5]:80"), forwarding: .directRoute)), .invalidArgument)
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("[2001:db8::5]:80"), forwarding: .masquerade)), .invalidArgument)
        // Firewall mark 0 is not an identity.
        try expectFailure(k, .createService(VirtualService(id: .fwmark(0, .ipv4))), .invalidArgument)
        // IPv6 netmask must be a prefix length 1...128.
        let v6 = VirtualService.ID.address(.tcp, IPAddress("2001:db8::20") ?? .v4(0), port: 80)
        try expectFailure(k, .createService(VirtualService(id: v6, netmask: 0)), .invalidArgument)
        try expectFailure(k, .createService(VirtualService(id: v6, netmask: 129)), .invalidArgument)
        // Addresses that are not unicast.
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("0.0.0.0:80"))), .invalidArgument)
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("224.0.0.1:80"))), .invalidArgument)
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("255.255.255.255:80"))), .invalidArgument)
        try expectTable(k, IPVSTable(entries: [.init(service: VirtualService(id: webID))]), "after refused writes")
    }

    static func timeouts(_ k: any IPVSKernel) throws {
        func read() throws -> Timeouts { try k.snapshot().timeouts }
        var t = try read()
        try expect(t == .kernelDefault, "a fresh kernel should have the default timeouts 900/120/300, has \(t)")
        try apply(k, [.setTimeouts(Timeouts(tcp: 10, tcpFin: 20, udp: 30))])
        t = try read()
        try expect(t == Timeouts(tcp: 10, tcpFin: 20, udp: 30), "timeouts after set: \(t)")
        try apply(k, [.setTimeouts(Timeouts(tcp: 0, tcpFin: 25, udp: 0))])
        t = try read()
        try expect(t == Timeouts(tcp: 10, tcpFin: 25, udp: 30), "0 must leave a timeout unchanged: \(t)")
        try apply(k, [.setTimeouts(Timeouts(tcp: 8_589_934, tcpFin: 0, udp: 0))])
        try expectFailure(k, .setTimeouts(Timeouts(tcp: 0x8000_0000, tcpFin: 0, udp: 0)), .invalidArgument)
        t = try read()
        try expect(t == Timeouts(tcp: 8_589_934, tcpFin: 25, udp: 30), "timeouts after a refused set: \(t)")
    }

    static func sysctls(_ k: any IPVSKernel) throws {
        func read() throws -> IPVSSysctls { try k.snapshot().sysctls }
        var s = try read()
        try expect(s == .kernelDefault, "a fresh kernel should have the default IPVS sysctls, has \(s)")
        let set = IPVSSysctls(
            sloppyTcp: true, sloppySctp: true, syncThreshold: .init(threshold: 0, period: 0), syncRefreshPeriod: 8_589_934,
            syncRetries: 3, expireNodestConn: true, expireQuiescentTemplate: true, connReuseMode: 3, backupOnly: true)
        try apply(k, [.setSysctls(set)])
        s = try read()
        try expect(s == set, "sysctls after set: \(s)")
        // Unset fields are left alone.
        try apply(k, [.setSysctls(IPVSSysctls(backupOnly: false))])
        s = try read()
        try expect(s.backupOnly == false && s.sloppyTcp == true, "only backup_only should change: \(s)")
        // Fields are written in order and the kernel refuses a bad one: the earlier ones stay.
        try expectFailure(k, .setSysctls(IPVSSysctls(sloppyTcp: false, syncThreshold: .init(threshold: 50, period: 3))), .invalidArgument)
        try expectFailure(k, .setSysctls(IPVSSysctls(syncRetries: 4)), .invalidArgument)
        s = try read()
        try expect(s.sloppyTcp == false && s.syncThreshold == .init(threshold: 0, period: 0) && s.syncRetries == 3,
                   "after refused writes: sloppy_tcp written before the refused sync_threshold, the rest unchanged: \(s)")
    }

    static func syncDaemons(_ k: any IPVSKernel) throws {
        func read() throws -> [SyncDaemon] { try k.snapshot().syncDaemons }
        try expect(try read().isEmpty, "a fresh kernel runs no sync daemon")
        let master = SyncDaemon(state: .master, interface: "dummy0", syncID: 5)
        let backup = SyncDaemon(state: .backup, interface: "dummy0", syncID: 9, maxLength: 1400, group: v4("239.1.2.3"), port: 9000, ttl: 3)
        try apply(k, [.startSyncDaemon(master), .startSyncDaemon(backup)])
        let listed = try k.snapshot().syncDaemons
        let masterRead = SyncDaemon(state: .master, interface: "dummy0", syncID: 5, maxLength: 1472, group: v4("224.0.0.81"), port: 8848, ttl: 1)
        try expect(listed == [masterRead, backup], "sync daemons listed as \(listed)")
        try expectFailure(k, .startSyncDaemon(master), .alreadyExists)
        try apply(k, [.stopSyncDaemon(.master)])
        let afterStop = try read()
        try expect(afterStop == [backup], "after stopping the master: \(afterStop)")
        try expectFailure(k, .stopSyncDaemon(.master), .noSuchDaemon)
        try expectFailure(k, .startSyncDaemon(SyncDaemon(state: .master, interface: "nosuchif0")), .noSuchDevice)
        try expectFailure(k, .startSyncDaemon(SyncDaemon(state: .master, interface: "dummy0", group: v4("10.0.0.1"))), .invalidArgument)
        // A mixed-family real server is refused while a daemon runs.
        try apply(k, [.createService(VirtualService(id: webID))])
        try expectFailure(k, .addRealServer(webID, RealServer(id: rs("[2001:db8::5]:80"), forwarding: .tunnel)), .invalidArgument)
        try apply(k, [.stopSyncDaemon(.backup)])
        let none = try read()
        try expect(none.isEmpty, "after stopping both: \(none)")
    }

    static func batchWithFailure(_ k: any IPVSKernel) throws {
        let a = VirtualService(id: webID)
        let b = VirtualService(id: .address(.tcp, v4("192.0.2.11"), port: 80))
        let c = VirtualService(id: .address(.tcp, v4("192.0.2.12"), port: 80))
        let sent = k.writeCount
        let o1 = k.execute([.createService(a), .createService(a), .createService(b)], stopOnError: false)
        try expect(o1.count == 3, "one outcome per write, got \(o1.count)")
        try expect(o1[0] == .applied && o1[2] == .applied, "without stopOnError the writes around a failure apply: \(o1)")
        try expect(o1[1].error?.code == .alreadyExists, "the duplicate should fail with alreadyExists: \(o1[1])")
        try expect(k.writeCount - sent == 3, "writeCount should grow by 3, grew by \(k.writeCount - sent)")
        let o2 = k.execute([.deleteService(b.id), .deleteService(b.id), .createService(c), .createService(b)], stopOnError: true)
        try expect(o2.count == 4, "one outcome per write, got \(o2.count)")
        try expect(o2[0] == WriteOutcome.applied, "first write of the second batch: \(o2[0])")
        try expect(o2[1].error?.code == .noSuchService, "deleting twice: \(o2[1])")
        // Writes after the failure are skipped, unless they were already in flight; either way the
        // outcome must match the table.
        let live = try k.snapshot()
        for (i, s) in [(2, c), (3, b)] {
            switch o2[i] {
            case .skipped: try expect(live[s.id] == nil, "write \(i) reported skipped but \(s.id) exists")
            case .applied: try expect(live[s.id] != nil, "write \(i) reported applied but \(s.id) is missing")
            case .failed(let e): throw ContractViolation("write \(i) after the failure should be skipped or applied, failed: \(e)")
            }
        }
        if o2[2] == WriteOutcome.skipped { try expect(o2[3] == WriteOutcome.skipped, "a write after a skipped one must be skipped too: \(o2)") }
        try expect(live[a.id] != nil, "\(a.id) should still exist")
    }

    static func roundTrip(_ k: any IPVSKernel) throws {
        try apply(k, writes(for: fullTable))
        try apply(k, [.setTimeouts(Timeouts(tcp: 1000, tcpFin: 100, udp: 200))])
        let before = try k.snapshot()
        var writes: [KernelWrite] = []
        for s in before.services {
            writes.append(.updateService(s.service))
            writes += s.realServers.map { .updateRealServer(s.service.id, $0.server) }
        }
        writes.append(.setTimeouts(before.timeouts))
        try apply(k, writes)
        let after = try k.snapshot()
        try expect(after.table == before.table, "the table changed after writing it back unchanged")
        try expect(after.fingerprint == before.fingerprint, "the fingerprint changed after writing the table back")
        try expect(after.timeouts == before.timeouts, "timeouts changed: \(before.timeouts) → \(after.timeouts)")
        try expect(before.table == fullTable, "the table read back differs from the one written")
    }

    static func zeroAndFlush(_ k: any IPVSKernel) throws {
        try apply(k, writes(for: fullTable))
        try apply(k, [.zeroCounters(nil), .zeroCounters(webID)])
        let live = try k.snapshot()
        try expect(live.services.allSatisfy { $0.stats == IPVSStats() }, "counters should be 0 after zero")
        try apply(k, [.flush])
        try expect(try k.snapshot().services.isEmpty, "flush should delete every service")
        try apply(k, [.flush])
    }
}

/// A mismatch between an `IPVSKernel` and the contract.
public struct ContractViolation: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
