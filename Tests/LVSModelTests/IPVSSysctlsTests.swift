import LVSModel
import Testing

@Suite("IPVS sysctl values")
struct IPVSSysctlsTests {
    @Test func procTextInAndOut() {
        var s = IPVSSysctls()
        #expect(s.isEmpty && s.fields.isEmpty)
        var ok = s.set(.syncThreshold, text: "3\t50\n")
        #expect(ok)
        #expect(s.text(.syncThreshold) == "3 50")
        ok = s.set(.sloppyTcp, text: "2\n")
        #expect(ok)
        #expect(s.sloppyTcp == true && s.text(.sloppyTcp) == "1")
        ok = s.set(.connReuseMode, text: "0")
        #expect(ok)
        #expect(s.fields == [.connReuseMode, .sloppyTcp, .syncThreshold])
        for (f, bad) in [(IPVSSysctls.Field.syncThreshold, "3"), (.syncThreshold, "3 50 1"), (.syncRetries, "x"),
                         (.syncRetries, "1 2"), (.connReuseMode, "-1"), (.sloppyTcp, ""), (.syncThreshold, "-1 50")] {
            var t = s
            let accepted = t.set(f, text: bad)
            #expect(!accepted, "\(f) '\(bad)'")
            #expect(t == s)
        }
    }

    @Test func mergingAndRestricting() {
        let base = IPVSSysctls.kernelDefault
        let merged = base.merging(IPVSSysctls(sloppyTcp: true, syncThreshold: .init(threshold: 1, period: 0)))
        #expect(merged.sloppyTcp == true && merged.syncThreshold == .init(threshold: 1, period: 0) && merged.connReuseMode == 1)
        #expect(merged.restricted(to: [.sloppyTcp]) == IPVSSysctls(sloppyTcp: true))
        #expect(IPVSSysctls.Field.allCases.map(\.rawValue) == IPVSSysctls.Field.allCases.map(\.rawValue).sorted(),
                "the canonical form writes them in this order")
    }

    @Test func whatTheKernelRefuses() {
        #expect(IPVSSysctls.kernelDefault.kernelRejection == nil)
        #expect(IPVSSysctls(syncThreshold: .init(threshold: 0, period: 0)).kernelRejection == nil)
        #expect(IPVSSysctls(syncThreshold: .init(threshold: 5, period: 0)).kernelRejection == nil)
        #expect(IPVSSysctls(syncThreshold: .init(threshold: 50, period: 50)).kernelRejection != nil)
        #expect(IPVSSysctls(syncRetries: 4).kernelRejection != nil)
        #expect(IPVSSysctls(syncRefreshPeriod: 8_589_935).kernelRejection != nil)
    }
}
