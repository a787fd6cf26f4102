import LVSModel
public import LVSSocket

/// `SSL_GET`: an HTTPS GET, judged like ``HTTPProbe``.
///
/// - Certificate verification is **on** by default: the chain must lead to a root in the
///   system's trust store, and the certificate must name the real server's IP address (an IP
///   SAN), or the check's `host` when one is given.
/// - `insecureSkipVerify: true` turns verification off: keepalived's `SSL_GET` never verifies,
///   so imported checks carry it explicitly.
/// - `host` (keepalived's `virtualhost`) is sent as the `Host` header and as TLS SNI, and is
///   the name the certificate is checked against; an IP address is never sent as SNI.
/// - No redirects are followed; one hard deadline (`connectTimeout`) covers connect, handshake,
///   request and response.
///
/// The connection is a ``TLSExchange`` (SwiftNIO and NIOSSL), shared with `https` webhooks.
public enum HTTPSProbe {
    /// - Parameter namespace: connect from this network namespace.
    public static func run(address: IPAddress, port: UInt16, check: HealthCheck, namespace: NetworkNamespace? = nil) async
        -> ProbeResult
    {
        await run(address: address, port: port, check: check, trustedCAFile: nil, namespace: namespace)
    }

    /// - Parameter trustedCAFile: a PEM file of roots to verify against instead of the system's
    ///   (tests trust their own certificate).
    static func run(
        address: IPAddress, port: UInt16, check: HealthCheck, trustedCAFile: String?, namespace: NetworkNamespace? = nil
    ) async -> ProbeResult {
        let request = HTTPProbe.request(address: address, port: port, check: check, defaultPort: 443)
        return await TLSExchange.run(
            host: "\(address)", port: port, request: Array(request.utf8),
            options: .init(verify: !check.insecureSkipVerify, serverName: check.host, trustedCAFile: trustedCAFile),
            timeout: check.connectTimeout, judge: HTTPResponseJudge(check: check), group: namespace?.eventLoops)
    }
}

extension HTTPResponseJudge: TLSResponseJudge {
    func failed(_ why: String) -> ProbeResult { .failure(why) }
}
