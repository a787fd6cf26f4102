import ArgumentParser

/// Options shared by every command that touches the store or the kernel.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The SQLite database (default: $LVSCTL_DB, else /var/lib/lvsctl/lvsctl.db).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp(
        "Operate on the IPVS table of this network namespace (a name under /run/netns or a path).",
        valueName: "name"))
    var netns: String?

    @Option(name: .shortAndLong, help: "Output format: text for people, json for machines.")
    var output: OutputFormat = .text

    /// The network namespace path, if one was named.
    var namespacePath: String? {
        guard let netns else { return nil }
        return netns.hasPrefix("/") ? netns : "/run/netns/\(netns)"
    }
}
