import LVSModel

/// Address classes the manifest validation rejects because the kernel would (see
/// ipvs-netlink.md §4.4) or because they can never be a service address.
extension IPAddress {
    var isUnspecified: Bool {
        switch self {
        case .v4(let v): v == 0
        case .v6(let b): b.high == 0 && b.low == 0
        }
    }

    var isMulticast: Bool {
        switch self {
        case .v4(let v): v >> 28 == 0xE
        case .v6(let b): b.high >> 56 == 0xFF
        }
    }

    var isLimitedBroadcast: Bool {
        if case .v4(let v) = self { return v == 0xFFFF_FFFF }
        return false
    }

    var isLinkLocalV6: Bool {
        if case .v6(let b) = self { return b.high >> 54 == 0x3FA }  // fe80::/10
        return false
    }
}
