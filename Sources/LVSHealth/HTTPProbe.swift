import LVSModel
public import LVSSocket

/// `HTTP_GET`: a plain HTTP/1.1 GET over a socket, judged by status code and optional body digest.
///
/// Written over a socket rather than URLSession so that the probe controls exactly what
/// keepalived controls: the `Host` header (`virtualhost`), no redirects followed (a 301 is
/// judged as a 301), IPv6 literals, and one hard deadline (`connectTimeout`) for the whole
/// exchange: connect, request, headers and, when a digest is wanted, the body.
public enum HTTPProbe {
    /// The largest body read for a digest; a larger one fails the check.
    public static let maxBodyBytes = 8 << 20

    public static func run(address: IPAddress, port: UInt16, check: HealthCheck, namespace: NetworkNamespace? = nil) async
        -> ProbeResult
    {
        await offload(namespace) { runBlocking(address: address, port: port, check: check) }
    }

    /// The `Host` header value: the check's `host`, else the address (and the port when not 80).
    static func hostHeader(address: IPAddress, port: UInt16, check: HealthCheck, defaultPort: UInt16) -> String {
        if let host = check.host, !host.isEmpty { return host }
        let a = address.family == .ipv6 ? "[\(address)]" : "\(address)"
        return port == defaultPort ? a : "\(a):\(port)"
    }

    static func runBlocking(address: IPAddress, port: UInt16, check: HealthCheck) -> ProbeResult {
        let request = request(address: address, port: port, check: check, defaultPort: 80)
        do {
            let sock = try BlockingSocket.connect(to: address, port: port, timeout: check.connectTimeout)
            try sock.send(Array(request.utf8))
            var judge = HTTPResponseJudge(check: check)
            while true {
                let chunk = try sock.receive()
                if chunk.isEmpty { return judge.end() }
                if let verdict = judge.feed(chunk) { return verdict }
            }
        } catch {
            return .failure(error.description)
        }
    }

    /// The request a probe sends: GET with keepalive's headers, `Connection: close`.
    static func request(address: IPAddress, port: UInt16, check: HealthCheck, defaultPort: UInt16) -> String {
        "GET \(normalizedPath(check.path)) HTTP/1.1\r\n"
            + "Host: \(hostHeader(address: address, port: port, check: check, defaultPort: defaultPort))\r\n"
            + "User-Agent: lvsctl-health\r\n"
            + "Accept: */*\r\n"
            + "Connection: close\r\n\r\n"
    }

    static func normalizedPath(_ path: String?) -> String {
        guard let p = path, !p.isEmpty else { return "/" }
        return p.hasPrefix("/") ? p : "/" + p
    }

    /// nil when `status` is accepted (`statusCodes`, or 200 when empty).
    static func statusFailure(_ status: Int, _ accepted: [Int]) -> ProbeResult? {
        let codes = accepted.isEmpty ? [200] : accepted
        if codes.contains(status) { return nil }
        return .failure("HTTP \(status) (expected \(codes.map(String.init).joined(separator: ", ")))")
    }

    static func digestResult(_ body: [UInt8], _ expected: String) -> ProbeResult {
        let got = MD5.hex(body)
        if got == expected.lowercased() { return .success }
        return .failure("digest mismatch: got \(got), expected \(expected.lowercased())")
    }

    enum ChunkedResult { case complete([UInt8]), needMore, invalid }

    /// Decodes a complete `Transfer-Encoding: chunked` body (trailers are skipped).
    static func decodeChunked(_ data: [UInt8]) -> ChunkedResult {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = findCRLF(data, from: i) else { return .needMore }
            let sizeText = String(decoding: data[i..<lineEnd], as: UTF8.self)
                .split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else { return .invalid }
            i = lineEnd + 2
            if size == 0 {
                // Trailers end with an empty line.
                while true {
                    guard let end = findCRLF(data, from: i) else { return .needMore }
                    if end == i { return .complete(out) }
                    i = end + 2
                }
            }
            guard data.count >= i + size + 2 else { return .needMore }
            out += data[i..<(i + size)]
            i += size
            guard data[i] == 13, data[i + 1] == 10 else { return .invalid }
            i += 2
        }
    }

    static func findCRLF(_ data: [UInt8], from: Int) -> Int? {
        var j = from
        while j + 1 < data.count {
            if data[j] == 13 && data[j + 1] == 10 { return j }
            j += 1
        }
        return nil
    }
}

