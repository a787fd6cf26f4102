#if canImport(Glibc)
    import Glibc
#endif

/// A uniquely named network namespace (`ip netns add`) for one test case: `lo` up, and `dummy0`
/// with 192.0.2.1/24 and 2001:db8:ffff::1/64 plus default routes (a namespace without any IPv4
/// address makes the kernel refuse every IPv4 real server). Deleted by `close()` or on deinit.
public final class NetworkNamespace: @unchecked Sendable {
    public let name: String
    private var closed = false

    /// `/run/netns/NAME`, what `NetlinkKernel(namespacePath:)` takes.
    public var path: String { "/run/netns/\(name)" }

    public init(prefix: String = "lvst") throws {
        name = "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try ProcessRunner.check(["ip", "netns", "add", name])
        do {
            for cmd in [
                ["ip", "link", "set", "lo", "up"],
                ["ip", "link", "add", "dummy0", "type", "dummy"],
                ["ip", "link", "set", "dummy0", "up"],
                ["ip", "addr", "add", "192.0.2.1/24", "dev", "dummy0"],
                ["ip", "-6", "addr", "add", "2001:db8:ffff::1/64", "dev", "dummy0", "nodad"],
                ["ip", "route", "add", "default", "via", "192.0.2.254", "dev", "dummy0"],
                ["ip", "-6", "route", "add", "default", "via", "2001:db8:ffff::fe", "dev", "dummy0"],
            ] {
                let r = try run(cmd)
                guard r.status == 0 else {
                    throw ProcessRunner.Failure(description: "in netns \(name): `\(cmd.joined(separator: " "))` failed: \(r.stderr)")
                }
            }
        } catch {
            close()
            throw error
        }
    }

    /// Runs a command inside the namespace (`ip netns exec NAME …`).
    public func run(_ arguments: [String], input: String? = nil) throws -> ProcessRunner.Result {
        try ProcessRunner.run(["ip", "netns", "exec", name] + arguments, input: input)
    }

    /// Like `run`, but throws unless the command succeeds; returns its standard output.
    @discardableResult
    public func check(_ arguments: [String], input: String? = nil) throws -> String {
        let r = try run(arguments, input: input)
        guard r.status == 0 else {
            throw ProcessRunner.Failure(description: "in netns \(name): `\(arguments.joined(separator: " "))` failed with status \(r.status): \(r.stderr)\(r.stdout)")
        }
        return r.stdout
    }

    /// `ipvsadm -Sn` in this namespace, read until two reads in a row agree: compare `ipvsadm -Sn`
    /// or `-Ln` exactly only through this or ``ipvsadm(_:)`` (see ``IPVSAdm/stableRead(namespace:_:)``).
    public func ipvsadmSave() throws -> String { try ipvsadm(["-Sn"]) }

    /// `ipvsadm ARGS` in this namespace, run until two runs in a row print the same.
    public func ipvsadm(_ arguments: [String]) throws -> String {
        try IPVSAdm.stableRead(namespace: name, arguments)
    }

    /// Deletes the namespace.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = try? ProcessRunner.run(["ip", "netns", "delete", name])
    }

    deinit { close() }
}
