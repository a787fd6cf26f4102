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

extension IPAddress {
    /// `IPAddress(text)`, with a fast path for plain dotted-quad IPv4 (`10.0.0.1`): a manifest of
    /// 100 000 real servers spent a tenth of its load time in the general parser. Anything the
    /// fast path does not accept outright goes to the general parser, so the results are the same.
    static func parsingManifest(_ text: String) -> IPAddress? {
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var leadingZero = false
        var dots = 0
        for b in text.utf8 {
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if digits == 0 { leadingZero = b == UInt8(ascii: "0") } else if leadingZero { return IPAddress(text) }
                digits += 1
                part = part * 10 + UInt32(b - UInt8(ascii: "0"))
                if digits > 3 || part > 255 { return IPAddress(text) }
            } else if b == UInt8(ascii: "."), digits > 0, dots < 3 {
                value = value << 8 | part
                part = 0
                digits = 0
                dots += 1
            } else {
                return IPAddress(text)
            }
        }
        guard dots == 3, digits > 0 else { return IPAddress(text) }
        return .v4(value << 8 | part)
    }
}
