import ArgumentParser
import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSPlan
import LVSReconciler

extension LVSCommand {
    /// `lvsctl plan -f FILE`: what apply would do, without doing it.
    struct PlanCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show the changes an apply would make (nothing is changed).",
            discussion: """
                With --detailed-exitcode the exit status is 0 when there are no changes, 1 on error \
                and 2 when changes are pending (for CI). --out saves the plan for `lvsctl apply --plan`, \
                with a digest over its changes and manifest: apply refuses it if the file was edited or \
                the live table changed in between.

                --against plans offline, without root, IPVS or a store: against a director's state \
                captured earlier with `lvsctl export -o state --out state.json` (the live table, \
                ownership, drains, health and maintenance). The plan is computed exactly as on the \
                director; a plan saved with --out still carries the captured table's fingerprint, so \
                `apply --plan` on the director refuses it if the table changed since the capture.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var policyOptions: PolicyOptions
        @OptionGroup var director: DirectorOptions

        @OptionGroup var takeOverOption: TakeOverOption

        @Option(name: .shortAndLong, help: ArgumentHelp("The manifest; - reads standard input.", valueName: "file"))
        var file: String

        @Flag(help: "Exit 0 for no changes, 1 for an error, 2 when changes are pending.")
        var detailedExitcode = false

        @Option(help: ArgumentHelp("Save the plan as JSON for `lvsctl apply --plan`.", valueName: "plan.json"))
        var out: String?

        @Option(help: ArgumentHelp(
            "Plan against a director state from `lvsctl export -o state` instead of the live table and the store.",
            valueName: "state.json"))
        var against: String?

        func validate() throws {
            if against != nil && (global.db != nil || global.netns != nil) {
                throw ValidationError("--against plans against the state file only: leave out --db and --netns")
            }
        }

        func run() throws {
            var pending = false
            PhaseTrace.mark("start-up and arguments")
            try guarded {
                if let against {
                    pending = try planOffline(against)
                    return
                }
                // The manifest loads and the store opens on threads of their own while the
                // kernel table is read. The canonical form is needed only to save the plan (it costs
                // about as much as the parse for a large manifest).
                let loading = ManifestLoading(file, probeCapabilities: global.usesRealKernel, contentHash: false)
                let opening = global.openingStore(.readIfPresent)
                let (kernel, live) = try preferringInputErrors(store: opening, manifest: loading) {
                    let kernel = try global.openKernel()
                    PhaseTrace.mark("open kernel")
                    return (kernel, try kernel.snapshot())
                }
                defer { try? KernelAccess.close(kernel) }
                PhaseTrace.mark("read kernel")
                let store = try opening.value()
                for note in InterruptedRuns.closeIfIdle(store: store, kernel: kernel, live: live).notes {
                    printError("lvsctl: note: \(note)")
                }
                PhaseTrace.mark("open store (waited for)")
                let manifest = try loading.result()
                guard let state = manifest.state else { throw ExitStatus.failure.exitCode }
                PhaseTrace.mark("load manifest (waited for)")
                let reconciler = Reconciler(store: store, kernel: kernel)
                // The rendered keepalived config (a vrrp section) is part of the plan.
                let files = try DirectorFiles(options: director, namespacePath: global.namespacePath)
                    .managedFiles([state], place: { _ in file }, checkInterfaces: true)
                let planned = try reconciler.plan(
                    [state], live: live, policy: takeOverOption.apply(to: policyOptions.policy), fingerprint: out != nil, files: files)
                PhaseTrace.mark("plan")
                let plan = planned.plan
                if let out {
                    try SavedPlan(plan: plan, manifests: [
                        (state.manifest, Manifest.encode(state), file == "-" ? nil : file)
                    ]).write(to: out)
                }
                try Output.emit(PlanDocument(plan: plan), global.output)
                // Announced addresses not on the director: refused as apply refuses them, or
                // shown as the additions to bgp.vipDevice that apply makes.
                let placement = global.usesRealKernel
                    ? try BGPAddressStep(namespacePath: global.namespacePath).prepare(state, store: store, place: file) : nil
                if global.output == .text { for line in BGPAddressStep.describe(placement) { print(line) } }
                if let note = NewStoreHint.note(store: store, storePath: global.databasePath, plan: plan) {
                    printError("lvsctl: note: \(note)")
                }
                PhaseTrace.mark("render")
                if !plan.isApplyable { throw ExitStatus.failure.exitCode }
                pending = !plan.isEmpty
            }
            if detailedExitcode && pending { throw ExitStatus.pending.exitCode }
        }

        /// `--against`: the same plan, from a state file instead of the kernel and the store.
        /// Returns whether changes are pending.
        private func planOffline(_ statePath: String) throws -> Bool {
            let captured = try DirectorStateDocument.load(path: statePath)
            let loading = ManifestLoading(file, capabilities: captured.capabilities, contentHash: false)
            let manifest = try loading.result()
            guard let state = manifest.state else { throw ExitStatus.failure.exitCode }
            let planned = Reconciler.plan(
                [state], against: captured.state, now: Date(), policy: policyOptions.policy, fingerprint: out != nil)
            let plan = planned.plan
            if let out {
                try SavedPlan(plan: plan, manifests: [
                    (state.manifest, Manifest.encode(state), file == "-" ? nil : file)
                ]).write(to: out)
            }
            try Output.emit(PlanDocument(plan: plan), global.output)
            if !plan.isApplyable { throw ExitStatus.failure.exitCode }
            return !plan.isEmpty
        }
    }
}