/// Judges a response as its bytes arrive, for HTTP and HTTPS probes alike: the status code
/// against `statusCodes`, then, when a `digest` is wanted, the MD5 of the body (by
/// Content-Length, chunked encoding, or up to the end of the connection).
struct HTTPResponseJudge: Sendable {
    let check: HealthCheck
    private var reader = HTTPResponseReader()
    private var head: HTTPResponseReader.Head?
    private var body: [UInt8] = []

    init(check: HealthCheck) { self.check = check }

    /// Takes the next bytes; returns the verdict as soon as it is known, else nil.
    mutating func feed(_ bytes: [UInt8]) -> ProbeResult? {
        if let head {
            body += bytes
            return bodyVerdict(head, closed: false)
        }
        reader.buffer += bytes
        guard reader.headersComplete else {
            return reader.buffer.count > 65536 ? .failure("response headers larger than 64 KiB") : nil
        }
        let parsed: HTTPResponseReader.Head
        switch reader.parseHead() {
        case .failure(let e): return .failure(e.message)
        case .success(let h): parsed = h
        }
        if let bad = HTTPProbe.statusFailure(parsed.status, check.statusCodes) { return bad }
        guard let expected = check.digest, !expected.isEmpty else { return .success }
        head = parsed
        body = reader.bodyStart
        return bodyVerdict(parsed, closed: false)
    }

    /// The connection ended: the verdict on what arrived.
    func end() -> ProbeResult {
        guard let head else {
            return .failure(reader.buffer.isEmpty ? "connection closed before a response" : "connection closed inside the response headers")
        }
        return bodyVerdict(head, closed: true) ?? .failure("connection closed")
    }

    /// The digest verdict once the body is complete; nil while more is expected.
    private func bodyVerdict(_ head: HTTPResponseReader.Head, closed: Bool) -> ProbeResult? {
        let expected = check.digest ?? ""
        let max = HTTPProbe.maxBodyBytes
        if head.chunked {
            switch HTTPProbe.decodeChunked(body) {
            case .complete(let decoded): return HTTPProbe.digestResult(decoded, expected)
            case .invalid: return .failure("invalid chunked encoding")
            case .needMore:
                if closed { return .failure("connection closed inside a chunked body") }
                return body.count > max + 65536 ? .failure("body larger than \(max >> 20) MiB") : nil
            }
        }
        if let length = head.contentLength {
            if length > max { return .failure("body larger than \(max >> 20) MiB") }
            if body.count >= length { return HTTPProbe.digestResult(Array(body.prefix(length)), expected) }
            return closed ? .failure("connection closed after \(body.count) of \(length) body bytes") : nil
        }
        if body.count > max { return .failure("body larger than \(max >> 20) MiB") }
        return closed ? HTTPProbe.digestResult(body, expected) : nil
    }
}

/// Accumulates response bytes and parses the status line and headers.
struct HTTPResponseReader {
    struct Head {
        var status: Int
        var contentLength: Int?
        var chunked: Bool
    }

    struct ParseError: Error {
        var message: String
    }

    var buffer: [UInt8] = []

    private var headerEnd: Int? {
        guard buffer.count >= 4 else { return nil }
        for j in 0...(buffer.count - 4)
        where buffer[j] == 13 && buffer[j + 1] == 10 && buffer[j + 2] == 13 && buffer[j + 3] == 10 {
            return j
        }
        return nil
    }

    var headersComplete: Bool { headerEnd != nil }

    var bodyStart: [UInt8] {
        guard let end = headerEnd else { return [] }
        return Array(buffer[(end + 4)...])
    }

    func parseHead() -> Result<Head, ParseError> {
        guard let end = headerEnd else { return .failure(ParseError(message: "incomplete response headers")) }
        let text = String(decoding: buffer[0..<end], as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first else { return .failure(ParseError(message: "empty response")) }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            return .failure(ParseError(message: "not an HTTP response: \(String(statusLine.prefix(60)))"))
        }
        var head = Head(status: status, contentLength: nil, chunked: false)
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" { head.contentLength = Int(value) }
            if name == "transfer-encoding" && value.lowercased().contains("chunked") { head.chunked = true }
        }
        return .success(head)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
