import Foundation
import LVSModel
import LVSNetlink
import Testing

import LVSRealServer

/// An in-memory network namespace: links, addresses and sysctls, with the kernel's refusals
/// (EEXIST on a second add, a missing address on delete).
final class FakeRealServerHost: RealServerHost {
    struct Failure: Error {}
    var links: [String: LinkInfo] = ["lo": LinkInfo(index: 1, name: "lo", isUp: true)]
    var addressList: [InterfaceAddress] = []
    var sysctl: [String: String] = [:]
    var writes = 0

    init(tunnel: Bool = true) {
        for iface in ["all", "default", "lo"] + (tunnel ? ["tunl0"] : []) {
            sysctl["net.ipv4.conf.\(iface).arp_ignore"] = "0"
            sysctl["net.ipv4.conf.\(iface).arp_announce"] = "0"
            sysctl["net.ipv4.conf.\(iface).rp_filter"] = iface == "lo" ? "0" : "2"
        }
        if tunnel { links["tunl0"] = LinkInfo(index: 2, name: "tunl0", isUp: false) }
    }

    func link(_ name: String) throws -> LinkInfo? { links[name] }
    func setLink(_ link: LinkInfo, up: Bool) throws {
        writes += 1
        links[link.name]?.isUp = up
    }
    func addresses() throws -> [InterfaceAddress] { addressList }
    func addAddress(_ address: IPAddress, prefixLength: UInt8, link: LinkInfo) throws {
        writes += 1
        let a = InterfaceAddress(interfaceIndex: link.index, address: address, prefixLength: prefixLength)
        guard !addressList.contains(a) else { throw Failure() }
        addressList.append(a)
    }
    func deleteAddress(_ address: IPAddress, prefixLength: UInt8, link: LinkInfo) throws {
        writes += 1
        let a = InterfaceAddress(interfaceIndex: link.index, address: address, prefixLength: prefixLength)
        guard addressList.contains(a) else { throw Failure() }
        addressList.removeAll { $0 == a }
    }
    func readSysctl(_ s: SysctlSetting) throws -> String? { sysctl[s.name] }
    func writeSysctl(_ s: SysctlSetting) throws {
        writes += 1
        sysctl[s.name] = s.value
    }
}

@Suite struct RealServerSetupTests {
    let vip = IPAddress("10.10.0.100")!
    let vip2 = IPAddress("10.10.0.101")!

    @Test func drUpSetsTheVIPOnLoAndTheARPSysctls() throws {
        let host = FakeRealServerHost()
        var state = RealServerState()
        let changes = try RealServerConfigurator.up(RealServerSetup(vips: [vip, vip2], mode: .dr), host: host, state: &state)
        #expect(host.addressList.map(\.address) == [vip, vip2])
        #expect(host.addressList.allSatisfy { $0.interfaceIndex == 1 && $0.prefixLength == 32 })
        for iface in ["all", "lo"] {
            #expect(host.sysctl["net.ipv4.conf.\(iface).arp_ignore"] == "1")
            #expect(host.sysctl["net.ipv4.conf.\(iface).arp_announce"] == "2")
        }
        // DR leaves rp_filter and tunl0 alone.
        #expect(host.sysctl["net.ipv4.conf.all.rp_filter"] == "2")
        #expect(host.links["tunl0"]?.isUp == false)
        #expect(changes.contains("set net.ipv4.conf.all.arp_ignore = 1 (was 0)"))
        #expect(changes.contains("added 10.10.0.100/32 to lo"))
        #expect(state.addedAddresses.count == 2)
        #expect(state.sysctls.count == 4)
        // The ARP sysctls are written before the VIP appears.
        #expect(changes.firstIndex { $0.hasPrefix("set ") }! < changes.firstIndex { $0.hasPrefix("added ") }!)
    }

    @Test func upIsIdempotent() throws {
        let host = FakeRealServerHost()
        var state = RealServerState()
        let setup = RealServerSetup(vips: [vip], mode: .tunnel)
        _ = try RealServerConfigurator.up(setup, host: host, state: &state)
        let writes = host.writes
        let recorded = state
        let again = try RealServerConfigurator.up(setup, host: host, state: &state)
        #expect(again.isEmpty)
        #expect(host.writes == writes)
        #expect(state == recorded)
    }

