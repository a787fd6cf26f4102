import ArgumentParser
import Foundation
import LVSKernel
import LVSPlan
import LVSStore

/// The safety and drain policy options of commands that change the kernel.
struct PolicyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Refuse to remove or drain more than this percentage of a service's real servers in one apply.",
        valueName: "percent"))
    var maxRemoval: Double = 50

    @Flag(help: "Allow removing or draining more real servers than --max-removal.")
    var allowRemoval = false

    @Flag(help: "Allow deleting virtual services.")
    var allowDelete = false

    @Option(help: ArgumentHelp("Drain timeout for removed real servers, when the manifest sets none.", valueName: "seconds"))
    var drainTimeout: UInt32 = 30

    var policy: PlanPolicy {
        var p = PlanPolicy()
        p.maxRemovalFraction = maxRemoval / 100
        p.allowRemoval = allowRemoval
        p.allowDelete = allowDelete
        p.defaultDrainTimeout = drainTimeout
        return p
    }

    func validate() throws {
        try OptionRange.check(maxRemoval, "--max-removal", OptionRange.maxRemoval, unit: "a percentage")
        try OptionRange.check(drainTimeout, "--drain-timeout", OptionRange.drainTimeout, unit: "seconds")
    }
}

/// `--take-over` (plan and apply): the manifest's services that exist in the kernel but belong to
/// nobody (created by keepalived or ipvsadm) are taken over as the manifest declares them: the
/// plan edits what differs, like any owned service, and writes nothing for what already matches;
/// the apply records lvsctl's ownership. Only services the manifest declares are taken; other
/// foreign services stay foreign. The cut-over from a running keepalived uses it.
struct TakeOverOption: ParsableArguments {
    @Flag(help: "Take over the manifest's services that exist in the kernel unmanaged (created by keepalived or ipvsadm), as the manifest declares them.")
    var takeOver = false

    func apply(to policy: PlanPolicy) -> PlanPolicy {
        var p = policy
        p.adoptForeign = takeOver
        return p
    }
}

/// How long to wait for another lvsctl holding the writer lock.
struct LockOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for another lvsctl that is applying.", valueName: "seconds"))
    var lockTimeout: Double = 30

    var timeout: Duration { .milliseconds(Int64(lockTimeout * 1000)) }

    func validate() throws {
        try OptionRange.check(lockTimeout, "--lock-timeout", OptionRange.lockTimeout)
    }
}

extension GlobalOptions {
    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The database file `--db` / `LVSCTL_DB` name.
    var databasePath: String { target.databasePath }

    /// The store, opened as `StoreAccess` says for a command that `mode`s it.
    func openStore(_ mode: StoreAccess.Mode = .write) throws -> Store {
        try StoreAccess.open(databasePath, mode)
    }

    /// Opens the store on a thread of its own (GRDB's first touches and the migration check cost
    /// a few hundred milliseconds on a slow CPU) while the command reads the kernel.
    func openingStore(_ mode: StoreAccess.Mode = .write) -> Background<Store> {
        let path = databasePath
        return Background("lvsctl-store") { try StoreAccess.open(path, mode) }
    }

    func openKernel() throws -> any IPVSKernel {
        try KernelAccess.open(namespacePath: namespacePath)
    }

    /// Whether the kernel is the real one (not the file-backed fake used by host tests).
    var usesRealKernel: Bool { (environment[KernelAccess.fakeVariable] ?? "").isEmpty }

    var author: String { Author.current(environment: environment) }
}

/// A path option's value: the option when given, else its `LVSCTL_*` variable, else the default.
/// One rule for every such option (`--run-dir`, `--keepalived-*`, `--bird-*`).
func optionOrVariable(_ option: String?, _ variable: String, default fallback: String, environment: [String: String]) -> String {
    if let option, !option.isEmpty { return option }
    if let value = environment[variable], !value.isEmpty { return value }
    return fallback
}

/// Refuses a relative path given to a path option (the daemon and keepalived resolve paths from
/// other working directories).
func requireAbsolutePaths(_ options: [(value: String?, name: String)]) throws {
    for (value, name) in options {
        if let value, !value.hasPrefix("/") { throw ValidationError("\(name) '\(value)' must be an absolute path") }
    }
}
