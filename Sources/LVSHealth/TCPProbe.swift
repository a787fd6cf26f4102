public import LVSModel
public import LVSSocket

/// `TCP_CHECK`: success when a TCP connection to address:port completes within `connectTimeout`.
public enum TCPProbe {
    /// - Parameter namespace: probe from this network namespace (default: lvsctl's own).
    public static func run(address: IPAddress, port: UInt16, timeout: Double, namespace: NetworkNamespace? = nil) async
        -> ProbeResult
    {
        await offload(namespace) {
            do throws(BlockingSocket.Failure) {
                _ = try BlockingSocket.connect(to: address, port: port, timeout: timeout)
                return .success
            } catch {
                return .failure(error.description)
            }
        }
    }
}

/// Runs a blocking probe on a thread of its own, inside `namespace` when there is one; a thread
/// that cannot enter the namespace fails the probe (never probes from the wrong namespace).
func offload(_ namespace: NetworkNamespace?, _ work: @escaping @Sendable () -> ProbeResult) async -> ProbeResult {
    guard let namespace else { return await BlockingSocket.offload(work) }
    switch await namespace.run(work) {
    case .success(let result): return result
    case .failure(let why): return .failure("cannot probe from network namespace \(namespace.path): \(why)")
    }
}
