import ArgumentParser
import Foundation
import LVSKernel
import LVSStore

/// Where a command works: the store and the network namespace. Commands with one output form
/// (`run` writes logs, `export` takes its format with `-o`) take only these.
struct TargetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The SQLite database (default: $LVSCTL_DB, else /var/lib/lvsctl/lvsctl.db).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp(
        "Operate on the IPVS table of this network namespace (a name under /run/netns or a path).",
        valueName: "name"))
    var netns: String?

    /// The network namespace path, if one was named.
    var namespacePath: String? {
        guard let netns else { return nil }
        return netns.hasPrefix("/") ? netns : "/run/netns/\(netns)"
    }

    /// The database file `--db` / `LVSCTL_DB` name.
    var databasePath: String { Store.defaultPath(option: db, environment: ProcessInfo.processInfo.environment) }

    func openStore(_ mode: StoreAccess.Mode = .write) throws -> Store {
        try StoreAccess.open(databasePath, mode)
    }

    func openKernel() throws -> any IPVSKernel {
        try KernelAccess.open(namespacePath: namespacePath)
    }
}

/// Options shared by every command that touches the store or the kernel and prints a result:
/// the target, and `-o/--output` (the one name of the output format in every command; a file
/// to write is `--out FILE` everywhere).
struct GlobalOptions: ParsableArguments {
    @OptionGroup var target: TargetOptions

    @Option(name: .shortAndLong, help: "Output format: text for people, json for machines.")
    var output: OutputFormat = .text

    var db: String? { target.db }
    var netns: String? { target.netns }
    var namespacePath: String? { target.namespacePath }
}
