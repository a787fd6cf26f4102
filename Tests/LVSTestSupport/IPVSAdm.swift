#if canImport(Glibc)
    import Glibc
#endif

/// The one way tests read `ipvsadm` listings that they compare exactly.
public enum IPVSAdm {
    /// `ipvsadm ARGS` in network namespace `namespace` (nil: the current one), run until two
    /// runs in a row print the same.
    ///
    /// The kernel keeps the services of every namespace in one hash table, and a dump that
    /// continues in a second datagram resumes at an index counted over all of them: a service
    /// added or removed meanwhile in another namespace (the suite runs tests side by side) makes
    /// ipvsadm print a service twice or miss one (seen: the last fwmark service twice). lvsctl's
    /// own reads drop repeats (`NetlinkKernel.services`); this is for the reference tool's output.
    ///
    /// Even a dump that fits one datagram is exposed: the kernel ends it only on a second call,
    /// which resumes at the count of every namespace's services and prints this namespace's
    /// again when another namespace gained services in between.
    ///
    /// Up to 20 reads, with a random pause of up to 20 ms before each repeat: while another test
    /// churns services (ConcurrentDumpTests does, on purpose) a read of a large table is often
    /// disturbed, and two quiet reads in a row can take a few tries.
    public static func stableRead(namespace: String?, _ arguments: [String]) throws -> String {
        let command = (namespace.map { ["ip", "netns", "exec", $0] } ?? []) + ["ipvsadm"] + arguments
        func read() throws -> String {
            let r = try ProcessRunner.run(command)
            guard r.status == 0 else {
                throw ProcessRunner.Failure(description: "`\(command.joined(separator: " "))` failed with status \(r.status): \(r.stderr)\(r.stdout)")
            }
            return r.stdout
        }
        var previous = try read()
        for _ in 0..<19 {
            usleep(UInt32.random(in: 0...20_000))
            let next = try read()
            if next == previous { return next }
            previous = next
        }
        return previous
    }
}
