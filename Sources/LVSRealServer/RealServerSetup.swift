import Foundation
import LVSModel
import LVSNetlink

/// Why a real-server setup cannot be made or read; the message says what to do.
public struct RealServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// How a real server receives the director's packets, and so where its VIPs live.
public enum RealServerMode: String, CaseIterable, Codable, Sendable {
    /// Direct routing: the director rewrites the MAC address; the VIP sits on `lo`.
    case dr
    /// IPIP tunnelling: packets arrive encapsulated on `tunl0`, which holds the VIP.
    case tunnel

    /// The interface the VIPs go on.
    public var device: String { self == .dr ? "lo" : "tunl0" }
}

/// One `net.ipv4.conf.<interface>.<key>` setting.
public struct SysctlSetting: Hashable, Codable, Sendable, CustomStringConvertible {
    public var interface: String
    public var key: String
    public var value: String

    public init(interface: String, key: String, value: String) {
        self.interface = interface
        self.key = key
        self.value = value
    }

    /// `net.ipv4.conf.all.arp_ignore`.
    public var name: String { "net.ipv4.conf.\(interface).\(key)" }
    /// `/proc/sys/net/ipv4/conf/all/arp_ignore`.
    public var path: String { "/proc/sys/net/ipv4/conf/\(interface)/\(key)" }
    public var description: String { "\(name) = \(value)" }
}

/// What `lvsctl realserver up` makes true on a real server: the lvs_real.sh of the LVS HOWTO,
/// declaratively.
///
/// - DR: every VIP as a /32 (/128) on `lo`; `arp_ignore=1` and `arp_announce=2` on `all` and
///   `lo`, so the server neither answers ARP for the VIP nor uses it as an ARP source.
/// - TUN: `tunl0` (the ipip module's fallback device) up with every VIP on it, the same ARP
///   settings, and `rp_filter=0` on `tunl0` and `all`: decapsulated packets arrive on `tunl0`
///   from the client's address, which reverse-path filtering would drop, and the kernel uses
///   the larger of `all` and the interface's value.
public struct RealServerSetup: Equatable, Sendable {
    public var vips: [IPAddress]
    public var mode: RealServerMode

    public init(vips: [IPAddress], mode: RealServerMode) {
        self.vips = vips
        self.mode = mode
    }

    public var device: String { mode.device }

    /// The prefix a VIP gets: a single address.
    public static func prefixLength(_ a: IPAddress) -> UInt8 { a.family == .ipv4 ? 32 : 128 }

    /// The sysctls this setup needs, in the order they are written (ARP first, so the VIP is
    /// never announced between the address appearing and the settings changing).
    public var sysctls: [SysctlSetting] {
        var out: [SysctlSetting] = []
        if vips.contains(where: { $0.family == .ipv4 }) {
            for iface in ["all", "lo"] {
                out.append(SysctlSetting(interface: iface, key: "arp_ignore", value: "1"))
                out.append(SysctlSetting(interface: iface, key: "arp_announce", value: "2"))
            }
        }
        if mode == .tunnel {
            out.append(SysctlSetting(interface: "all", key: "rp_filter", value: "0"))
            out.append(SysctlSetting(interface: "tunl0", key: "rp_filter", value: "0"))
        }
        return out
    }

    /// Parses `--vip A[,B...]`: every value must be a unicast address a service can listen on.
    public static func parseVIPs(_ text: String, mode: RealServerMode) throws -> [IPAddress] {
        var out: [IPAddress] = []
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        for part in parts {
            guard !part.isEmpty else {
                throw RealServerError("--vip '\(text)': an empty entry; give the VIPs separated by commas, e.g. --vip 10.10.0.100,10.10.0.101")
            }
            let bare = part.hasSuffix("/32") || part.hasSuffix("/128") ? String(part[..<part.lastIndex(of: "/")!]) : part
            guard let a = IPAddress(bare) else {
                throw RealServerError("--vip '\(part)' is not an IPv4 or IPv6 address; give the virtual IP of the director's service (the address clients connect to), e.g. --vip 10.10.0.100")
            }
            if let why = unusable(a) {
                throw RealServerError("--vip \(part): \(why); give the virtual IP of the director's service (the address clients connect to)")
            }
            if mode == .tunnel && a.family == .ipv6 {
                throw RealServerError("--vip \(part): IPv6 VIPs in tunnel mode need ip6tnl0, which lvsctl does not set up; use --mode dr or an IPv4 VIP")
            }
            if !out.contains(a) { out.append(a) }
        }
        return out
    }

