import LVSModel

/// Writes the canonical text of `JSONValue` (see there) straight from values, as UTF-8, without
/// building a tree first: building a dictionary per object, then sorting its keys, cost more than
/// parsing a large manifest. The caller gives each object's members in sorted key order (by UTF-8
/// bytes, as `JSONValue` sorts them), and chooses one-line arrays for arrays of scalars.
///
///     var w = CanonicalWriter()
///     w.beginObject()
///     w.key("port"); w.integer(80)
///     w.key("weight"); w.integer(1)
///     w.endObject()
struct CanonicalWriter {
    private(set) var bytes: [UInt8] = []
    /// Per open object or block array: whether it has a member yet.
    private var hasMembers: [Bool] = []

    init(reserve: Int = 0) {
        bytes.reserveCapacity(max(4096, reserve))
        hasMembers.reserveCapacity(8)
    }

    /// The text with its final newline.
    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    // MARK: - Containers

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        hasMembers.append(false)
    }

    mutating func endObject() { close(UInt8(ascii: "}")) }

    /// An array of objects or arrays: one element per line.
    mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        hasMembers.append(false)
    }

    mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Starts the next member of the open object; keys must come in sorted order.
    mutating func key(_ key: StaticString) {
        newLine()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
    }

    /// Starts the next element of the open block array.
    mutating func element() { newLine() }

    private mutating func newLine() {
        if hasMembers[hasMembers.count - 1] {
            bytes.append(UInt8(ascii: ","))
        } else {
            hasMembers[hasMembers.count - 1] = true
        }
        bytes.append(UInt8(ascii: "\n"))
        pad(2 * hasMembers.count)
    }

    private mutating func close(_ bracket: UInt8) {
        if hasMembers.removeLast() {
            bytes.append(UInt8(ascii: "\n"))
            pad(2 * hasMembers.count)
        }
        bytes.append(bracket)
    }

    private mutating func pad(_ n: Int) {
        for _ in 0..<n { bytes.append(UInt8(ascii: " ")) }
    }

    // MARK: - Scalars

    mutating func string(_ s: String) { JSONValue.writeString(s, into: &bytes) }

    mutating func bool(_ b: Bool) { bytes.append(contentsOf: (b ? "true" : "false").utf8) }

    mutating func integer(_ i: Int64) {
        if i < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = i.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, written from the end
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                count += 1
                buffer[24 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            bytes.append(contentsOf: buffer[(24 - count)..<24])
        }
    }

    mutating func integer<T: BinaryInteger>(_ i: T) { integer(Int64(i)) }

    mutating func double(_ d: Double) { bytes.append(contentsOf: JSONValue.formatDouble(d).utf8) }

    /// An address as its `description`, IPv4 without making a String.
    mutating func address(_ a: IPAddress) {
        guard case .v4(let v) = a else { return string(a.description) }
        bytes.append(UInt8(ascii: "\""))
        integer(v >> 24)
        bytes.append(UInt8(ascii: "."))
        integer((v >> 16) & 0xff)
        bytes.append(UInt8(ascii: "."))
        integer((v >> 8) & 0xff)
        bytes.append(UInt8(ascii: "."))
        integer(v & 0xff)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A non-empty array of scalars on one line: `[200, 301]`; `[]` when empty.
    mutating func inlineArray<C: Collection>(_ items: C, _ write: (inout CanonicalWriter, C.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first {
                bytes.append(UInt8(ascii: ","))
                bytes.append(UInt8(ascii: " "))
            }
            first = false
            write(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }
}
