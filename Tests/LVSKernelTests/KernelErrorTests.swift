import LVSKernel
import LVSModel
import Testing

@Suite("Kernel error messages")
struct KernelErrorTests {
    static let service = VirtualService.ID.address(.tcp, .v4(0x0A64_0000), port: 80)
    static let server = RealServer(id: RealServer.ID(address: .v4(0xAC10_0001), port: 80))

    /// EINVAL for a real server names what the kernel checks: in a namespace whose loopback is
    /// down every IPv4 real server is refused so (seen in the lab guest with ipvsadm too).
    @Test func invalidRealServerSaysWhatTheKernelChecks() {
        for write in [KernelWrite.addRealServer(Self.service, Self.server), .updateRealServer(Self.service, Self.server)] {
            let e = KernelError.fromErrno(22, write: write)
            #expect(e.code == .invalidArgument)
            #expect(e.description.contains("unicast and routable in this network namespace (loopback up, a route to it)"), "\(e)")
            #expect(e.description.hasSuffix("(errno 22 EINVAL)"), "\(e)")
        }
        let service = KernelError.fromErrno(22, write: .createService(VirtualService(id: Self.service)))
        #expect(service.description.hasSuffix("the kernel refused the values as invalid (errno 22 EINVAL)"), "\(service)")
    }
}
