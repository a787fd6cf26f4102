import ArgumentParser
import Foundation
import LVSApply
import LVSKernel
import LVSManifest
import LVSModel
import LVSPlan
import LVSReconciler
import LVSStore

extension LVSCommand {
    /// `lvsctl rollback NAME --to N`: plans and applies an earlier revision as a new revision.
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Apply an earlier revision of a manifest again, as a new revision.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var policyOptions: PolicyOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var director: DirectorOptions
        @OptionGroup var reload: ReloadOptions

        @Argument(help: "The manifest name.")
        var manifest: String

        @Option(help: ArgumentHelp("The revision number to go back to.", valueName: "N"))
        var to: Int

        @Option(name: .shortAndLong, help: "A message recorded with the new revision.")
        var message: String?

        @Flag(help: "Show the plan and change nothing.")
        var dryRun = false

        func run() throws {
            try guarded {
                let store = try global.openStore()
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                guard let old = try store.revision(manifest: manifest, number: to) else {
                    throw CLIError("manifest \(manifest) has no revision \(to); `lvsctl revisions \(manifest)` lists them")
                }
                let state = try Manifest.decode(canonicalJSON: old.content)
                let reconciler = Reconciler(store: store, kernel: kernel)
                let director = DirectorFiles(options: director, namespacePath: global.namespacePath, noReload: reload.noReload)
                let writer = director.writer()
                reconciler.fileWriter = writer
                try store.withWriterLock(timeout: lock.timeout) {
                    let files = try director.managedFiles(
                        [state], place: { _ in "manifest \(manifest) revision \(to)" }, checkInterfaces: true)
                    let planned = try reconciler.plan([state], policy: policyOptions.policy, files: files)
                    var document = RollbackDocument(
                        manifest: manifest, to: to, plan: planned.plan, revision: nil, applied: 0, dryRun: dryRun)
                    guard planned.plan.isApplyable, !dryRun else {
                        try Output.emit(document, global.output)
                        if !planned.plan.isApplyable { throw ExitStatus.failure.exitCode }
                        return
                    }
                    for c in planned.plan.changes where c.action.isFileWrite { try writer.check(c) }
                    let revision = try store.saveRevision(
                        manifest: manifest, content: old.content, author: global.author,
                        message: message ?? "rollback to revision \(to)", sourcePath: old.sourcePath,
                        kind: .rollback, basedOn: to)
                    let outcome = try reconciler.apply(
                        planned.plan, revisions: [manifest: revision], origin: .rollback, author: global.author,
                        recordEmptyRun: true, verifyFingerprint: false)
                    document.revision = RevisionObject(revision)
                    document.applied = outcome.report.applied
                    try Output.emit(document, global.output)
                    OperatorActionNotice.send(
                        "rollback", manifest: manifest, author: global.author,
                        detail: "rolled \(manifest) back to revision \(to) as \(manifest)@\(revision.number), \(outcome.report.applied) kernel changes")
                }
            }
        }
    }
}