    /// Why an address cannot be a VIP, or nil.
    public static func unusable(_ a: IPAddress) -> String? {
        let b = a.bytes
        switch a.family {
        case .ipv4:
            if b.allSatisfy({ $0 == 0 }) { return "0.0.0.0 is the unspecified address" }
            if b.allSatisfy({ $0 == 255 }) { return "255.255.255.255 is the broadcast address" }
            if b[0] == 127 { return "\(a) is a loopback address (127.0.0.0/8)" }
            if b[0] >= 224 && b[0] <= 239 { return "\(a) is a multicast address" }
            if b[0] >= 240 { return "\(a) is a reserved address (240.0.0.0/4)" }
        case .ipv6:
            if b.allSatisfy({ $0 == 0 }) { return ":: is the unspecified address" }
            if b.dropLast().allSatisfy({ $0 == 0 }) && b[15] == 1 { return "::1 is the loopback address" }
            if b[0] == 0xff { return "\(a) is a multicast address" }
            if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return "\(a) is a link-local address" }
        }
        return nil
    }
}

/// What `up` changed, so that `down` can put it back. Kept in a small JSON file (by default
/// under /run, which is emptied on reboot, like the addresses and sysctls themselves).
public struct RealServerState: Codable, Equatable, Sendable {
    public struct AddedAddress: Codable, Hashable, Sendable {
        public var address: IPAddress
        public var prefixLength: UInt8
        public var device: String
    }

    public struct SavedSysctl: Codable, Hashable, Sendable {
        public var interface: String
        public var key: String
        /// The value before `up` changed it.
        public var previous: String
        public var setting: SysctlSetting { SysctlSetting(interface: interface, key: key, value: previous) }
    }

    public var addedAddresses: [AddedAddress] = []
    /// Links `up` brought up (they were down).
    public var linksBroughtUp: [String] = []
    public var sysctls: [SavedSysctl] = []

    public init() {}

    public var isEmpty: Bool { addedAddresses.isEmpty && linksBroughtUp.isEmpty && sysctls.isEmpty }
}

/// The interface configuration of one network namespace: links, addresses, sysctls.
/// `RealServerNetlinkHost` is the real one; the unit tests use an in-memory one.
public protocol RealServerHost {
    func link(_ name: String) throws -> LinkInfo?
    func setLink(_ link: LinkInfo, up: Bool) throws
    func addresses() throws -> [InterfaceAddress]
    func addAddress(_ address: IPAddress, prefixLength: UInt8, link: LinkInfo) throws
    func deleteAddress(_ address: IPAddress, prefixLength: UInt8, link: LinkInfo) throws
    /// The value of a sysctl without the trailing newline, or nil when it does not exist.
    func readSysctl(_ setting: SysctlSetting) throws -> String?
    func writeSysctl(_ setting: SysctlSetting) throws
}

/// One line of `realserver status`.
public struct RealServerCheck: Codable, Equatable, Sendable {
    public var what: String
    public var ok: Bool
    /// What is wrong (for a failed check).
    public var detail: String?

    public init(what: String, ok: Bool, detail: String? = nil) {
        self.what = what
        self.ok = ok
        self.detail = detail
    }
}

/// `up`, `down` and `status` over any `RealServerHost`.
public enum RealServerConfigurator {
    public static func missingTunnelError() -> RealServerError {
        RealServerError("tunl0 does not exist in this network namespace: the ipip module is not loaded; load it (modprobe ipip, and add ipip to /etc/modules-load.d/ to keep it after a reboot) and run this again")
    }

