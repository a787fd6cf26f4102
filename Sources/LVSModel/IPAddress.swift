/// The address family of an IPVS object.
///
/// The corresponding kernel values are `AF_INET` (2) and `AF_INET6` (10).
public enum IPFamily: String, Hashable, Sendable, Codable, Comparable, CaseIterable {
    case ipv4
    case ipv6

    /// The kernel's `AF_*` number.
    public var kernelValue: UInt16 { self == .ipv4 ? 2 : 10 }

    public init?(kernelValue: UInt16) {
        switch kernelValue {
        case 2: self = .ipv4
        case 10: self = .ipv6
        default: return nil
        }
    }

    public static func < (a: IPFamily, b: IPFamily) -> Bool { a.kernelValue < b.kernelValue }
}

/// An IPv4 or IPv6 address, stored in network byte order.
///
/// Parsing accepts the textual forms `inet_pton` accepts (dotted quad; RFC 4291 IPv6 with `::`
/// compression and an optional trailing dotted quad). Formatting matches glibc's `inet_ntop`, so
/// addresses print exactly as `ipvsadm -n` prints them.
public enum IPAddress: Hashable, Sendable {
    /// An IPv4 address; `UInt32` in host order (10.0.0.1 is `0x0a000001`).
    case v4(UInt32)
    /// An IPv6 address as 16 network-order bytes.
    case v6(IPv6Bytes)

    public var family: IPFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    /// The address bytes in network order: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v):
            return [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
        case .v6(let b):
            return b.array
        }
    }

    /// Builds an address from network-order bytes as the kernel reports them: IPv4 addresses come
    /// back in the first four bytes of a 16-byte field.
    public init?(family: IPFamily, bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        switch family {
        case .ipv4:
            guard b.count >= 4 else { return nil }
            self = .v4(UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
        case .ipv6:
            guard b.count >= 16 else { return nil }
            self = .v6(IPv6Bytes(Array(b[0..<16])))
        }
    }

    /// Parses an IPv4 or IPv6 address; returns nil for anything else (no host names).
    public init?(_ text: some StringProtocol) {
        // The longest address literal (IPv6 with an embedded IPv4 part) has 45 characters;
        // anything much longer is refused before the parsers split it.
        guard text.utf8.count <= 64 else { return nil }
        let s = String(text)
        if s.contains(":") {
            guard let b = IPAddress.parseV6(s) else { return nil }
            self = .v6(IPv6Bytes(b))
        } else {
            guard let v = IPAddress.parseV4(s) else { return nil }
            self = .v4(v)
        }
    }

    /// Dotted quad, as inet_pton reads it: four decimal parts of 0-255, no leading zeros. One
    /// pass over the bytes (splitting into substrings dominated importing a large ipvsadm dump).
    static func parseV4(_ s: String) -> UInt32? {
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var leadingZero = false
        var dots = 0
        for b in s.utf8 {
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                // inet_pton rejects leading zeros ("010"), so do we.
                if digits == 1 && leadingZero { return nil }
                if digits == 0 { leadingZero = b == UInt8(ascii: "0") }
                part = part * 10 + UInt32(b - UInt8(ascii: "0"))
                digits += 1
                if digits > 3 || part > 255 { return nil }
            } else if b == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | part
                part = 0
                digits = 0
                dots += 1
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | part
    }

    static func parseV6(_ s: String) -> [UInt8]? {
        if s.isEmpty { return nil }
        var groups: [UInt16] = []
        var compressAt: Int? = nil
        var rest = Substring(s)
        if rest.hasPrefix("::") {
            compressAt = 0
            rest = rest.dropFirst(2)
            if rest.isEmpty { return [UInt8](repeating: 0, count: 16) }
        } else if rest.hasPrefix(":") {
            return nil
        }
        var tailV4: UInt32? = nil
        while !rest.isEmpty {
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            let token = rest[rest.startIndex..<end]
            if token.contains(".") {
                // A trailing dotted quad must be the last token.
                guard end == rest.endIndex, let v4 = parseV4(String(token)) else { return nil }
                tailV4 = v4
                rest = rest[end...]
                break
            }
            guard !token.isEmpty, token.count <= 4, let g = UInt16(token, radix: 16) else { return nil }
            groups.append(g)
            rest = rest[end...]
            if rest.hasPrefix("::") {
                guard compressAt == nil else { return nil }
                compressAt = groups.count
                rest = rest.dropFirst(2)
            } else if rest.hasPrefix(":") {
                rest = rest.dropFirst()
                if rest.isEmpty { return nil }
            }
        }
        if let v4 = tailV4 {
            groups.append(UInt16(v4 >> 16))
            groups.append(UInt16(v4 & 0xffff))
        }
        if let at = compressAt {
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: [UInt16](repeating: 0, count: 8 - groups.count), at: at)
        }
        guard groups.count == 8 else { return nil }
        return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }
}

extension IPAddress: CustomStringConvertible {
    /// The `inet_ntop` text form.
    public var description: String {
        switch self {
        case .v4(let v):
            return IPAddress.formatV4(v)
        case .v6(let b):
            return IPAddress.formatV6(b.array)
        }
    }

    /// Dotted quad, written digit by digit: addresses are formatted by the hundred thousand
    /// (plans, audit rows, the store's keys), and string interpolation cost several times more.
    static func formatV4(_ v: UInt32) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { buf in
            var n = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = Int((v >> UInt32(shift)) & 0xff)
                if octet >= 100 { buf[n] = UInt8(48 + octet / 100); n += 1 }
                if octet >= 10 { buf[n] = UInt8(48 + octet / 10 % 10); n += 1 }
                buf[n] = UInt8(48 + octet % 10); n += 1
                if shift > 0 { buf[n] = UInt8(ascii: "."); n += 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buf[0..<n]), as: UTF8.self)
        }
    }

    static func formatV6(_ b: [UInt8]) -> String {
        let words = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        // glibc: the longest run of two or more zero words becomes "::" (first such run on ties).
        var bestStart = -1, bestLen = 0, curStart = -1, curLen = 0
        for (i, w) in words.enumerated() {
            if w == 0 {
                if curStart < 0 { curStart = i; curLen = 1 } else { curLen += 1 }
                if curLen > bestLen { bestStart = curStart; bestLen = curLen }
            } else {
                curStart = -1; curLen = 0
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var out = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                out += "::"
                i += bestLen
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            // Embedded IPv4: ::a.b.c.d (compat) and ::ffff:a.b.c.d (mapped), as glibc prints them.
            if i == 6 && bestStart == 0
                && (bestLen == 6 || (bestLen == 5 && words[5] == 0xffff))
            {
                out += "\(b[12]).\(b[13]).\(b[14]).\(b[15])"
                break
            }
            out += String(words[i], radix: 16)
            i += 1
        }
        return out
    }
}

extension IPAddress: Comparable {
    /// Orders IPv4 before IPv6, then numerically.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let x), .v6(let y)): return x.array.lexicographicallyPrecedes(y.array)
        }
    }
}

extension IPAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let a = IPAddress(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an IP address: \(s)")
        }
        self = a
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Sixteen IPv6 address bytes in network order, as a value type with cheap equality.
public struct IPv6Bytes: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(_ bytes: [UInt8]) {
        precondition(bytes.count == 16, "IPv6 addresses have 16 bytes")
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var array: [UInt8] {
        (0..<8).map { UInt8((high >> (56 - 8 * UInt64($0))) & 0xff) }
            + (0..<8).map { UInt8((low >> (56 - 8 * UInt64($0))) & 0xff) }
    }
}
