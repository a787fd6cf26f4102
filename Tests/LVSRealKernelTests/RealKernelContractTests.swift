import LVSKernel
import LVSModel
import LVSNetlink
import LVSTestSupport
import Testing

/// The kernel contract against the real kernel, each check in a fresh network namespace. These
/// tests fail (never skip) when IPVS is not reachable: run them as root in the lab guest.
@Suite("NetlinkKernel contract (real kernel)")
struct RealKernelContractTests {
    @Test("contract", arguments: KernelContract.checks)
    func contract(_ check: KernelContract.Check) throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let kernel = try NetlinkKernel(namespacePath: ns.path)
        try check.run(kernel)
    }

    @Test("each network namespace has its own IPVS table")
    func namespacesAreSeparate() throws {
        let a = try NetworkNamespace(), b = try NetworkNamespace()
        defer { a.close(); b.close() }
        let ka = try NetlinkKernel(namespacePath: a.path), kb = try NetlinkKernel(namespacePath: b.path)
        try ka.execute(.createService(VirtualService(id: .address(.tcp, .v4(0xc000_020a), port: 80))))
        #expect(try ka.snapshot().services.count == 1)
        #expect(try kb.snapshot().services.isEmpty)
        #expect(try a.ipvsadmSave() == "-A -t 192.0.2.10:80 -s wlc\n")
        #expect(try b.ipvsadmSave() == "")
    }

    @Test("GET_INFO reports IPVS 1.2.1 or later, and doit GETs stay in step")
    func infoInStep() throws {
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let k = try NetlinkKernel(namespacePath: ns.path)
        // Many doit GETs in a row: an undrained ACK would make every later read off by one.
        for _ in 0..<20 {
            let info = try k.info()
            #expect(info.version >= 0x010201)
            #expect(info.connectionTableSize > 0)
            #expect(try k.timeouts() == .kernelDefault)
            #expect(try k.service(.fwmark(1, .ipv4)) == nil)
        }
    }
}
