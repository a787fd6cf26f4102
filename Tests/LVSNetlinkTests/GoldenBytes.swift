/// Turns an annotated hex dump into bytes: on every line, what follows `#` is a comment; spaces
/// are ignored.
func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in text.split(separator: "\n") {
        let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let digits = Array(code.filter { !$0.isWhitespace })
        var i = 0
        while i + 1 < digits.count {
            out.append(UInt8(String(digits[i...i + 1]), radix: 16) ?? 0xee)
            i += 2
        }
    }
    return out
}

/// Bytes as grouped hex, for readable failure messages.
func dump(_ b: [UInt8]) -> String {
    stride(from: 0, to: b.count, by: 4).map { i in
        b[i..<min(i + 4, b.count)].map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }.joined(separator: " ")
}
