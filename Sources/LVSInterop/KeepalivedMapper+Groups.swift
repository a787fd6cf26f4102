import LVSModel

// virtual_server_group blocks: the addresses and fwmarks a group stands for.
extension KeepalivedMapper {
    mutating func parseGroup(_ node: KeepalivedNode) {
        guard let name = node.args.first else {
            error(node, "virtual_server_group needs a name", hint: "write virtual_server_group NAME { … }")
            return
        }
        guard let children = node.children else {
            error(node, "virtual_server_group \(name) has no { } block", hint: "list the group's addresses in a block")
            return
        }
        if groups[name] != nil {
            warn(node, "virtual_server_group \(name) is defined twice; the first definition is used",
                 hint: "rename or remove one of them")
            return
        }
        var entries: [GroupEntry] = []
        for entry in children {
            if entry.keyword == "fwmark" {
                guard let mark = unsigned(entry, 0) else { continue }
                var family: IPFamily? = nil
                if entry.args.count > 1 {
                    switch entry.args[1] {
                    case "inet": family = .ipv4
                    case "inet6": family = .ipv6
                    default:
                        error(entry, "fwmark \(mark) family '\(excerpt: entry.args[1])' is unknown", hint: "use inet or inet6")
                        continue
                    }
                }
                entries.append(.fwmark(mark, family, entry))
                continue
            }
            var port: UInt16 = 0
            if let p = entry.args.first {
                guard let v = UInt16(p), p.allSatisfy({ $0.isNumber }) else {
                    error(entry, "invalid port '\(excerpt: p)' in virtual_server_group \(name)", hint: "use a port from 0 to 65535")
                    continue
                }
                port = v
            }
            guard let addresses = expandRange(entry) else { continue }
            entries.append(.addresses(addresses, port, entry))
        }
        if entries.isEmpty {
            warn(node, "virtual server group \(name) has no entries; keepalived removes it", hint: "add addresses or remove the group")
            return
        }
        groups[name] = entries
    }

    static let maxGroupExpansion = 4096

    /// `IP`, `IP-LAST` (last IPv4 octet, or last IPv6 group in hex), `IP-IP`, `IP/PREFIX`.
    mutating func expandRange(_ node: KeepalivedNode) -> [IPAddress]? {
        let text = node.keyword
        func bad(_ why: String) -> [IPAddress]? {
            error(node, "invalid virtual server group address '\(excerpt: text)': \(why)",
                  hint: "write IP, IP-LAST, IP-IP or IP/PREFIX followed by a port")
            return nil
        }
        if let slash = text.firstIndex(of: "/") {
            guard let base = IPAddress(text[..<slash]) else { return bad("not an IP address") }
            let bits = base.family == .ipv4 ? 32 : 128
            guard let prefix = Int(text[text.index(after: slash)...]), prefix >= 1, prefix <= bits else {
                return bad("the prefix length must be 1-\(bits)")
            }
            let hostBits = bits - prefix
            guard hostBits <= 12 else { return bad("the range has more than \(KeepalivedMapper.maxGroupExpansion) addresses") }
            let count = 1 << hostBits
            let bytes = base.bytes
            // Host bits must be zero (keepalived: "Address mask bits not empty").
            if addOffset(bytes, 0, clearingLow: hostBits) != bytes { return bad("host bits are set") }
            return (0..<count).compactMap { IPAddress(family: base.family, bytes: addOffset(bytes, $0, clearingLow: 0)) }
        }
        if let dash = text.firstIndex(of: "-") {
            guard let start = IPAddress(text[..<dash]) else { return bad("not an IP address") }
            let endText = String(text[text.index(after: dash)...])
            let startBytes = start.bytes
            var endBytes: [UInt8]
            if (start.family == .ipv4 && endText.contains(".")) || (start.family == .ipv6 && endText.contains(":")) {
                guard let end = IPAddress(endText), end.family == start.family else { return bad("invalid range end") }
                endBytes = end.bytes
            } else if start.family == .ipv4 {
                guard let last = UInt8(endText), endText.allSatisfy({ $0.isNumber }) else { return bad("the range end must be 0-255") }
                endBytes = startBytes
                endBytes[3] = last
                if startBytes[3] >= last { return bad("the range end is not greater than the start") }
            } else {
                guard let last = UInt16(endText, radix: 16) else { return bad("the range end must be a hex group 0-ffff") }
                endBytes = startBytes
                endBytes[14] = UInt8(last >> 8)
                endBytes[15] = UInt8(last & 0xff)
                if startBytes.lexicographicallyPrecedes(endBytes) == false { return bad("the range end is not greater than the start") }
            }
            if endBytes.lexicographicallyPrecedes(startBytes) { return bad("the range end is less than the start") }
            // Count the addresses (only the last 4 bytes may differ for a sane range).
            guard startBytes.dropLast(4) == endBytes.dropLast(4) else { return bad("the range is too large") }
            let s = startBytes.suffix(4).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let e = endBytes.suffix(4).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard e - s < UInt64(KeepalivedMapper.maxGroupExpansion) else {
                return bad("the range has more than \(KeepalivedMapper.maxGroupExpansion) addresses")
            }
            return (0...Int(e - s)).compactMap { IPAddress(family: start.family, bytes: addOffset(startBytes, $0, clearingLow: 0)) }
        }
        guard let a = IPAddress(text) else { return bad("not an IP address") }
        return [a]
    }

    /// `bytes` with the low `clearingLow` bits cleared, plus `offset`.
    func addOffset(_ bytes: [UInt8], _ offset: Int, clearingLow: Int) -> [UInt8] {
        var b = bytes
        var bits = clearingLow
        var i = b.count - 1
        while bits > 0 && i >= 0 {
            let n = min(bits, 8)
            b[i] &= n == 8 ? 0 : ~UInt8((1 << n) - 1)
            bits -= n
            i -= 1
        }
        var carry = offset
        i = b.count - 1
        while carry > 0 && i >= 0 {
            let sum = Int(b[i]) + (carry & 0xff)
            b[i] = UInt8(sum & 0xff)
            carry = (carry >> 8) + (sum >> 8)
            i -= 1
        }
        return b
    }
}
