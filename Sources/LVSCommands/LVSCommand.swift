import ArgumentParser

/// The `lvsctl` command tree.
public struct LVSCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lvsctl",
        abstract: "Declarative reconciler for Linux IPVS load balancers.",
        subcommands: [])

    public init() {}
}

extension LVSCommand {
    /// Entry point for the `lvsctl` executable.
    public static func run() async {
        await main()
    }
}
