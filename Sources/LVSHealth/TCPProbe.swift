import LVSModel
import LVSSocket

/// `TCP_CHECK`: success when a TCP connection to address:port completes within `connectTimeout`.
public enum TCPProbe {
    public static func run(address: IPAddress, port: UInt16, timeout: Double) async -> ProbeResult {
        await BlockingSocket.offload {
            do throws(BlockingSocket.Failure) {
                _ = try BlockingSocket.connect(to: address, port: port, timeout: timeout)
                return .success
            } catch {
                return .failure(error.description)
            }
        }
    }
}