    @Test func tunnelUpBringsTunl0UpAndRelaxesRPFilter() throws {
        let host = FakeRealServerHost()
        var state = RealServerState()
        _ = try RealServerConfigurator.up(RealServerSetup(vips: [vip], mode: .tunnel), host: host, state: &state)
        #expect(host.links["tunl0"]?.isUp == true)
        #expect(host.addressList == [InterfaceAddress(interfaceIndex: 2, address: vip, prefixLength: 32)])
        #expect(host.sysctl["net.ipv4.conf.all.rp_filter"] == "0")
        #expect(host.sysctl["net.ipv4.conf.tunl0.rp_filter"] == "0")
        #expect(host.sysctl["net.ipv4.conf.lo.arp_ignore"] == "1")
        #expect(state.linksBroughtUp == ["tunl0"])
    }

    @Test func downRestoresExactlyWhatUpChanged() throws {
        let host = FakeRealServerHost()
        // Already as wanted before `up`: must stay after `down`.
        host.sysctl["net.ipv4.conf.lo.arp_announce"] = "2"
        let preexisting = InterfaceAddress(interfaceIndex: 2, address: vip2, prefixLength: 32)
        host.addressList = [preexisting]
        let before = host.sysctl
        var state = RealServerState()
        _ = try RealServerConfigurator.up(RealServerSetup(vips: [vip, vip2], mode: .tunnel), host: host, state: &state)
        #expect(!state.sysctls.contains { $0.interface == "lo" && $0.key == "arp_announce" })
        #expect(state.addedAddresses.map(\.address) == [vip])

        let (changes, notes) = try RealServerConfigurator.down(vips: nil, host: host, state: &state)
        #expect(host.sysctl == before)
        #expect(host.addressList == [preexisting])
        #expect(host.links["tunl0"]?.isUp == false)
        #expect(state.isEmpty)
        #expect(notes.isEmpty)
        #expect(changes.contains("removed 10.10.0.100/32 from tunl0"))
        #expect(changes.contains("brought tunl0 down"))

        // A second down has nothing to do.
        let writes = host.writes
        let second = try RealServerConfigurator.down(vips: nil, host: host, state: &state)
        #expect(second.changes.isEmpty)
        #expect(host.writes == writes)
    }

    @Test func downOfOneVIPKeepsTheSysctlsUntilTheLastGoes() throws {
        let host = FakeRealServerHost()
        var state = RealServerState()
        _ = try RealServerConfigurator.up(RealServerSetup(vips: [vip, vip2], mode: .dr), host: host, state: &state)
        let first = try RealServerConfigurator.down(vips: [vip], host: host, state: &state)
        #expect(first.changes == ["removed 10.10.0.100/32 from lo"])
        #expect(host.sysctl["net.ipv4.conf.all.arp_ignore"] == "1")
        #expect(first.notes.contains { $0.contains("still up: 10.10.0.101") })
        let other = try RealServerConfigurator.down(vips: [IPAddress("10.10.0.102")!, vip2], host: host, state: &state)
        #expect(other.notes.contains("10.10.0.102 was not added by `lvsctl realserver up`; left as it is"))
        #expect(host.sysctl["net.ipv4.conf.all.arp_ignore"] == "0")
        #expect(host.addressList.isEmpty)
        #expect(state.isEmpty)
    }

    @Test func downOfOneModeLeavesTheOther() throws {
        let host = FakeRealServerHost()
        var state = RealServerState()
        _ = try RealServerConfigurator.up(RealServerSetup(vips: [vip], mode: .dr), host: host, state: &state)
        _ = try RealServerConfigurator.up(RealServerSetup(vips: [vip2], mode: .tunnel), host: host, state: &state)
        let down = try RealServerConfigurator.down(vips: nil, device: "tunl0", host: host, state: &state)
        #expect(down.changes == ["removed 10.10.0.101/32 from tunl0"])
        #expect(host.addressList == [InterfaceAddress(interfaceIndex: 1, address: vip, prefixLength: 32)])
        #expect(host.links["tunl0"]?.isUp == true, "links and sysctls wait for the last VIP")
    }

