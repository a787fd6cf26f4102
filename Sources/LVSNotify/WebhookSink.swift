import Foundation
import LVSSocket
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
/// `driftDetected`, `applyFailed`; `type`, `name` and `state` are the exec hook's arguments;
/// `host` is the sending director's host name. Redirects are not followed.
public struct WebhookSink: NotificationSink {
    public var config: WebhookConfig
    public var name: String { "webhook" }

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
        var request = URLRequest(url: config.url)
        request.httpMethod = "POST"
        // URLSession on Linux turns sub-second timeouts into an immediate timeout, so its own
        // timeouts are set loosely and the hard deadline is the timer below.
        let looseTimeout = (max(config.timeout, 0) + 1).rounded(.up)
        request.timeoutInterval = looseTimeout
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("lvsctl-notify", forHTTPHeaderField: "User-Agent")
        for (k, v) in config.headers { request.setValue(v, forHTTPHeaderField: k) }
        request.httpBody = try Self.body(for: notification)

        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = looseTimeout
        configuration.timeoutIntervalForResource = looseTimeout
        let session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        let timeout = config.timeout
        let url = config.url
        let outcome: WebhookOutcome = await withCheckedContinuation { continuation in
            let once = OnceResume(continuation)
            let task = session.dataTask(with: request) { _, response, error in
                if let error {
                    once.resume(.failed((error as NSError).localizedDescription))
                } else if let http = response as? HTTPURLResponse {
                    once.resume(.status(http.statusCode))
                } else {
                    once.resume(.failed("no HTTP response"))
                }
            }
            task.resume()
            afterDelay(timeout) {
                once.resume(.timedOut)
                task.cancel()
            }
        }
        switch outcome {
        case .status(let code) where (200..<300).contains(code): return
        case .status(let code): throw DeliveryError("webhook \(url) answered HTTP \(code)")
        case .failed(let why): throw DeliveryError("webhook \(url) failed: \(why)")
        case .timedOut: throw DeliveryError("webhook \(url) did not answer within \(formatSeconds(timeout)) s")
        }
    }

    enum WebhookOutcome: Sendable {
        case status(Int)
        case failed(String)
        case timedOut
    }

    final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask,
            willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
            completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }
}
