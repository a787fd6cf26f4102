#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which director this is: the key of the per-node values of a manifest's `vrrp` section.
///
/// The one rule every command uses: `--node NAME`, else `LVSCTL_NODE`, else the host name.
public struct NodeName: Hashable, Sendable, CustomStringConvertible {
    public enum Source: String, Hashable, Sendable {
        case option = "--node"
        case environment = "LVSCTL_NODE"
        case hostname = "the host name"
    }

    public var name: String
    public var source: Source

    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }

    /// `d1 (from --node)`.
    public var description: String { "\(name) (from \(source.rawValue))" }

    /// The node from the option, the environment or the host name; nil when none of them gives
    /// a name (an empty option or variable counts as not given).
    ///
    /// - Parameter hostname: the host name; the default asks the system (`gethostname`).
    public static func resolve(
        option: String?, environment: [String: String], hostname: () -> String? = NodeName.systemHostname
    ) -> NodeName? {
        if let o = option, !o.isEmpty { return NodeName(name: o, source: .option) }
        if let e = environment["LVSCTL_NODE"], !e.isEmpty { return NodeName(name: e, source: .environment) }
        if let h = hostname(), !h.isEmpty { return NodeName(name: h, source: .hostname) }
        return nil
    }

    /// The name as the manifest knows it: the name itself, or for a host name
    /// (`d1.example.net`) its first label (`d1`) when only that is a node; nil when neither is.
    public func matching(_ nodes: some Collection<String>) -> String? {
        if nodes.contains(name) { return name }
        if source == .hostname, let dot = name.firstIndex(of: "."), nodes.contains(String(name[..<dot])) {
            return String(name[..<dot])
        }
        return nil
    }

    /// `gethostname(2)`.
    public static func systemHostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
