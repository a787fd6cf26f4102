import LVSModel
import LVSSocket
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// `SSL_GET`: an HTTPS GET over SwiftNIO and NIOSSL (BoringSSL), judged like ``HTTPProbe``.
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
/// Written over NIO rather than URLSession because URLSession on Linux cannot skip
/// verification (swift-corelibs-foundation never hands a server-trust challenge to a delegate).
public enum HTTPSProbe {
    public static func run(address: IPAddress, port: UInt16, check: HealthCheck) async -> ProbeResult {
        await run(address: address, port: port, check: check, trustedCAFile: nil)
    }

    /// - Parameter trustedCAFile: a PEM file of roots to verify against instead of the system's
    ///   (tests trust their own certificate).
    static func run(address: IPAddress, port: UInt16, check: HealthCheck, trustedCAFile: String?) async -> ProbeResult {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = check.insecureSkipVerify ? .none : .fullVerification
        tls.trustRoots = trustedCAFile.map { .file($0) } ?? .default
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            return .failure("TLS setup failed: \(error)")
        }
        let host = check.host.flatMap { $0.isEmpty || IPAddress($0) != nil ? nil : $0 }
        let socketAddress: SocketAddress
        do {
            socketAddress = try SocketAddress(ipAddress: "\(address)", port: Int(port))
        } catch {
            return .failure("invalid address \(address): \(error)")
        }
        let request = HTTPProbe.request(address: address, port: port, check: check, defaultPort: 443)
        let timeout = check.connectTimeout
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let exchange = Exchange(loop: loop, check: check)
        let deadline = loop.scheduleTask(in: .nanoseconds(Int64(max(timeout, 0) * 1e9))) {
            exchange.finish(.failure("timeout after \(formatSeconds(timeout)) s"))
        }
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(Int64(max(timeout, 0) * 1e9)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ssl = try NIOSSLClientHandler(context: context, serverHostname: host)
                    try channel.pipeline.syncOperations.addHandler(ssl)
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(exchange: exchange))
                }
            }
            .connect(to: socketAddress)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    exchange.attach(channel)
                    channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
                case .failure(let error):
                    exchange.finish(.failure(describe(error, timeout: timeout)))
                }
            }
        let verdict = (try? await exchange.promise.futureResult.get()) ?? .failure("no verdict")
        deadline.cancel()
        return verdict
    }

    /// What failed, in the words of the other probes: `connect refused`, `timeout after 3 s`,
    /// `TLS handshake failed: …`.
    static func describe(_ error: any Error, timeout: Double) -> String {
        if let e = error as? IOError, e.errnoCode == ECONNREFUSED { return "connect refused" }
        if let e = error as? ChannelError, case .connectTimeout = e { return "timeout after \(formatSeconds(timeout)) s" }
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return "TLS handshake failed: the certificate does not name this server (\(e))"
        }
        if let e = error as? NIOSSLError {
            let text = "\(e)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return "TLS handshake failed: certificate verification failed (\(text)); "
                    + "use a certificate from a trusted CA that names the server, or set insecureSkipVerify"
            }
            return "TLS handshake failed: \(text)"
        }
        if error is BoringSSLError { return "TLS handshake failed: \(error)" }
        return "\(error)"
    }

    /// One probe's state, touched only on its event loop: the channel, the judge, the verdict.
    final class Exchange: @unchecked Sendable {
        let loop: any EventLoop
        let promise: EventLoopPromise<ProbeResult>
        var judge: HTTPResponseJudge
        private var channel: (any Channel)?
        private var done = false

        init(loop: any EventLoop, check: HealthCheck) {
            self.loop = loop
            self.promise = loop.makePromise()
            self.judge = HTTPResponseJudge(check: check)
        }

        func attach(_ channel: any Channel) {
            loop.preconditionInEventLoop()
            if done { channel.close(promise: nil) } else { self.channel = channel }
        }

        /// The first verdict wins; the connection is closed.
        func finish(_ verdict: ProbeResult) {
            loop.preconditionInEventLoop()
            guard !done else { return }
            done = true
            channel?.close(promise: nil)
            promise.succeed(verdict)
        }
    }

    /// Feeds decrypted bytes to the judge; a closed connection or an error ends the exchange.
    final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let exchange: Exchange

        init(exchange: Exchange) { self.exchange = exchange }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            if let verdict = exchange.judge.feed(bytes) { exchange.finish(verdict) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            exchange.finish(exchange.judge.end())
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A server that closes without close_notify after a complete response is common.
            if let e = error as? NIOSSLError, case .uncleanShutdown = e { return }
            exchange.finish(.failure(HTTPSProbe.describe(error, timeout: 0)))
        }
    }
}
