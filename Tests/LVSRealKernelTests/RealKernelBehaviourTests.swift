import LVSKernel
import LVSModel
import LVSNetlink
import LVSTestSupport
import Testing

/// Error mapping and pipelined writes against the real kernel, each case in its own namespace.
@Suite("NetlinkKernel errors and batches (real kernel)")
struct RealKernelBehaviourTests {
    static let web = VirtualService.ID.address(.tcp, .v4(0xc000_020a), port: 80)

    struct ErrorCase: CustomStringConvertible, Sendable {
        var name: String
        var write: KernelWrite
        var code: KernelError.Code
        var errno: Int32
        var text: String
        var description: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(name: "duplicate service", write: .createService(VirtualService(id: web)), code: .alreadyExists, errno: 17, text: "already exists"),
        ErrorCase(name: "duplicate real server", write: .addRealServer(web, RealServer(id: RealServer.ID(address: .v4(0x0a00_000b), port: 80))), code: .alreadyExists, errno: 17, text: "already exists"),
        ErrorCase(name: "missing service", write: .deleteService(.fwmark(42, .ipv4)), code: .noSuchService, errno: 3, text: "no such virtual service"),
        ErrorCase(name: "missing real server", write: .deleteRealServer(web, RealServer.ID(address: .v4(0x0a00_0063), port: 80)), code: .noSuchRealServer, errno: 2, text: "no such real server"),
        ErrorCase(name: "unknown scheduler (ENOENT)", write: .createService(VirtualService(id: .fwmark(5, .ipv4), scheduler: Scheduler("bogus"))), code: .schedulerUnavailable, errno: 2, text: "modprobe ip_vs_bogus"),
        ErrorCase(name: "weight out of range", write: .updateRealServer(web, RealServer(id: RealServer.ID(address: .v4(0x0a00_000b), port: 80), weight: 0x8000_0000)), code: .outOfRange, errno: 34, text: "out of range"),
        ErrorCase(name: "sync daemon not running", write: .stopSyncDaemon(.backup), code: .noSuchDaemon, errno: 3, text: "no such sync daemon"),
        ErrorCase(name: "no such interface", write: .startSyncDaemon(SyncDaemon(state: .master, interface: "nosuch0")), code: .noSuchDevice, errno: 19, text: "no such network interface"),
    ]

    @Test("kernel errors become specific, readable errors with the raw errno", arguments: errorCases)
    func errorMapping(_ c: ErrorCase) throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let k = try NetlinkKernel(namespacePath: ns.path)
        try k.execute(.createService(VirtualService(id: Self.web)))
        try k.execute(.addRealServer(Self.web, RealServer(id: RealServer.ID(address: .v4(0x0a00_000b), port: 80))))
        let before = k.writeCount
        let outcome = k.execute([c.write], stopOnError: true)
        let e = try #require(outcome.first?.error, "\(c.write) should have failed")
        #expect(e.code == c.code)
        #expect(e.errno == c.errno)
        #expect(e.write == c.write)
        #expect(e.description.contains(c.text), "message: \(e.description)")
        #expect(e.description.contains(c.write.description), "message names the write: \(e.description)")
        #expect(k.writeCount == before + 1)
    }

    @Test("2,000 pipelined writes are all applied, reported, and present afterwards")
    func pipelinedBatch() throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let k = try NetlinkKernel(namespacePath: ns.path)
        var writes: [KernelWrite] = []
        var expected: [IPVSTable.Entry] = []
        for s in 0..<20 {
            let svc = VirtualService(id: .address(.tcp, .v4(0xc000_0200 | UInt32(s + 1)), port: 80), scheduler: .rr)
            writes.append(.createService(svc))
            var servers: [RealServer] = []
            for d in 0..<99 {
                let r = RealServer(id: RealServer.ID(address: .v4(0x0a00_0000 | UInt32(s) << 8 | UInt32(d + 1)), port: 80), weight: UInt32(d))
                writes.append(.addRealServer(svc.id, r))
                servers.append(r)
            }
            expected.append(.init(service: svc, realServers: servers))
        }
        #expect(writes.count == 2000)
        let before = k.writeCount
        let outcomes = k.execute(writes, stopOnError: true)
        #expect(outcomes.count == 2000)
        #expect(outcomes.allSatisfy { $0 == .applied }, "\(outcomes.compactMap(\.error).prefix(3))")
        #expect(k.writeCount - before == 2000)
        #expect(k.window >= 16)
        let live = try k.snapshot()
        #expect(live.table == IPVSTable(entries: expected))
        #expect(live.services.reduce(0) { $0 + $1.realServers.count } == 1980)
        // The socket is still in step for reads after the batch.
        #expect(try k.info().version >= 0x010201)
    }

    @Test("failures inside a pipelined batch are matched to their own writes")
    func failuresInBatch() throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let k = try NetlinkKernel(namespacePath: ns.path)
        var writes: [KernelWrite] = []
        for i in 0..<300 {
            let id = VirtualService.ID.fwmark(UInt32(i / 2 + 1), .ipv4)
            // Every second write is a duplicate of the one before.
            writes.append(.createService(VirtualService(id: id)))
        }
        let outcomes = k.execute(writes, stopOnError: false)
        for (i, o) in outcomes.enumerated() {
            if i % 2 == 0 {
                #expect(o == .applied, "write \(i): \(o)")
            } else {
                #expect(o.error?.code == .alreadyExists && o.error?.write == writes[i], "write \(i): \(o)")
            }
        }
        #expect(try k.snapshot().services.count == 150)
    }

    @Test("IPVS unavailable or a missing namespace is a clear error")
    func missingNamespace() {
        #expect {
            _ = try NetlinkKernel(namespacePath: "/run/netns/lvsctl-does-not-exist")
        } throws: { error in
            (error as? KernelError)?.description.contains("lvsctl-does-not-exist") == true
        }
    }
}

@Suite("NetlinkKernel receive-buffer overrun (real kernel)")
struct RealKernelOverrunTests {
    @Test("answers lost to ENOBUFS are reported as bufferOverrun, never as applied, and the socket recovers")
    func overrun() throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let k = try NetlinkKernel(namespacePath: ns.path)
        k.setReceiveBufferForTesting(32 * 1024)
        k.windowOverride = 1000
        let writes: [KernelWrite] = (1...1000).map { .createService(VirtualService(id: .fwmark(UInt32($0), .ipv4))) }
        let outcomes = k.execute(writes, stopOnError: false)
        let applied = outcomes.filter { $0 == .applied }.count
        let overrun = outcomes.filter { $0.error?.code == .bufferOverrun }.count
        #expect(applied + overrun == 1000, "every write is either confirmed or reported lost: \(outcomes.compactMap(\.error).prefix(3))")
        #expect(overrun > 0, "a 64 KiB buffer cannot hold 1000 answers; the overrun path was not exercised")
        #expect(applied > 0)
        for (w, o) in zip(writes, outcomes) where o.error != nil {
            #expect(o.error?.write == w && o.error?.errno == 105)
        }
        // The requests themselves were all executed; the fresh socket reads them all.
        let live = try k.snapshot()
        #expect(live.services.count == 1000)
        k.windowOverride = nil
        #expect(k.execute([.flush], stopOnError: true) == [.applied])
    }
}
