import Foundation
import LVSModel
import LVSSocket

/// POSTs each notification as JSON to a URL; any 2xx answer counts as delivered.
///
/// Body schema, version 1 (`Content-Type: application/json`, keys sorted, absent values omitted):
///
/// ```json
/// {
///   "version": 1,
///   "kind": "realServerDown",
///   "type": "REALSERVER",
///   "name": "tcp/10.0.0.1:80/10.0.0.11:80",
///   "state": "DOWN",
///   "service": "tcp/10.0.0.1:80",
///   "serviceName": "web-http",
///   "realServer": "10.0.0.11:80",
///   "manifest": "web",
///   "message": "connect refused",
///   "timestamp": "2026-11-25T16:07:59Z",
///   "host": "director-1"
/// }
/// ```
///
/// `kind` is one of `realServerUp`, `realServerDown`, `quorumLost`, `quorumGained`,
/// `driftDetected`, `applyFailed`, `vrrpMaster`, `vrrpBackup`, `vrrpFault`, `vrrpStop` (type
/// `INSTANCE` or `GROUP`); `type`, `name` and `state` are the exec hook's arguments;
/// `host` is the sending director's host name. Redirects are not followed.
///
/// `http` goes over a plain socket, `https` over a ``TLSExchange`` (the certificate is verified
/// against the system's roots); one deadline (`timeout`) covers the whole request. Not
/// URLSession: FoundationNetworking would load libcurl and some thirty libraries into every
/// start of `lvsctl`.
public struct WebhookSink: NotificationSink {
    public var config: WebhookConfig
    public var name: String { "webhook" }
    public var operatorActions: Bool { config.operatorActions }

    public init(config: WebhookConfig) {
        self.config = config
    }

    /// The JSON document of schema version 1.
    public struct Payload: Codable, Hashable, Sendable {
        public var version: Int
        public var kind: String
        public var type: String
        public var name: String
        public var state: String
        public var service: String?
        public var serviceName: String?
        public var realServer: String?
        public var manifest: String?
        public var message: String
        public var timestamp: String
        public var host: String

        public init(_ n: Notification, host: String = ProcessInfo.processInfo.hostName) {
            version = 1
            kind = n.kind.rawValue
            type = n.type
            name = n.name
            state = n.state
            service = n.service
            serviceName = n.serviceName
            realServer = n.realServer
            manifest = n.manifest
            message = n.message
            timestamp = iso8601(n.timestamp)
            self.host = host
        }
    }

    public static func body(for n: Notification) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Payload(n))
    }

    public func send(_ notification: Notification) async throws {
        let url = config.url
        let secure = url.scheme?.lowercased() == "https"
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || secure, let host = url.host, !host.isEmpty else {
            throw DeliveryError("webhook \(url) is not an http:// or https:// URL")
        }
        let port = UInt16(clamping: url.port ?? (secure ? 443 : 80))
        let request = try Self.request(url: url, host: host, port: port, secure: secure, headers: config.headers, body: Self.body(for: notification))
        let timeout = config.timeout
        let outcome: WebhookOutcome
        if secure {
            outcome = await TLSExchange.run(
                host: host, port: port, request: request, options: .init(), timeout: timeout, judge: StatusJudge())
        } else {
            outcome = await BlockingSocket.offload {
                do throws(BlockingSocket.Failure) {
                    let sock = try BlockingSocket.connect(host: host, port: port, timeout: timeout)
                    try sock.send(request)
                    var judge = StatusJudge()
                    while true {
                        let bytes = try sock.receive()
                        if bytes.isEmpty { return judge.end() }
                        if let verdict = judge.feed(bytes) { return verdict }
                    }
                } catch .timeout {
                    return .timedOut
                } catch {
                    return .failed("\(error)")
                }
            }
        }
        switch outcome {
        case .status(let code) where (200..<300).contains(code): return
        case .status(let code): throw DeliveryError("webhook \(url) answered HTTP \(code)")
        case .timedOut:
            throw DeliveryError("webhook \(url) did not answer within \(formatSeconds(timeout)) s")
        case .failed(let why): throw DeliveryError("webhook \(url) failed: \(why)")
        }
    }

    /// The HTTP/1.1 POST: the URL's path and query, `Host`, the JSON body, the configured
    /// headers; `Connection: close`.
    static func request(
        url: URL, host: String, port: UInt16, secure: Bool, headers: [String: String], body: Data
    ) throws -> [UInt8] {
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query, !query.isEmpty { target += "?" + query }
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (port == (secure ? 443 : 80) ? "" : ":\(port)")
        var head = "POST \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Type: application/json\r\n"
            + "User-Agent: lvsctl-notify\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            guard !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }),
                !value.contains(where: { $0 == "\r" || $0 == "\n" })
            else {
                throw DeliveryError("webhook header \(name) contains a line break or a colon in its name")
            }
            head += "\(name): \(value)\r\n"
        }
        return Array((head + "\r\n").utf8) + Array(body)
    }

    enum WebhookOutcome: Sendable {
        case status(Int)
        case failed(String)
        case timedOut
    }

    /// Reads the status line (`HTTP/1.1 204 No Content`) and decides on its code.
    struct StatusJudge: TLSResponseJudge {
        private var head: [UInt8] = []

        mutating func feed(_ bytes: [UInt8]) -> WebhookOutcome? {
            head += bytes
            guard let end = head.firstIndex(of: UInt8(ascii: "\n")) else {
                return head.count > 8192 ? .failed("no HTTP status line") : nil
            }
            let line = String(decoding: head[..<end], as: UTF8.self)
            let parts = line.split(separator: " ")
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
                return .failed("not an HTTP response: \(line.prefix(80))")
            }
            return .status(code)
        }

        func end() -> WebhookOutcome { .failed("the connection closed before an HTTP status line") }

        func failed(_ why: String) -> WebhookOutcome { .failed(why) }

        func timedOut(after seconds: Double) -> WebhookOutcome { .timedOut }
    }
}