    /// Makes the setup true; records in `state` every change it makes (also when it fails half
    /// way, so `down` can undo the part that was done). Returns one line per change.
    public static func up(_ setup: RealServerSetup, host: any RealServerHost, state: inout RealServerState) throws -> [String] {
        var changes: [String] = []
        guard let link = try host.link(setup.device) else {
            if setup.mode == .tunnel { throw missingTunnelError() }
            throw RealServerError("the interface \(setup.device) does not exist in this network namespace")
        }
        for s in setup.sysctls {
            guard let current = try host.readSysctl(s) else {
                throw RealServerError("\(s.path) does not exist; cannot set \(s.name)")
            }
            guard current != s.value else { continue }
            try host.writeSysctl(s)
            if !state.sysctls.contains(where: { $0.interface == s.interface && $0.key == s.key }) {
                state.sysctls.append(.init(interface: s.interface, key: s.key, previous: current))
            }
            changes.append("set \(s.name) = \(s.value) (was \(current))")
        }
        if !link.isUp {
            try host.setLink(link, up: true)
            if !state.linksBroughtUp.contains(link.name) { state.linksBroughtUp.append(link.name) }
            changes.append("brought \(link.name) up")
        }
        let present = try host.addresses().filter { $0.interfaceIndex == link.index }
        for vip in setup.vips {
            let prefix = RealServerSetup.prefixLength(vip)
            if present.contains(where: { $0.address == vip }) { continue }
            try host.addAddress(vip, prefixLength: prefix, link: link)
            let added = RealServerState.AddedAddress(address: vip, prefixLength: prefix, device: link.name)
            if !state.addedAddresses.contains(added) { state.addedAddresses.append(added) }
            changes.append("added \(vip)/\(prefix) to \(link.name)")
        }
        return changes
    }

    /// Undoes what `up` recorded in `state`: the addresses of `vips` (all when nil) on `device`
    /// (any when nil), and, once no added address is left, the links and sysctls. Returns the
    /// changes and notes for VIPs that `up` did not add.
    public static func down(
        vips: [IPAddress]?, device: String? = nil, host: any RealServerHost, state: inout RealServerState
    ) throws -> (changes: [String], notes: [String]) {
        var changes: [String] = [], notes: [String] = []
        let selected = state.addedAddresses.filter { added in
            (vips?.contains(added.address) ?? true) && (device == nil || added.device == device)
        }
        for vip in vips ?? [] where !selected.contains(where: { $0.address == vip }) {
            notes.append("\(vip) was not added by `lvsctl realserver up`; left as it is")
        }
        let present = try host.addresses()
        for added in selected {
            if let link = try host.link(added.device),
                present.contains(where: { $0.interfaceIndex == link.index && $0.address == added.address })
            {
                try host.deleteAddress(added.address, prefixLength: added.prefixLength, link: link)
                changes.append("removed \(added.address)/\(added.prefixLength) from \(added.device)")
            }
            state.addedAddresses.removeAll { $0 == added }
        }
        guard state.addedAddresses.isEmpty else {
            let left = state.addedAddresses.map { "\($0.address)" }.joined(separator: ", ")
            notes.append("sysctls and links are restored when the last VIP goes; still up: \(left)")
            return (changes, notes)
        }
        for name in state.linksBroughtUp.reversed() {
            if let link = try host.link(name), link.isUp {
                try host.setLink(link, up: false)
                changes.append("brought \(name) down")
            }
        }
        state.linksBroughtUp = []
        for saved in state.sysctls.reversed() {
            let s = saved.setting
            if let current = try host.readSysctl(s), current != s.value {
                try host.writeSysctl(s)
                changes.append("set \(s.name) = \(s.value) (restored; was \(current))")
            }
        }
        state.sysctls = []
        return (changes, notes)
    }

    /// Every piece of the setup, present or not.
    public static func status(_ setup: RealServerSetup, host: any RealServerHost) throws -> [RealServerCheck] {
        var checks: [RealServerCheck] = []
        let link = try host.link(setup.device)
        if let link {
            checks.append(RealServerCheck(what: "\(link.name) is up", ok: link.isUp, detail: link.isUp ? nil : "\(link.name) is down"))
        } else {
            let detail = setup.mode == .tunnel
                ? "tunl0 does not exist: the ipip module is not loaded (modprobe ipip)"
                : "\(setup.device) does not exist"
            checks.append(RealServerCheck(what: "\(setup.device) exists", ok: false, detail: detail))
        }
        let present = try host.addresses().filter { $0.interfaceIndex == link?.index }
        for vip in setup.vips {
            let prefix = RealServerSetup.prefixLength(vip)
            let ok = present.contains { $0.address == vip }
            checks.append(RealServerCheck(
                what: "\(vip)/\(prefix) on \(setup.device)", ok: ok, detail: ok ? nil : "\(vip) is not on \(setup.device)"))
        }
        for s in setup.sysctls {
            let current = try host.readSysctl(s)
            let ok = current == s.value
            checks.append(RealServerCheck(
                what: s.description, ok: ok,
                detail: ok ? nil : current.map { "\(s.name) is \($0)" } ?? "\(s.path) does not exist"))
        }
        return checks
    }
}
