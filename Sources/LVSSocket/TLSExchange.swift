import LVSModel
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// What a ``TLSExchange`` makes of the bytes it receives: it is fed each decrypted chunk and may
/// decide early; otherwise it decides when the server closes the connection.
package protocol TLSResponseJudge: Sendable {
    associatedtype Verdict: Sendable
    /// A verdict as soon as one is possible, else nil to read on.
    mutating func feed(_ bytes: [UInt8]) -> Verdict?
    /// The verdict when the server closed the connection.
    mutating func end() -> Verdict
    /// The verdict for a failure before an answer: `connect refused`, `TLS handshake failed: …`.
    func failed(_ why: String) -> Verdict
    /// The verdict when the deadline passed first (connecting, handshaking or reading).
    func timedOut(after seconds: Double) -> Verdict
}

extension TLSResponseJudge {
    /// A failure saying `timeout after N s`, as the probes word it.
    package func timedOut(after seconds: Double) -> Verdict { failed("timeout after \(formatSeconds(seconds)) s") }
}

/// One request over TLS (SwiftNIO and NIOSSL, BoringSSL), shared by `https` health checks and
/// `https` webhooks: connect, handshake, send, read until the judge decides, all under one
/// deadline.
///
/// Certificate verification is on unless `verify` is false: the chain must lead to the system's
/// roots (or `trustedCAFile`'s) and the certificate must name `serverName`, else the host's IP
/// address. `serverName` is also sent as SNI; an IP address never is.
///
/// Written over NIO rather than URLSession because URLSession on Linux cannot skip verification
/// (swift-corelibs-foundation never hands a server-trust challenge to a delegate), and because
/// linking FoundationNetworking drags libcurl and some thirty libraries into every start of the
/// `lvsctl` binary.
package enum TLSExchange {
    package struct Options: Sendable {
        package var verify: Bool
        package var serverName: String?
        package var trustedCAFile: String?

        package init(verify: Bool = true, serverName: String? = nil, trustedCAFile: String? = nil) {
            self.verify = verify
            self.serverName = serverName
            self.trustedCAFile = trustedCAFile
        }
    }

    /// - Parameters:
    ///   - host: an IP address literal or a DNS name.
    ///   - group: the event loops to connect from (default: NIO's shared group); a
    ///     ``NetworkNamespace``'s loops connect from inside that namespace.
    package static func run<Judge: TLSResponseJudge>(
        host: String, port: UInt16, request: [UInt8], options: Options, timeout: Double, judge: Judge,
        group: (any EventLoopGroup)? = nil
    ) async -> Judge.Verdict {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = options.verify ? .fullVerification : .none
        tls.trustRoots = options.trustedCAFile.map { .file($0) } ?? .default
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            return judge.failed("TLS setup failed: \(error)")
        }
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let sni = options.serverName.flatMap { $0.isEmpty || IPAddress($0) != nil ? nil : $0 }
            ?? (IPAddress(literal) == nil ? literal : nil)
        let loop = (group ?? MultiThreadedEventLoopGroup.singleton).next()
        let exchange = Exchange(loop: loop, judge: judge)
        let deadline = loop.scheduleTask(in: .nanoseconds(Int64(max(timeout, 0) * 1e9))) {
            exchange.finish(exchange.judge.timedOut(after: timeout))
        }
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(Int64(max(timeout, 0) * 1e9)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ssl = try NIOSSLClientHandler(context: context, serverHostname: sni)
                    try channel.pipeline.syncOperations.addHandler(ssl)
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(exchange: exchange))
                }
            }
            .connect(host: literal, port: Int(port))
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    exchange.attach(channel)
                    channel.writeAndFlush(ByteBuffer(bytes: request), promise: nil)
                case .failure(ChannelError.connectTimeout):
                    exchange.finish(exchange.judge.timedOut(after: timeout))
                case .failure(let error):
                    exchange.fail(describe(error))
                }
            }
        let verdict = (try? await exchange.promise.futureResult.get()) ?? judge.failed("no verdict")
        deadline.cancel()
        return verdict
    }

    /// What failed, in the words of the probes: `connect refused`, `TLS handshake failed: …`.
    package static func describe(_ error: any Error) -> String {
        if let e = error as? IOError, e.errnoCode == ECONNREFUSED { return "connect refused" }
        if let e = error as? NIOConnectionError, e.connectionErrors.contains(where: {
            ($0.error as? IOError)?.errnoCode == ECONNREFUSED
        }) {
            return "connect refused"
        }
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

    /// One exchange's state, touched only on its event loop: the channel, the judge, the verdict.
    final class Exchange<Judge: TLSResponseJudge>: @unchecked Sendable {
        let loop: any EventLoop
        let promise: EventLoopPromise<Judge.Verdict>
        var judge: Judge
        private var channel: (any Channel)?
        private var done = false

        init(loop: any EventLoop, judge: Judge) {
            self.loop = loop
            self.promise = loop.makePromise()
            self.judge = judge
        }

        func attach(_ channel: any Channel) {
            loop.preconditionInEventLoop()
            if done { channel.close(promise: nil) } else { self.channel = channel }
        }

        func fail(_ why: String) { finish(judge.failed(why)) }

        /// The first verdict wins; the connection is closed.
        func finish(_ verdict: Judge.Verdict) {
            loop.preconditionInEventLoop()
            guard !done else { return }
            done = true
            channel?.close(promise: nil)
            promise.succeed(verdict)
        }
    }

    /// Feeds decrypted bytes to the judge; a closed connection or an error ends the exchange.
    final class ResponseHandler<Judge: TLSResponseJudge>: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let exchange: Exchange<Judge>

        init(exchange: Exchange<Judge>) { self.exchange = exchange }

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
            exchange.fail(TLSExchange.describe(error))
        }
    }
}
