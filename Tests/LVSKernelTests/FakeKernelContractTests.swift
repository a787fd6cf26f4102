import LVSKernel
import LVSModel
import LVSTestSupport
import Testing

/// The kernel contract against the in-memory fake; the same checks run against the real kernel in
/// `LVSRealKernelTests`.
@Suite("FakeKernel contract")
struct FakeKernelContractTests {
    @Test("contract", arguments: KernelContract.checks)
    func contract(_ check: KernelContract.Check) throws {
        try check.run(FakeKernel())
    }

    @Test("every contract check has a distinct name")
    func distinctNames() {
        #expect(Set(KernelContract.checks.map(\.name)).count == KernelContract.checks.count)
    }

    @Test("injected failure is reported with the write and stops the batch")
    func injectedFailure() {
        let k = FakeKernel()
        let a = VirtualService(id: .address(.tcp, .v4(0xc000_020a), port: 80))
        let b = VirtualService(id: .address(.tcp, .v4(0xc000_020b), port: 80))
        k.injectFailure(errno: 12) { if case .createService(let s) = $0 { return s.id == a.id } else { return false } }
        let o = k.execute([.createService(a), .createService(b)], stopOnError: true)
        #expect(o[0].error?.errno == 12)
        #expect(o[0].error?.write == .createService(a))
        #expect(o[1] == .skipped)
        #expect(k.state.services.isEmpty)
    }
}
