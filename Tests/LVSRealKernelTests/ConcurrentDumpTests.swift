import Foundation
import LVSKernel
import LVSModel
import LVSNetlink
import LVSTestSupport
import Testing

/// Reads of one namespace's table while another namespace's table changes.
///
/// The kernel keeps every namespace's services in one hash table and resumes a service dump
/// that spans several datagrams at an index counted over all of them. A service deleted in
/// another namespace between two datagrams made a single dump skip one of this namespace's
/// services (and an added one made it repeat one): lvsctl then saw a service missing that was
/// there, a drift and a create that fails with EEXIST.
@Suite("NetlinkKernel dumps beside other namespaces (real kernel)")
struct ConcurrentDumpTests {
    /// Stops the churn thread and counts its rounds.
    final class Churn: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        private var rounds = 0
        private var failure: String?
        var isStopped: Bool { lock.withLock { stopped } }
        func stop() { lock.withLock { stopped = true } }
        func round() { lock.withLock { rounds += 1 } }
        func fail(_ text: String) { lock.withLock { failure = failure ?? text } }
        var summary: (rounds: Int, failure: String?) { lock.withLock { (rounds, failure) } }
    }

    @Test("a snapshot of 300 services is exact while another namespace adds and deletes services")
    func snapshotsStayExactWhileAnotherNamespaceChurns() throws {
        let mine = try NetworkNamespace(prefix: "lvsdump")
        defer { mine.close() }
        let other = try NetworkNamespace(prefix: "lvschurn")
        defer { other.close() }

        // 300 firewall-mark services: a dump of several datagrams (about 32 KiB each).
        let k = try NetlinkKernel(namespacePath: mine.path)
        let services = (1...300).map { VirtualService(id: .fwmark(UInt32($0), .ipv4), scheduler: .rr) }
        let outcomes = k.execute(services.map { .createService($0) }, stopOnError: true)
        try #require(outcomes.allSatisfy { $0 == .applied }, "\(outcomes.compactMap(\.error).prefix(3))")
        let expected = Set(services.map(\.id))

        // The other namespace, as independent as another test's: rounds of 1 to 64 services
        // with random marks, created and deleted again after random pauses.
        let churn = Churn()
        let otherPath = other.path
        let thread = Thread {
            do {
                let ko = try NetlinkKernel(namespacePath: otherPath)
                while !churn.isStopped {
                    var marks = Set<UInt32>()
                    for _ in 0..<Int.random(in: 1...64) { marks.insert(UInt32.random(in: 1000...1_000_000)) }
                    let ids = marks.map { VirtualService.ID.fwmark($0, .ipv4) }
                    let created = ko.execute(ids.map { .createService(VirtualService(id: $0)) }, stopOnError: false)
                    usleep(UInt32.random(in: 0...20_000))
                    let deleted = ko.execute(ids.map { .deleteService($0) }, stopOnError: false)
                    if let e = (created + deleted).compactMap(\.error).first { churn.fail("\(e)") }
                    churn.round()
                    usleep(UInt32.random(in: 0...40_000))
                }
            } catch {
                churn.fail("\(error)")
            }
        }
        thread.start()
        defer { churn.stop() }

        var wrong: [String] = []
        let start = Date()
        var reads = 0
        while reads < 60 || (churn.summary.rounds < 20 && Date().timeIntervalSince(start) < 120) {
            let live = try k.snapshot()
            let ids = live.services.map(\.service.id)
            if ids.count != expected.count || Set(ids) != expected {
                let missing = expected.subtracting(ids)
                wrong.append("read \(reads): \(ids.count) services, \(missing.count) missing (\(missing.prefix(3).map { "\($0)" }))")
            }
            reads += 1
        }
        churn.stop()
        while !thread.isFinished { usleep(10_000) }
        let summary = churn.summary
        print("concurrent dumps: \(reads) snapshots of 300 services during \(summary.rounds) rounds of creates and deletes elsewhere")
        #expect(summary.failure == nil, "the other namespace's writes failed: \(summary.failure ?? "")")
        #expect(summary.rounds > 0, "the other namespace never changed: the test proved nothing")
        #expect(wrong.isEmpty, "\(wrong.count) of \(reads) snapshots were wrong: \(wrong.prefix(5))")
    }
}
