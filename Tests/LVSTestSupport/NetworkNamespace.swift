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

    /// `ipvsadm -Sn` in this namespace, read until two reads in a row agree.
    ///
    /// The kernel keeps the services of every namespace in one hash table, and a dump that
    /// continues in a second datagram resumes at an index counted over all of them: a service
    /// added or removed meanwhile in another namespace (the suite runs tests side by side) makes
    /// ipvsadm print a service twice or miss one (seen: the last fwmark service twice). lvsctl's
    /// own reads drop repeats (`NetlinkKernel.services`); this is for the reference tool's output.
    ///
    /// Even a dump that fits one datagram is exposed: the kernel ends it only on a second call,
    /// which resumes at the count of every namespace's services and prints this namespace's
    /// again when another namespace gained services in between. Compare `ipvsadm -Sn` or
    /// `ipvsadm -Ln` exactly only through this (or ``ipvsadm(_:)``).
    public func ipvsadmSave() throws -> String { try ipvsadm(["-Sn"]) }

    /// `ipvsadm ARGS` in this namespace, run until two runs in a row print the same, for
    /// listings (`-Sn`, `-Ln --thresholds`, ...) that are compared exactly; see ``ipvsadmSave()``.
    ///
    /// Up to 20 reads, with a random pause of up to 20 ms before each repeat: while another test
    /// churns services (ConcurrentDumpTests does, on purpose) a read of a large table is often
    /// disturbed, and two quiet reads in a row can take a few tries.
    public func ipvsadm(_ arguments: [String]) throws -> String {
        var previous = try check(["ipvsadm"] + arguments)
        for _ in 0..<19 {
            usleep(UInt32.random(in: 0...20_000))
            let next = try check(["ipvsadm"] + arguments)
            if next == previous { return next }
            previous = next
        }
        return previous
    }

    /// Deletes the namespace.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = try? ProcessRunner.run(["ip", "netns", "delete", name])
    }

    deinit { close() }
}
