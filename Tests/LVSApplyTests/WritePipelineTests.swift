import LVSApply
import LVSKernel
import LVSModel
import LVSPlan
import Testing

/// The applier sends large plans in chunks from a second thread (`WritePipeline`). Whatever the
/// chunk size, the kernel must see the same writes and the caller the same events, in order, as
/// with one batch sent from the calling thread.
struct WritePipelineTests {
    /// What a run looked like from outside: the events, the report, what the kernel was sent.
    struct Run: Equatable {
        var events: [String]
        var report: String
        var kernelWrites: Int
        var table: IPVSTable
    }

    /// Four services of three real servers: 16 writes from empty.
    static let desired = A.web((0..<4).map { n in
        A.spec(VirtualService(id: A.sid(UInt16(8000 + n)), scheduler: .wrr), (1...3).map { A.rs($0, port: UInt16(8000 + n)) })
    })

    static func run(chunk: Int, failAt: Int?) throws -> Run {
        let h = Harness()
        let plan = try h.plan([desired])
        if let failAt {
            let write = try plan.changes[failAt].kernelWrite()
            h.kernel.injectFailure(errno: 17) { $0 == write }
        }
        var events: [String] = []
        var report = ""
        do {
            let r = try Applier(kernel: h.kernel, pipelineChunk: chunk).apply(plan) { e in
                events.append("\(e.origin) \(e.index) \(e.write) \(e.outcome)")
            }
            report = "\(r)"
        } catch {
            report = "\(error)"
        }
        return Run(events: events, report: report, kernelWrites: h.kernel.writeCount, table: h.kernel.state.table)
    }

    @Test(arguments: [1, 2, 3, 5, 15, 16])
    func chunkedApplySeesTheSameAsOneBatch(chunk: Int) throws {
        let oneBatch = try Self.run(chunk: 1024, failAt: nil)
        #expect(oneBatch.events.count == 16 && oneBatch.kernelWrites == 16)
        #expect(try Self.run(chunk: chunk, failAt: nil) == oneBatch)
    }

    /// A failure in a later chunk: nothing after it is sent, everything before is undone, and the
    /// events say so in order (the chunks after the failed one are reported skipped).
    @Test(arguments: [(1, 9), (2, 9), (3, 9), (5, 9), (5, 0), (5, 15), (4, 4)])
    func chunkedApplyStopsAtAFailureLikeOneBatch(chunk: Int, failAt: Int) throws {
        let oneBatch = try Self.run(chunk: 1024, failAt: failAt)
        #expect(oneBatch.report.contains("errno 17"))
        #expect(oneBatch.table == IPVSTable(), "everything undone")
        // The failed write and the ones before it, then one undo per applied change before it (a
        // service's undo is one delete).
        #expect(oneBatch.events.filter { $0.hasPrefix("plan") && $0.hasSuffix("skipped") }.count == 16 - failAt - 1)
        #expect(try Self.run(chunk: chunk, failAt: failAt) == oneBatch)
    }
}
