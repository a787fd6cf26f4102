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
    /// `lvsctl apply -f FILE`: validate, store a revision, plan against the live table, apply, audit.
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Make the live IPVS table match a manifest (or apply a saved plan).",
            discussion: """
                Validates the manifest, stores it as a revision, reads the live table over netlink, \
                applies the minimal set of changes and writes one audit row per kernel change. \
                Nothing is changed when the manifest has errors or a safety guard refuses the plan; \
                if the kernel rejects a change, the changes already made are undone.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var policyOptions: PolicyOptions
        @OptionGroup var takeOverOption: TakeOverOption
        @OptionGroup var lock: LockOptions
        @OptionGroup var director: DirectorOptions
        @OptionGroup var reload: ReloadOptions

        @Option(name: .shortAndLong, help: ArgumentHelp("The manifest; - reads standard input.", valueName: "file"))
        var file: String?

        @Option(help: ArgumentHelp("Apply a plan saved by `lvsctl plan --out` instead.", valueName: "plan.json"))
        var plan: String?

        @Option(name: .shortAndLong, help: "A message recorded with the revision.")
        var message: String?

        @Flag(help: "Show the plan and change nothing.")
        var dryRun = false

        @Flag(help: "After applying, wait until removed real servers have drained and are deleted.")
        var wait = false

        @Option(help: ArgumentHelp("Give up waiting for drains after this long.", valueName: "seconds"))
        var waitTimeout: Double = 600

        @Option(help: ArgumentHelp(
            "Read back what the apply changed and warn if it does not match: auto (when it touched at most \(Self.autoVerifyLimit) services), always, never.",
            valueName: "when"))
        var verify: VerifyMode = .auto

        enum VerifyMode: String, ExpressibleByArgument, CaseIterable {
            case auto, always, never
        }

        /// Above this many touched services, `--verify auto` trusts the kernel's acknowledgements:
        /// reading them back would cost as much as the apply (`lvsctl drift` checks it later).
        static let autoVerifyLimit = 100

        func validate() throws {
            try OptionRange.check(waitTimeout, "--wait-timeout", OptionRange.waitTimeout)
            guard (file == nil) != (plan == nil) else {
                throw ValidationError("give exactly one of -f FILE or --plan PLAN")
            }
            if plan != nil && takeOverOption.takeOver {
                throw ValidationError("--take-over goes with -f FILE; a saved plan takes over what `lvsctl plan --take-over` planned")
            }
        }

        func run() throws {
            PhaseTrace.mark("start-up and arguments")
            try guarded {
                if let plan {
                    let store = try global.openStore()
                    let kernel = try global.openKernel()
                    defer { try? KernelAccess.close(kernel) }
                    try applySavedPlan(plan, store: store, kernel: kernel)
                } else if let file {
                    // The manifest loads and the store opens on threads of their own while the
                    // writer lock is taken and the kernel table is read. A bad database, then a
                    // bad manifest, are the errors to report, before a busy lock or an unreadable
                    // kernel.
                    let loading = ManifestLoading(file, probeCapabilities: global.usesRealKernel)
                    let opening = global.openingStore()
                    let kernel = try preferringInputErrors(store: opening, manifest: loading) { try global.openKernel() }
                    defer { try? KernelAccess.close(kernel) }
                    PhaseTrace.mark("open kernel")
                    try applyManifest(loading, opening: opening, kernel: kernel)
                }
            }
        }

        func applyManifest(_ loading: ManifestLoading, opening: Background<Store>, kernel: any IPVSKernel) throws {
            let (state, reconciler) = try preferringInputErrors(store: opening, manifest: loading) {
                try Store.withWriterLock(databasePath: global.databasePath, timeout: lock.timeout) {
                    // Under the lock: no other lvsctl changes the table or the ownership between
                    // these reads and the apply. The ownership is read on the store's thread while
                    // this one reads the kernel.
                    let owning = Background("lvsctl-owners") { try opening.value().owners() }
                    let live = try kernel.snapshot()
                    PhaseTrace.mark("read kernel")
                    let reconciler = Reconciler(store: try opening.value(), kernel: kernel)
                    reconciler.trace = { PhaseTrace.mark($0) }
                    PhaseTrace.mark("open store (waited for)")
                    let manifest = try loading.result()
                    PhaseTrace.mark("load manifest (waited for)")
                    let state = try applyManifest(
                        manifest, loading: loading, live: live, owners: try owning.value(), reconciler: reconciler)
                    return (state, reconciler)
                }
            }
            if wait {
                var states = [state]
                try waitForDrains(reconciler, &states, store: reconciler.store)
            }
        }

        /// The apply itself, under the writer lock, with the live table and the ownership read
        /// under it. Returns the manifest's desired state.
        func applyManifest(
            _ manifest: ManifestResult, loading: ManifestLoading, live: LiveTable,
            owners: [VirtualService.ID: String], reconciler: Reconciler
        ) throws -> DesiredState {
            let store = reconciler.store
            let path = loading.path
            guard let state = manifest.state else { throw ExitStatus.failure.exitCode }
            let states = [state]
            let conflicts = Manifest.ownershipConflicts(state, owners: owners, file: path)
            if conflicts.hasErrors {
                for d in conflicts { printError(d.description) }
                throw ExitStatus.failure.exitCode
            }
            PhaseTrace.mark("ownership check")
            // The rendered keepalived config of a vrrp section, checked against the live
            // namespace (its interfaces) before anything is written.
            let director = directorFiles
            let files = try director.managedFiles(states, place: { _ in path }, checkInterfaces: true)
            let writer = director.writer()
            reconciler.fileWriter = writer
            // Applied right away under the writer lock: no fingerprint to check later.
            let planned = try reconciler.plan(
                states, live: live, owners: owners, policy: takeOverOption.apply(to: policyOptions.policy), fingerprint: false,
                files: files)
            PhaseTrace.mark("plan")
            // Announced addresses must be on the director (or go on bgp.vipDevice): refused here,
            // before the revision is stored and before any kernel write.
            let addressStep = BGPAddressStep(namespacePath: global.namespacePath)
            let placement = global.usesRealKernel ? try addressStep.prepare(state, store: store, place: path) : nil
            if dryRun {
                report(plan: planned.plan, applied: nil, revision: nil)
                if global.output == .text { for line in BGPAddressStep.describe(placement) { print(line) } }
                return state
            }
            guard planned.plan.isApplyable else {
                report(plan: planned.plan, applied: nil, revision: nil)
                if let note = NewStoreHint.note(store: store, storePath: global.databasePath, plan: planned.plan) {
                    printError("lvsctl: note: \(note)")
                }
                throw ExitStatus.failure.exitCode
            }
            // keepalived's config test and "is keepalived running" refuse before the revision is
            // stored and before any kernel write.
            for c in planned.plan.changes where c.action.isFileWrite { try writer.check(c) }
            // A revision that is not the applied one gets a run even when the kernel already
            // matches it (a killed apply may have written everything but never ended its run).
            let appliedID = try store.appliedRevision(manifest: state.manifest)?.id
            let revision = try saveRevision(state, loading: loading, store: store)
            PhaseTrace.mark("save revision")
            let outcome: Reconciler.Outcome
            do {
                defer { Self.printRecovered(reconciler) }
                outcome = try reconciler.apply(
                    planned.plan, revisions: [state.manifest: revision], origin: .apply, author: global.author,
                    recordEmptyRun: revision.id != appliedID, verifyFingerprint: false)
            }
            PhaseTrace.mark("apply and audit")
            report(plan: planned.plan, applied: outcome, revision: revision, kernelWrites: reconciler.kernel.writeCount)
            if global.output == .text { for line in BGPAddressStep.describe(placement) { print(line) } }
            // After the kernel changes succeeded (a failed apply was undone and threw above).
            _ = try addressStep.add(placement, store: store, manifest: state.manifest, author: global.author)
            PhaseTrace.mark("report")
            try verifyConverged(reconciler, states, planned: planned)
            PhaseTrace.mark("verify")
            return state
        }

        /// Stores the manifest's canonical form as a revision. The form is written straight into
        /// the store, piece by piece, and only when the hash says it is new: for a large table the
        /// text is tens of megabytes, which would otherwise be in memory (twice, with SQLite's
        /// record of it) beside the live table and the desired state.
        func saveRevision(_ state: DesiredState, loading: ManifestLoading, store: Store) throws -> Revision {
            let hash = loading.contentHash()
            PhaseTrace.mark("canonical form hashed (waited for)")
            return try store.saveRevision(
                manifest: state.manifest, contentHash: hash, author: global.author, message: message,
                sourcePath: loading.path == "-" ? nil : loading.path, kind: .apply
            ) { piece in
                // Rendered on another thread while this one stores the pieces before.
                PieceStream("lvsctl-revision") { produce in
                    Manifest.encode(state, chunkSize: 1 << 18, to: produce)
                }.forEach(piece)
            }
        }

        /// Says on standard error which interrupted runs the apply closed first.
        static func printRecovered(_ reconciler: Reconciler) {
            for r in reconciler.recovered { printError("lvsctl: note: \(r)") }
        }

        /// Applies a saved plan after checking its digest and its reasons (``SavedPlan/load(path:)``);
        /// in text, prints what it will write before writing it.
        func applySavedPlan(_ path: String, store: Store, kernel: any IPVSKernel) throws {
            let file = try SavedPlan.load(path: path)
            let manifests = try file.canonicalManifests(path: path)
            if global.output == .text { PlanRenderer(plan: file.plan).print() }
            let reconciler = Reconciler(store: store, kernel: kernel)
            let writer = directorFiles.writer()
            reconciler.fileWriter = writer
            try store.withWriterLock(timeout: lock.timeout) {
                for c in file.plan.changes where c.action.isFileWrite { try writer.check(c) }
                var revisions: [String: Revision] = [:]
                for m in manifests {
                    revisions[m.name] = try store.saveRevision(
                        manifest: m.name, content: m.canonicalJSON, author: global.author, message: message,
                        sourcePath: m.sourcePath, kind: .apply)
                }
                do {
                    let outcome = try reconciler.apply(
                        file.plan, revisions: revisions, origin: .apply, author: global.author,
                        recordEmptyRun: false, verifyFingerprint: true)
                    report(
                        plan: file.plan, applied: outcome, revision: revisions.values.first, kernelWrites: kernel.writeCount,
                        savedPlan: true)
                } catch ApplyError.stalePlan {
                    throw CLIError(
                        "the saved plan \(path) is stale: the live IPVS table changed since it was computed; "
                            + "run `lvsctl plan` again and review the new plan")
                }
            }
        }

        /// This director's VRRP files (`--node`, `--keepalived-config`, …).
        var directorFiles: DirectorFiles {
            DirectorFiles(options: director, namespacePath: global.namespacePath, noReload: reload.noReload)
        }

        /// `savedPlan`: the plan text was printed before applying; only the outcome is left to say.
        func report(plan: Plan, applied: Reconciler.Outcome?, revision: Revision?, kernelWrites: Int = 0, savedPlan: Bool = false) {
            let document = ApplyDocument(
                plan: plan, revision: revision.map(RevisionObject.init), applied: applied?.report.applied ?? 0,
                auditRows: applied?.auditRows ?? 0, kernelWrites: kernelWrites, dryRun: dryRun, savedPlan: savedPlan,
                writes: (applied?.report.writes ?? 0) + (applied == nil ? 0 : plan.changes.filter(\.action.isFileWrite).count),
                planShown: savedPlan)
            try? Output.emit(document, global.output)
            if let applied, !dryRun, applied.report.applied > 0 {
                let name = revision.map { "\($0.manifest)@\($0.number)" } ?? "a saved plan"
                var detail = "applied \(name), \(applied.report.applied) kernel change\(applied.report.applied == 1 ? "" : "s")"
                if let m = revision?.message, !m.isEmpty { detail += ": \"\(m)\"" }
                OperatorActionNotice.send("apply", manifest: revision?.manifest, author: global.author, detail: detail)
            }
        }

        /// After an apply the plan must come out empty (drains in progress aside).
        /// Only what the apply changed is read and planned again (``Reconciler/planAfterApply``);
        /// every write was acknowledged by the kernel, so this only catches a kernel that stores
        /// something other than what it was asked to (which the planner would then fight).
        func verifyConverged(_ reconciler: Reconciler, _ states: [DesiredState], planned: Reconciler.Planned) throws {
            switch verify {
            case .never: return
            case .always: break
            case .auto:
                let touched = Set(planned.plan.changes.compactMap(\.service))
                if touched.count > Self.autoVerifyLimit { return }
            }
            let again = try reconciler.planAfterApply(states, planned: planned, policy: policyOptions.policy)
            let leftover = again.changes.filter { $0.action != .deleteRealServer }
            if !leftover.isEmpty {
                printError("lvsctl: warning: the kernel does not match the manifest after applying; still planned:")
                for c in leftover { printError("  \(c.summary)") }
            }
        }

        func waitForDrains(_ reconciler: Reconciler, _ states: inout [DesiredState], store: Store) throws {
            let deadline = Date().addingTimeInterval(waitTimeout)
            while Date() < deadline {
                let outcome: Plan = try store.withWriterLock(timeout: lock.timeout) {
                    let planned = try reconciler.plan(states, policy: policyOptions.policy)
                    let revisions = try states.reduce(into: [String: Revision]()) { r, s in
                        r[s.manifest] = try store.latestRevision(manifest: s.manifest)
                    }
                    _ = try reconciler.apply(
                        planned.plan, revisions: revisions, origin: .drain, author: global.author,
                        verifyFingerprint: false)
                    return planned.plan
                }
                if outcome.pendingDrains.isEmpty && outcome.changes.isEmpty {
                    if global.output == .text { print("All drains finished.") }
                    return
                }
                Thread.sleep(forTimeInterval: 1)
            }
            throw CLIError("drains did not finish within \(Int(waitTimeout)) s; they continue with the next apply or `lvsctl run`")
        }
    }
}
