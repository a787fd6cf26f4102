import LVSBGP
import LVSModel
import Testing

private let vip = IPAddress.v4(0x0a0a_0064), vip2 = IPAddress.v4(0x0a0a_0065)

private func svc(_ name: String, _ address: IPAddress = vip, converged: Bool = true, healthy: Int = 2, total: Int = 2) -> ServiceReadiness {
    ServiceReadiness(name: name, address: address, converged: converged, healthy: healthy, total: total)
}

@Suite("When a VIP is announced")
struct AnnouncementTests {
    @Test(arguments: [
        (4, 0.5, 2), (3, 0.5, 2), (1, 0.5, 1), (4, 0.0, 1), (4, 1.0, 4), (0, 0.5, 1), (10, 0.25, 3),
    ])
    func neededHealthy(total: Int, threshold: Double, needed: Int) {
        #expect(Announcement.needed(total: total, threshold: threshold) == needed)
    }

    @Test(arguments: [
        ([svc("web")], DirectorCondition.serving, AnnounceVerdict.ready),
        ([svc("web")], .starting, .directorStarting),
        ([svc("web")], .maintenance, .directorInMaintenance),
        ([svc("web")], .stopping, .directorStopping),
        ([svc("web", converged: false)], .serving, .notConverged(service: "web")),
        ([svc("web", healthy: 0)], .serving, .belowThreshold(service: "web", healthy: 0, total: 2, needed: 1)),
        ([svc("web", healthy: 1, total: 4)], .serving, .belowThreshold(service: "web", healthy: 1, total: 4, needed: 2)),
        ([svc("web", healthy: 0, total: 0)], .serving, .belowThreshold(service: "web", healthy: 0, total: 0, needed: 1)),
        // Every service on the VIP must be ready: one bad port withdraws the address.
        ([svc("web"), svc("web-tls", healthy: 0)], .serving, .belowThreshold(service: "web-tls", healthy: 0, total: 2, needed: 1)),
        ([svc("a", converged: false), svc("b", healthy: 0)], .serving, .notConverged(service: "a")),
    ])
    func verdictForOneAddress(services: [ServiceReadiness], director: DirectorCondition, verdict: AnnounceVerdict) {
        #expect(Announcement.verdicts(services: services, director: director, threshold: 0.5) == [vip: verdict])
    }

    @Test func addressesAreDecidedSeparately() {
        let v = Announcement.verdicts(services: [svc("a"), svc("b", vip2, healthy: 0)], director: .serving, threshold: 0.5)
        #expect(v[vip] == .ready)
        #expect(v[vip2]?.announces == false)
    }

    @Test func drainThenWithdrawThenAnnounceAgain() {
        var a = Announcer()
        let ready = [vip: AnnounceVerdict.ready], down = [vip: AnnounceVerdict.directorInMaintenance]
        #expect(a.step(verdicts: down, now: 0, drainSeconds: 5).isEmpty)  // never announced: nothing to drain
        #expect(a.routes.isEmpty)
        #expect(a.step(verdicts: ready, now: 1, drainSeconds: 5).map(\.to) == [.announced])
        #expect(a.routes == [VIPRoute(address: vip, preference: .normal)])
        #expect(a.step(verdicts: down, now: 10, drainSeconds: 5).map(\.to) == [.draining(until: 15)])
        #expect(a.routes == [VIPRoute(address: vip, preference: .draining)])
        #expect(a.nextDeadline == 15)
        #expect(a.step(verdicts: down, now: 14.9, drainSeconds: 5).isEmpty)
        let t = a.step(verdicts: down, now: 15, drainSeconds: 5)
        #expect(t == [RouteTransition(address: vip, from: .draining(until: 15), to: .withdrawn, verdict: .directorInMaintenance)])
        #expect(a.routes.isEmpty && a.nextDeadline == nil)
        // Ready again while draining: announced at once, the drain is cancelled.
        _ = a.step(verdicts: ready, now: 20, drainSeconds: 5)
        _ = a.step(verdicts: down, now: 21, drainSeconds: 5)
        #expect(a.step(verdicts: ready, now: 22, drainSeconds: 5).map(\.to) == [.announced])
    }

    @Test func zeroDrainWithdrawsAtOnceAndAnUndeclaredAddressDrainsOut() {
        var a = Announcer()
        _ = a.step(verdicts: [vip: .ready, vip2: .ready], now: 0, drainSeconds: 0)
        #expect(a.step(verdicts: [vip: .directorStopping, vip2: .ready], now: 1, drainSeconds: 0).map(\.to) == [.withdrawn])
        // vip2 disappears from the manifest: drained, then forgotten.
        var b = Announcer()
        _ = b.step(verdicts: [vip2: .ready], now: 0, drainSeconds: 2)
        #expect(b.step(verdicts: [:], now: 1, drainSeconds: 2).map(\.to) == [.draining(until: 3)])
        #expect(b.step(verdicts: [:], now: 3, drainSeconds: 2).map(\.to) == [.withdrawn])
        #expect(b.states.isEmpty)
    }
}

@Suite("Announced addresses on the director")
struct VIPPlacementTests {
    private let vip3 = IPAddress.v4(0x0a0a_0066)

    @Test func withoutADeviceTheAbsentAddressesAreMissing() {
        let p = VIPPlacement.decide(announced: [vip2, vip, vip3, vip], local: [vip, .v4(0x7f00_0001)], device: nil)
        #expect(p == VIPPlacement(add: [], device: nil, missing: [vip2, vip3]))
    }

    @Test func withADeviceTheAbsentAddressesAreAdded() {
        let p = VIPPlacement.decide(announced: [vip, vip2], local: [vip], device: "lo")
        #expect(p == VIPPlacement(add: [vip2], device: "lo", missing: []))
        #expect(VIPPlacement.decide(announced: [vip], local: [vip], device: "lo").add.isEmpty)
    }

    @Test func theRefusalNamesThePlaceTheAddressAndWhatToDo() {
        let text = VIPPlacement.notLocalError(vip, place: "site.json: services[0].address", namespace: "/run/netns/d1")
        #expect(text.hasPrefix("site.json: services[0].address: 10.10.0.100 is announced over BGP"))
        #expect(text.contains("network namespace /run/netns/d1"))
        #expect(text.contains("ip addr add 10.10.0.100/32 dev lo") && text.contains(#""vipDevice": "lo""#))
        #expect(text.hasSuffix("nothing was applied"))
        let v6 = IPAddress("2001:db8::1")!
        #expect(VIPPlacement.notLocalError(v6, place: "x", namespace: nil).contains("2001:db8::1/128 dev lo"))
    }

    @Test func theAuditValueIsOneKeyedObject() {
        #expect(VIPPlacement.auditJSON(vip, device: "lo") == #"{"vipAddress":{"address":"10.10.0.100/32","device":"lo"}}"#)
    }

    /// A director that does not hold the address never announces it, whatever else holds;
    /// the director's own condition still comes first.
    @Test func anAddressNotLocalIsNotAnnounced() {
        let v = Announcement.verdicts(services: [svc("a"), svc("b", vip2)], director: .serving, threshold: 0.5, notLocal: [vip2])
        #expect(v == [vip: .ready, vip2: .addressNotLocal])
        #expect(v[vip2]?.description.contains("not on this director") == true)
        let m = Announcement.verdicts(services: [svc("b", vip2)], director: .maintenance, threshold: 0.5, notLocal: [vip2])
        #expect(m == [vip2: .directorInMaintenance])
    }
}
