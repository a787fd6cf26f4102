import ArgumentParser
import Foundation
import LVSApply
import LVSDaemon
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
                let names = manifests.isEmpty ? try store.manifests() : manifests
                var states: [DesiredState] = []
                var revisions: [String: Revision] = [:]
                for n in names {
                    guard let rev = try appliedRevision(store, manifest: n) else {
                        throw CLIError("manifest \(n) has never been applied")
                    }
                    states.append(try Manifest.decode(canonicalJSON: rev.content))
                    revisions[n] = rev
                }
                // Health and maintenance as the daemon applies them: a real server at weight 0
                // because its check is down or it is drained is not drift.
                let overlay = DaemonOverlay.apply(
                    desired: states, health: DaemonOverlay.healthStates(try store.healthRecords()),
                    maintenance: DaemonOverlay.maintenanceKeys(try store.maintenanceFlags(), in: states))
                states = overlay.desired
                var policy = policyOptions.policy
                policy.weightOverrides = overlay.weightOverrides
                let live = try kernel.snapshot()
                let owners = try store.owners()
                // A real server being drained (removed from the manifest, weight 0 until its
                // connections end) is still in the kernel on purpose: not drift, as in the daemon.
                let drains = Set(try store.drains().map { ServiceRealServerKey(service: $0.service, realServer: $0.realServer) })
                var draining: [ServiceRealServerKey] = []
                let items = Drift.compute(
                    desired: states, live: live, owners: owners, weightOverrides: overlay.weightOverrides
                ).filter { item in
                    guard item.kind == .unexpected, let s = item.service, let r = item.realServer else { return true }
                    let key = ServiceRealServerKey(service: s, realServer: r)
                    guard drains.contains(key) else { return true }
                    draining.append(key)
                    return false
                }
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
                        let planned = try reconciler.plan(states, policy: policy)
                        guard planned.plan.isApplyable else {
                            document.fix = .init(plan: planned.plan, applied: 0)
                            if global.output == .text { PlanRenderer(plan: planned.plan).print() } else { try Output.emit(document, .json) }
                            throw ExitCode(1)
                        }
                        let outcome = try reconciler.apply(
                            planned.plan, revisions: revisions, origin: .driftFix, author: global.author,
                            verifyFingerprint: false)
                        document.fix = .init(plan: planned.plan, applied: outcome.report.applied)
                        switch global.output {
                        case .text: if let fix = document.fix { DriftDocument.renderFix(fix) { Swift.print($0, terminator: "") } }
                        case .json: try Output.emit(document, .json)
                        }
                    }
                    drifted = false
                }
            }
            if drifted { throw ExitCode(2) }
        }
    }
}
