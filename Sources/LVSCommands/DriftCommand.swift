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
    /// `lvsctl drift`: compares the applied revisions with the live kernel.
    struct DriftCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drift",
            abstract: "Report differences between the applied revisions and the live table (exit 2 on drift).",
            discussion: """
                Each difference names the object, the field, the expected and the live value, and when \
                lvsctl last set that object (from the audit), so an out-of-band change shows as such. \
                Services created by others are listed as foreign and never changed. Exit 0 when clean, \
                2 on drift, 1 on error. --fix converges the kernel back to the applied revisions.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var policyOptions: PolicyOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var director: DirectorOptions
        @OptionGroup var reload: ReloadOptions

        @Argument(help: "Only these manifests (default: all).")
        var manifests: [String] = []

        @Flag(help: "Apply the changes that bring the kernel back to the applied revisions.")
        var fix = false

        func run() throws {
            var drifted = false
            try guarded {
                let store = try global.openStore(fix ? .write : .read)
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                // A run left `running` by a killed apply is resolved first: the audit and the
                // ownership drift reads are then the kernel's truth.
                for note in InterruptedRuns.closeIfIdle(store: store, kernel: kernel).notes { printError("lvsctl: note: \(note)") }
                // The daemon's own drift decision (``DriftRules``), with the health states the
                // daemon stored: health, maintenance, draining and the sorry server are not drift.
                let engine = ReconcileEngine(
                    store: store, kernel: kernel, allowExecChecks: true, lockTimeout: lock.timeout, author: global.author)
                let found: ReconcileEngine.DriftReport
                // The rendered keepalived config: a missing or hand-edited file is drift.
                let director = DirectorFiles(options: director, namespacePath: global.namespacePath, noReload: reload.noReload)
                let files = { (states: [DesiredState]) in
                    try director.managedFiles(states, place: { "manifest \($0.manifest)" }, checkInterfaces: false)
                }
                do {
                    found = try engine.drift(
                        health: ReconcileOverlay.healthStates(try store.healthRecords()),
                        manifests: manifests.isEmpty ? nil : manifests, files: files)
                } catch let e as ReconcileError {
                    throw CLIError(e.description)
                }
                if let (name, why) = found.rejected.sorted(by: { $0.key < $1.key }).first {
                    throw CLIError("manifest \(name): \(why)")
                }
                let states = found.planned.overlay.desired
                let revisions = found.revisions
                let live = found.planned.live
                let owners = found.planned.owners
                let items = found.findings.items
                let draining = found.findings.draining
                let foreign = Drift.foreign(desired: states, live: live, owners: owners)
                var reports: [DriftReport] = []
                for item in items {
                    var r = DriftReport(item: item)
                    if let svc = item.service, let last = try store.lastSet(service: svc, realServer: item.realServer) {
                        r.lastSetByLvsctl = last.at
                        r.lastSetAction = last.action
                    }
                    reports.append(r)
                }
                drifted = !items.isEmpty
                var document = DriftDocument(drift: reports, draining: draining, foreign: foreign)
                // Text reports before fixing; JSON is one document, with the fix in it.
                if global.output == .text || !(fix && drifted) { try Output.emit(document, global.output) }
                if fix && drifted {
                    try store.withWriterLock(timeout: lock.timeout) {
                        let reconciler = Reconciler(store: store, kernel: kernel)
                        reconciler.fileWriter = director.writer()
                        let planned = try reconciler.plan(
                            found.desired, policy: policyOptions.policy, files: try files(found.desired))
                        guard planned.plan.isApplyable else {
                            document.fix = .init(plan: planned.plan, applied: 0)
                            if global.output == .text { PlanRenderer(plan: planned.plan).print() } else { try Output.emit(document, .json) }
                            throw ExitStatus.failure.exitCode
                        }
                        let outcome = try reconciler.apply(
                            planned.plan, revisions: revisions, origin: .driftFix, author: global.author,
                            verifyFingerprint: false)
                        document.fix = .init(plan: planned.plan, applied: outcome.report.applied)
                        OperatorActionNotice.send(
                            "drift --fix", manifest: revisions.keys.sorted().joined(separator: ","), author: global.author,
                            detail: "fixed \(items.count) drift item\(items.count == 1 ? "" : "s") with \(outcome.report.applied) kernel changes")
                        switch global.output {
                        case .text: if let fix = document.fix { DriftDocument.renderFix(fix) { Swift.print($0, terminator: "") } }
                        case .json: try Output.emit(document, .json)
                        }
                    }
                    drifted = false
                }
            }
            if drifted { throw ExitStatus.pending.exitCode }
        }
    }
}
