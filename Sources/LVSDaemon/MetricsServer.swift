import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// A minimal HTTP/1.1 server for `GET /metrics` (Prometheus text format 0.0.4); a service of
/// the daemon's ``ServiceGroup``. Any other path is 404, any other method 405.
public struct MetricsServer: Service {
    public typealias Exposition = @Sendable () async -> String

    let host: String
    let port: Int
    let exposition: Exposition
    let logger: Logger
    let onBound: (@Sendable (Int) -> Void)?

    /// - Parameter onBound: called with the port actually bound (useful with port 0 in tests).
    public init(
        host: String, port: Int, logger: Logger = Logger(label: "lvsctl.metrics"),
        onBound: (@Sendable (Int) -> Void)? = nil, exposition: @escaping Exposition
    ) {
        self.host = host
        self.port = port
        self.exposition = exposition
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let bound = server.channel.localAddress?.port ?? port
        logger.info("metrics endpoint listening", metadata: ["metrics.address": "\(host):\(bound)"])
        onBound?(bound)
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let h): head = h
                    case .body: continue
                    case .end:
                        guard let h = head else { return }
                        let (status, body, type) = await respond(h)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: type)
                        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                        headers.add(name: "Connection", value: "close")
                        try await outbound.write(.head(HTTPResponseHead(version: h.version, status: status, headers: headers)))
                        if h.method != .HEAD {
                            try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                        }
                        try await outbound.write(.end(nil))
                        return
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    private func respond(_ head: HTTPRequestHead) async -> (HTTPResponseStatus, String, String) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/metrics" else { return (.notFound, "not found: try /metrics\n", "text/plain; charset=utf-8") }
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "use GET\n", "text/plain; charset=utf-8")
        }
        return (.ok, await exposition(), "text/plain; version=0.0.4; charset=utf-8")
    }
}
