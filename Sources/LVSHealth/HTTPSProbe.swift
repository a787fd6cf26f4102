import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LVSModel
import LVSSocket

/// `SSL_GET`: an HTTPS GET through URLSession (libcurl on Linux), with certificate verification on.
///
/// What URLSession on Linux can and cannot do, checked against swift-corelibs-foundation and by
/// the tests in `HTTPSProbeTests`:
/// - Certificate verification against the system CA bundle: yes, always on.
/// - Redirects not followed: yes, the task delegate declines them, so a 302 is judged as a 302.
/// - A hard timeout: yes, the task is cancelled when `connectTimeout` passes.
/// - Skipping verification: **no**. swift-corelibs-foundation never hands a server-trust
///   challenge to the delegate and only honours an "insecure" switch on Android, so a check
///   with `insecureSkipVerify: true` fails with an explanation instead of silently verifying.
/// - `Host` header (`virtualhost`): sent as given, but TLS SNI and certificate name checking
///   use the URL host, which is the real server's IP address; so the certificate must name
///   the IP address for verification to pass.
public enum HTTPSProbe {
    /// The failure text for a check asking to skip certificate verification.
    public static let insecureUnsupported =
        "insecureSkipVerify is not supported on Linux: URLSession cannot skip certificate verification; "
        + "use a certificate that names the real server's IP address, or an http or tcp check"

    public static func run(address: IPAddress, port: UInt16, check: HealthCheck) async -> ProbeResult {
        if check.insecureSkipVerify { return .failure(insecureUnsupported) }
        let hostPart = address.family == .ipv6 ? "[\(address)]" : "\(address)"
        let path = HTTPProbe.normalizedPath(check.path)
        guard let url = URL(string: "https://\(hostPart):\(port)\(path)") else {
            return .failure("invalid URL for path \(path)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        // URLSession on Linux turns sub-second timeouts into an immediate timeout, so its own
        // timeouts are set loosely and the hard deadline is the timer below.
        let looseTimeout = (max(check.connectTimeout, 0) + 1).rounded(.up)
        request.timeoutInterval = looseTimeout
        if let host = check.host, !host.isEmpty { request.setValue(host, forHTTPHeaderField: "Host") }
        request.setValue("lvsctl-health", forHTTPHeaderField: "User-Agent")

        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = looseTimeout
        config.timeoutIntervalForResource = looseTimeout
        config.httpShouldSetCookies = false
        config.urlCache = nil
        let delegate = NoRedirectDelegate()
        let session = URLSession(configuration: config, delegate: delegate, delegateQueue: nil)
        defer { session.invalidateAndCancel() }

        let timeout = check.connectTimeout
        let outcome: Outcome = await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    once.resume(.error(error as NSError))
                } else if let http = response as? HTTPURLResponse {
                    once.resume(.response(http.statusCode, data ?? Data()))
                } else {
                    once.resume(.error(NSError(domain: "lvsctl", code: 0, userInfo: [NSLocalizedDescriptionKey: "no HTTP response"])))
                }
            }
            task.resume()
            afterDelay(timeout) {
                once.resume(.timedOut)
                task.cancel()
            }
        }
        switch outcome {
        case .timedOut:
            return .failure("timeout after \(formatSeconds(timeout)) s")
        case .error(let e):
            return .failure(describe(e, timeout: timeout))
        case .response(let status, let body):
            if let bad = HTTPProbe.statusFailure(status, check.statusCodes) { return bad }
            if let expected = check.digest, !expected.isEmpty {
                return HTTPProbe.digestResult(Array(body), expected)
            }
            return .success
        }
    }

    static func describe(_ e: NSError, timeout: Double) -> String {
        let text = e.localizedDescription
        // libcurl reports TLS failures as URL error -1 with OpenSSL's message.
        if text.contains("SSL") || text.contains("certificate") || text.contains("TLS") {
            return "TLS handshake failed: \(text)"
        }
        guard e.domain == NSURLErrorDomain else { return text }
        switch e.code {
        case NSURLErrorTimedOut: return "timeout after \(formatSeconds(timeout)) s"
        case NSURLErrorCannotConnectToHost: return "connect refused"
        case NSURLErrorSecureConnectionFailed, NSURLErrorServerCertificateUntrusted,
            NSURLErrorServerCertificateHasBadDate, NSURLErrorServerCertificateHasUnknownRoot,
            NSURLErrorServerCertificateNotYetValid, NSURLErrorClientCertificateRejected,
            NSURLErrorClientCertificateRequired:
            return "TLS handshake failed (URL error \(e.code)): \(text)"
        default:
            return "URL error \(e.code): \(text)"
        }
    }

    enum Outcome: Sendable {
        case response(Int, Data)
        case error(NSError)
        case timedOut
    }

    /// Resumes a continuation at most once (the task callback and the timer race).
    final class ResumeOnce: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Outcome, Never>?
        init(_ c: CheckedContinuation<Outcome, Never>) { continuation = c }
        func resume(_ o: Outcome) {
            lock.lock()
            let c = continuation
            continuation = nil
            lock.unlock()
            c?.resume(returning: o)
        }
    }

    /// Declines every redirect so the 3xx response itself is judged.
    final class NoRedirectDelegate: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask,
            willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
            completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }
}
