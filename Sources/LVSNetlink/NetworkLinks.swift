import LVSKernel
public import LVSModel

#if canImport(Glibc)
    import Glibc
#endif

/// Which network interfaces and addresses exist in a network namespace, over rtnetlink
/// (`RTM_GETLINK`, `RTM_GETADDR`), and adding an address there (`RTM_NEWADDR`).
public enum NetworkLinks {
    /// The names among `names` that are not links in the namespace at `namespacePath` (nil: the
    /// caller's).
    /// - Throws: ``KernelError`` when the namespace cannot be entered, or ``RouteNetlinkError``
    ///   when the rtnetlink socket cannot be opened or answers with an error.
    public static func missing(_ names: [String], namespacePath: String?) throws -> [String] {
        let route = try socket(namespacePath)
        var out: [String] = []
        for name in names {
            if try route.link(named: name) == nil { out.append(name) }
        }
        return out
    }

    /// Every address of every interface of the namespace at `namespacePath` (nil: the caller's).
    public static func addresses(namespacePath: String?) throws -> Set<IPAddress> {
        Set(try socket(namespacePath).addresses().map(\.address))
    }

    /// `ip addr add ADDRESS/PREFIX dev DEVICE` in the namespace; an address already there is
    /// not an error (the caller's check and this add may race with another lvsctl).
    /// - Throws: a ``RouteNetlinkError`` naming the device when it does not exist.
    public static func addAddress(
        _ address: IPAddress, prefixLength: UInt8, device: String, namespacePath: String?
    ) throws {
        let route = try socket(namespacePath)
        guard let link = try route.link(named: device) else {
            throw RouteNetlinkError("interface '\(device)' does not exist", errno: ENODEV)
        }
        // (A typed `do throws` with `catch where` crashes the Swift 6.3.1 compiler in
        // MandatoryAllocBoxToStack; the Result keeps the error typed.)
        let added = Result { () throws(RouteNetlinkError) in
            try route.addAddress(address, prefixLength: prefixLength, interfaceIndex: link.index)
        }
        if case .failure(let error) = added, error.errno != EEXIST { throw error }
    }

    /// An rtnetlink socket of the namespace at `path` (nil: the caller's): the socket keeps the
    /// namespace it was opened in, so the thread goes back to its own at once.
    private static func socket(_ path: String?) throws -> RouteNetlink {
        guard let path else { return try RouteNetlink() }
        return try insideNetworkNamespace(path, opening: "an rtnetlink socket") { () throws(KernelError) -> RouteNetlink in
            do throws(RouteNetlinkError) {
                return try RouteNetlink()
            } catch {
                throw KernelError(.other, errno: error.errno, message: error.message)
            }
        }
    }
}
