import LVSModel

/// Writes the canonical text of `JSONValue` (see there) straight from values, as UTF-8, without
/// building a tree first: building a dictionary per object, then sorting its keys, cost more than
/// parsing a large manifest. The caller gives each object's members in sorted key order (by UTF-8
/// bytes, as `JSONValue` sorts them), and chooses one-line arrays for arrays of scalars.
///
/// It writes into a buffer of fixed size: either the storage of the String being made (see
/// `text(capacity:_:)`), so that a large text is not built once as bytes and copied once more
/// into a String, and what does not fit is dropped and `overflowed` is set; or a chunk that is
/// handed on each time it is full (see `chunks(size:_:to:)`), so that the text is never whole in
/// memory.
///
///     let text = CanonicalWriter.text(capacity: 4096) { w in
///         w.beginObject()
///         w.key("port"); w.integer(80)
///         w.key("weight"); w.integer(1)
///         w.endObject()
///     }
struct CanonicalWriter: ByteSink {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    /// Takes the buffer's bytes when it is full, in chunk mode; nil: a full buffer overflows.
    private let full: ((UnsafeRawBufferPointer) -> Void)?
    private(set) var count = 0
    private(set) var overflowed = false
    /// Per open object or block array: whether it has a member yet.
    private var hasMembers: [Bool] = []

    init(into buffer: UnsafeMutableBufferPointer<UInt8>, whenFull full: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        self.buffer = buffer
        self.full = full
        hasMembers.reserveCapacity(8)
    }

    /// The text `write` makes, final newline included. `capacity` is a first guess at its size in
    /// bytes: reserving generously costs address space only (pages are touched as they are
    /// written); when the text does not fit, it is written again with twice the room.
    static func text(capacity: Int, _ write: (inout CanonicalWriter) -> Void) -> String {
        var capacity = max(capacity, 4096)
        while true {
            var fits = true
            let text = String(unsafeUninitializedCapacity: capacity) { buffer in
                var w = CanonicalWriter(into: buffer)
                write(&w)
                w.append(UInt8(ascii: "\n"))
                fits = !w.overflowed
                return fits ? w.count : 0
            }
            if fits { return text }
            capacity *= 2
        }
    }

    /// Writes the text `write` makes, final newline included, in pieces of `size` bytes (the
    /// last one shorter) handed to `chunk` in order; only one piece is in memory at a time.
    static func chunks(
        size: Int, _ write: (inout CanonicalWriter) -> Void, to chunk: (UnsafeRawBufferPointer) -> Void
    ) {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(size, 64))
        defer { buffer.deallocate() }
        withoutActuallyEscaping(chunk) { chunk in
            var w = CanonicalWriter(into: buffer, whenFull: chunk)
            write(&w)
            w.append(UInt8(ascii: "\n"))
            w.handOn()
        }
    }

    /// Chunk mode: hands the buffered bytes on and starts the buffer again.
    private mutating func handOn() {
        guard let full, count > 0 else { return }
        full(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
        count = 0
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == buffer.count {
            guard full != nil else {
                overflowed = true
                return
            }
            handOn()
        }
        buffer[count] = byte
        count += 1
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        guard count + bytes.count <= buffer.count else {
            guard full != nil else {
                overflowed = true
                return
            }
            // Fill the buffer, hand it on, go on with the rest.
            var offset = 0
            while offset < bytes.count {
                if count == buffer.count { handOn() }
                let n = min(buffer.count - count, bytes.count - offset)
                UnsafeMutableRawPointer(buffer.baseAddress! + count).copyMemory(from: source + offset, byteCount: n)
                count += n
                offset += n
            }
            return
        }
        UnsafeMutableRawPointer(buffer.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    // MARK: - Containers

    mutating func beginObject() {
        append(UInt8(ascii: "{"))
        hasMembers.append(false)
    }

    mutating func endObject() { close(UInt8(ascii: "}")) }

    /// An array of objects or arrays: one element per line.
    mutating func beginArray() {
        append(UInt8(ascii: "["))
        hasMembers.append(false)
    }

    mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Starts the next member of the open object; keys must come in sorted order.
    mutating func key(_ key: StaticString) {
        newLine()
        append(UInt8(ascii: "\""))
        append(UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        append(UInt8(ascii: "\""))
        append(UInt8(ascii: ":"))
        append(UInt8(ascii: " "))
    }

    /// Starts the next member with a key known only at run time (a node name), escaped as a
    /// JSON string; keys must still come in sorted order.
    mutating func dynamicKey(_ key: String) {
        newLine()
        JSONValue.writeString(key, into: &self)
        append(UInt8(ascii: ":"))
        append(UInt8(ascii: " "))
    }

    /// Starts the next element of the open block array.
    mutating func element() { newLine() }

    private mutating func newLine() {
        if hasMembers[hasMembers.count - 1] {
            append(UInt8(ascii: ","))
        } else {
            hasMembers[hasMembers.count - 1] = true
        }
        append(UInt8(ascii: "\n"))
        pad(2 * hasMembers.count)
    }

    private mutating func close(_ bracket: UInt8) {
        if hasMembers.removeLast() {
            append(UInt8(ascii: "\n"))
            pad(2 * hasMembers.count)
        }
        append(bracket)
    }

    /// `n` spaces, filled in place rather than appended one by one: indentation is about a
    /// third of the canonical text.
    private mutating func pad(_ n: Int) {
        if count + n <= buffer.count {
            UnsafeMutableRawPointer(buffer.baseAddress! + count).initializeMemory(
                as: UInt8.self, repeating: UInt8(ascii: " "), count: n)
            count += n
        } else {
            for _ in 0..<n { append(UInt8(ascii: " ")) }
        }
    }

    // MARK: - Scalars

    mutating func string(_ s: String) { JSONValue.writeString(s, into: &self) }

    mutating func bool(_ b: Bool) { ascii(b ? "true" : "false") }

    mutating func integer(_ i: Int64) {
        if i < 0 { append(UInt8(ascii: "-")) }
        var magnitude = i.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, written from the end
        withUnsafeMutableBytes(of: &digits) { digits in
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            append(UnsafeRawBufferPointer(rebasing: digits[start...]))
        }
    }

    mutating func integer<T: BinaryInteger>(_ i: T) { integer(Int64(i)) }

    mutating func double(_ d: Double) {
        for c in JSONValue.formatDouble(d).utf8 { append(c) }
    }

    private mutating func ascii(_ s: StaticString) {
        append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// An address as its `description`, IPv4 without making a String.
    mutating func address(_ a: IPAddress) {
        guard case .v4(let v) = a else { return string(a.description) }
        append(UInt8(ascii: "\""))
        integer(v >> 24)
        append(UInt8(ascii: "."))
        integer((v >> 16) & 0xff)
        append(UInt8(ascii: "."))
        integer((v >> 8) & 0xff)
        append(UInt8(ascii: "."))
        integer(v & 0xff)
        append(UInt8(ascii: "\""))
    }

    /// A non-empty array of scalars on one line: `[200, 301]`; `[]` when empty.
    mutating func inlineArray<C: Collection>(_ items: C, _ write: (inout CanonicalWriter, C.Element) -> Void) {
        append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first {
                append(UInt8(ascii: ","))
                append(UInt8(ascii: " "))
            }
            first = false
            write(&self, item)
        }
        append(UInt8(ascii: "]"))
    }
}
