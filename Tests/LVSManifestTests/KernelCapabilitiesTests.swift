import Foundation
import LVSManifest
import LVSModel
import Testing

@Suite("Kernel capabilities")
struct KernelCapabilitiesTests {
    private func tree(_ files: [String: String], dirs: [String] = []) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lvscaps-\(UUID().uuidString)").path
        for d in dirs { try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        for (path, text) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test func loadedBuiltinAndInstalledModulesCount() throws {
        let root = try tree([
            "lib/modules/6.1.0-test/modules.dep": "kernel/net/netfilter/ipvs/ip_vs_wrr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz\nkernel/net/netfilter/ipvs/ip_vs_pe_sip.ko.xz: x\nkernel/net/sched/sch_fq.ko.xz:\n",
            "lib/modules/6.1.0-test/modules.builtin": "kernel/net/netfilter/ipvs/ip_vs_sh.ko\n",
            "proc/sys/kernel/osrelease": "6.1.0-test\n",
        ], dirs: ["sys/module/ip_vs_rr", "sys/module/ip_vs", "sys/module/tcp_cubic"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let caps = KernelCapabilities.probe(root: root, release: nil)
        #expect(caps.availableSchedulers == [.rr, .wrr, .sh])
        #expect(caps.availablePersistenceEngines == ["sip"])
        let r = parse(doc(svc(#""scheduler": "mh""#)), capabilities: caps)
        #expect(r.diagnostics.errors.contains { $0.message == "scheduler 'mh' needs kernel module ip_vs_mh, which is neither loaded nor installed" })
        #expect(parse(doc(svc(#""scheduler": "sh""#)), capabilities: caps).state != nil)
    }

    @Test func walksTheModuleTreeWithoutModulesDep() throws {
        let root = try tree(["lib/modules/5.10.0-x/kernel/net/netfilter/ipvs/ip_vs_mh.ko.zst": "", "lib/modules/5.10.0-x/extra/ip_vs_lc.ko": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let caps = KernelCapabilities.probe(root: root, release: "5.10.0-x")
        #expect(caps.availableSchedulers == [.mh, .lc])
    }

    @Test func nothingReadableMeansUnknown() throws {
        let root = try tree([:], dirs: ["empty"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let caps = KernelCapabilities.probe(root: root, release: "6.1.0")
        #expect(caps.availableSchedulers == nil && caps.availablePersistenceEngines == nil)
    }

    @Test func probingThisMachineDoesNotCrash() {
        let caps = KernelCapabilities.probe()
        if let s = caps.availableSchedulers { #expect(s.isSubset(of: Set(Scheduler.known))) }
    }
}
