import LVSModel
public import LVSSocket

/// Runs one probe for a target; the seam ``HealthChecker`` uses, so tests can script results.
public protocol Prober: Sendable {
    func probe(_ target: HealthTarget) async -> ProbeResult
}

/// The real prober: dispatches on the check type and enforces the daemon's `allowExec`.
public struct ProbeRunner: Prober {
    /// Whether `exec` checks may run (``HealthCheckerConfig/allowExec``).
    public var allowExec: Bool
    /// The network namespace every probe runs in (`lvsctl run --netns`); nil: lvsctl's own.
    public var namespace: NetworkNamespace?

    public init(allowExec: Bool = false, namespace: NetworkNamespace? = nil) {
        self.allowExec = allowExec
        self.namespace = namespace
    }

    /// The failure an exec check gets when the daemon does not allow exec checks.
    public static let execRefused =
        "exec checks are disabled: a manifest may not make the director run programs; "
        + "set allowExec: true in the daemon's health-check config to allow them"

    public func probe(_ target: HealthTarget) async -> ProbeResult {
        let check = target.check
        switch check.type {
        case .tcp:
            return await TCPProbe.run(address: target.address, port: target.port, timeout: check.connectTimeout, namespace: namespace)
        case .http:
            return await HTTPProbe.run(address: target.address, port: target.port, check: check, namespace: namespace)
        case .https:
            return await HTTPSProbe.run(address: target.address, port: target.port, check: check, namespace: namespace)
        case .exec:
            guard allowExec else { return .failure(Self.execRefused) }
            return await ExecProbe.run(command: check.command ?? [], timeout: check.connectTimeout, namespace: namespace)
        }
    }
}
