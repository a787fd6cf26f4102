/// The outcome of one health probe: success, or failure with a short readable reason.
///
/// Reasons are meant for logs and notifications: `connect refused`, `timeout after 3 s`,
/// `HTTP 503 (expected 200)`, `digest mismatch: got …, expected …`, `exit status 2`.
public enum ProbeResult: Hashable, Sendable, CustomStringConvertible {
    case success
    case failure(String)

    public var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }

    /// The failure reason, or nil on success.
    public var error: String? {
        if case .failure(let reason) = self { return reason }
        return nil
    }

    public var description: String {
        switch self {
        case .success: "ok"
        case .failure(let reason): reason
        }
    }
}
