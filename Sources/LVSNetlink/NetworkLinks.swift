import LVSKernel

/// Which network interfaces exist in a network namespace, over rtnetlink (`RTM_GETLINK`).
public enum NetworkLinks {
    /// The names among `names` that are not links in the namespace at `namespacePath` (nil: the
    /// caller's).
    /// - Throws: ``KernelError`` when the namespace cannot be entered, or ``RouteNetlinkError``
    ///   when the rtnetlink socket cannot be opened or answers with an error.
    public static func missing(_ names: [String], namespacePath: String?) throws -> [String] {
        let route: RouteNetlink
        if let namespacePath {
            route = try insideNetworkNamespace(namespacePath, opening: "an rtnetlink socket") { () throws(KernelError) -> RouteNetlink in
                do throws(RouteNetlinkError) {
                    return try RouteNetlink()
                } catch {
                    throw KernelError(.other, errno: error.errno, message: error.message)
                }
            }
        } else {
            route = try RouteNetlink()
        }
        var out: [String] = []
        for name in names {
            if try route.link(named: name) == nil { out.append(name) }
        }
        return out
    }
}