    @Test func statusNamesEachMissingPiece() throws {
        let host = FakeRealServerHost()
        let setup = RealServerSetup(vips: [vip], mode: .tunnel)
        let before = try RealServerConfigurator.status(setup, host: host)
        let missing = before.filter { !$0.ok }.map(\.what)
        #expect(missing.contains("tunl0 is up"))
        #expect(missing.contains("10.10.0.100/32 on tunl0"))
        #expect(missing.contains("net.ipv4.conf.all.arp_ignore = 1"))
        #expect(missing.contains("net.ipv4.conf.tunl0.rp_filter = 0"))
        #expect(!missing.contains("net.ipv4.conf.lo.rp_filter = 0"))
        #expect(before.first { $0.what == "net.ipv4.conf.all.rp_filter = 0" }?.detail == "net.ipv4.conf.all.rp_filter is 2")
        var state = RealServerState()
        _ = try RealServerConfigurator.up(setup, host: host, state: &state)
        #expect(try RealServerConfigurator.status(setup, host: host).allSatisfy(\.ok))
        // Someone removes the VIP: status says so.
        host.addressList = []
        #expect(try RealServerConfigurator.status(setup, host: host).filter { !$0.ok }.map(\.what) == ["10.10.0.100/32 on tunl0"])
    }

    @Test func tunnelWithoutTunl0SaysToLoadIpip() throws {
        let host = FakeRealServerHost(tunnel: false)
        var state = RealServerState()
        #expect {
            try RealServerConfigurator.up(RealServerSetup(vips: [vip], mode: .tunnel), host: host, state: &state)
        } throws: { "\($0)".contains("the ipip module is not loaded") && "\($0)".contains("modprobe ipip") }
        #expect(host.writes == 0)
        #expect(state.isEmpty)
        let checks = try RealServerConfigurator.status(RealServerSetup(vips: [vip], mode: .tunnel), host: host)
        #expect(checks.first == RealServerCheck(what: "tunl0 exists", ok: false, detail: "tunl0 does not exist: the ipip module is not loaded (modprobe ipip)"))
    }

    struct BadVIP: Sendable, CustomStringConvertible {
        var text: String
        var mode: RealServerMode
        var message: String
        var description: String { "\(text) \(mode)" }
    }

    @Test(arguments: [
        BadVIP(text: "10.0.0.300", mode: .dr, message: "--vip '10.0.0.300' is not an IPv4 or IPv6 address; give the virtual IP"),
        BadVIP(text: "web.example.com", mode: .dr, message: "--vip 'web.example.com' is not an IPv4 or IPv6 address"),
        BadVIP(text: "10.0.0.1,,10.0.0.2", mode: .dr, message: "an empty entry"),
        BadVIP(text: "127.0.0.1", mode: .dr, message: "--vip 127.0.0.1: 127.0.0.1 is a loopback address"),
        BadVIP(text: "0.0.0.0", mode: .dr, message: "unspecified"),
        BadVIP(text: "224.0.0.5", mode: .dr, message: "multicast"),
        BadVIP(text: "fe80::1", mode: .dr, message: "link-local"),
        BadVIP(text: "2001:db8::1", mode: .tunnel, message: "IPv6 VIPs in tunnel mode need ip6tnl0"),
    ])
    func badVIPsAreNamedWithWhatToDo(_ c: BadVIP) {
        #expect { try RealServerSetup.parseVIPs(c.text, mode: c.mode) } throws: { "\($0)".contains(c.message) }
    }

    @Test func vipListsParse() throws {
        #expect(try RealServerSetup.parseVIPs("10.0.0.1, 10.0.0.2/32,10.0.0.1", mode: .dr) == [IPAddress("10.0.0.1")!, IPAddress("10.0.0.2")!])
        let v6 = try RealServerSetup.parseVIPs("2001:db8::10", mode: .dr)
        #expect(RealServerSetup(vips: v6, mode: .dr).sysctls.isEmpty)
        #expect(RealServerSetup.prefixLength(v6[0]) == 128)
    }
}
