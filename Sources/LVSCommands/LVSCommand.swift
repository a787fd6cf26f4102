import ArgumentParser
import LVSReconciler

/// The `lvsctl` command tree.
public struct LVSCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lvsctl",
        abstract: "Declarative reconciler for Linux IPVS load balancers.",
        discussion: ExitStatus.documentation,
        version: LVSCommand.version,
        subcommands: [
            Validate.self, PlanCommand.self, Apply.self, Status.self, DriftCommand.self, History.self,
            Revisions.self, Show.self, Diff.self, Rollback.self, Adopt.self, Export.self, Import.self, Run.self,
            DrainCommand.self, UndrainCommand.self, DirectorMaintenanceCommand.self, RealServerCommand.self, RolloutCommand.self,
        ])

    public init() {}
}

extension LVSCommand {
    /// Entry point for the `lvsctl` executable.
    public static func run() {
        // A kill -TERM or Ctrl-C during an apply waits until its kernel writes are audited.
        Reconciler.holdTerminationSignals = true
        main()
    }
}
