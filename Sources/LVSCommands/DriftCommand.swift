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

        @Argument(help: "Only these manifests (default: all).")
        var manifests: [String] = []

        @Flag(help: "Apply the changes that bring the kernel back to the applied revisions.")
        var fix = false

        func run() throws {
            var drifted = false
            try guarded {
                let store = try global.openStore()
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                // The daemon's own drift decision (``DriftRules``), with the health states the
                // daemon stored: health, maintenance, draining and the sorry server are not drift.
                let engine = ReconcileEngine(
                    store: store, kernel: kernel, allowExecChecks: true, lockTimeout: lock.timeout, author: global.author)
                let found: ReconcileEngine.DriftReport
                do {
                    found = try engine.drift(
                        health: ReconcileOverlay.healthStates(try store.healthRecords()),
                        manifests: manifests.isEmpty ? nil : manifests)
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
                switch global.output {
                case .text:
                    if items.isEmpty { print("No drift: the live table matches the applied revisions.") }
                    for r in reports {
                        var line = "  \(r.item)"
                        if let at = r.lastSetByLvsctl {
                            line += " (lvsctl last set it at \(at.iso8601) by \(r.lastSetAction ?? "?"); changed outside lvsctl since)"
                        } else {
                            line += " (never set by lvsctl)"
                        }
                        print(line)
                    }
                    if !draining.isEmpty {
                        print("Draining (removed from the manifest; deleted when their connections end):")
                        for d in draining { print("  \(d.realServer) of \(d.service)") }
                    }
                    if !foreign.isEmpty {
                        print("Foreign services (not managed by lvsctl, left alone):")
                        for f in foreign { print("  \(f)") }
                    }
                case .json:
                    try printJSON(DriftJSON(
                        drift: reports, foreign: foreign.map { "\($0)" },
                        draining: draining.map { DrainingJSON(service: "\($0.service)", realServer: "\($0.realServer)") }))
                }
                if fix && drifted {
                    try store.withWriterLock(timeout: lock.timeout) {
                        let reconciler = Reconciler(store: store, kernel: kernel)
                        let planned = try reconciler.plan(found.desired, policy: policyOptions.policy)
                        guard planned.plan.isApplyable else {
                            PlanRenderer(plan: planned.plan).print()
                            throw ExitCode(1)
                        }
                        let outcome = try reconciler.apply(
                            planned.plan, revisions: revisions, origin: .driftFix, author: global.author,
                            verifyFingerprint: false)
                        if global.output == .text {
                            PlanRenderer(plan: planned.plan).print()
                            print("Fixed: applied \(outcome.report.applied) change\(outcome.report.applied == 1 ? "" : "s").")
                        }
                    }
                    drifted = false
                }
            }
            if drifted { throw ExitCode(2) }
        }
    }
}

/// One drift item as `drift --output json` prints it: identities as the strings the other
/// commands take (`tcp/10.0.0.1:80`, `10.0.0.11:80`).
struct DriftReport: Encodable {
    var item: DriftItem
    var lastSetByLvsctl: Date?
    var lastSetAction: String?

    private enum Key: String, CodingKey {
        case kind, manifest, service, realServer, field, expected, live, lastSetByLvsctl, lastSetAction
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(item.kind.rawValue, forKey: .kind)
        try c.encode(item.manifest, forKey: .manifest)
        try c.encodeIfPresent(item.service.map { "\($0)" }, forKey: .service)
        try c.encodeIfPresent(item.realServer.map { "\($0)" }, forKey: .realServer)
        try c.encode(item.field, forKey: .field)
        try c.encodeIfPresent(item.expected, forKey: .expected)
        try c.encodeIfPresent(item.live, forKey: .live)
        try c.encodeIfPresent(lastSetByLvsctl, forKey: .lastSetByLvsctl)
        try c.encodeIfPresent(lastSetAction, forKey: .lastSetAction)
    }
}

private struct DriftJSON: Encodable {
    var drift: [DriftReport]
    var foreign: [String]
    /// Real servers being drained: in the kernel on purpose, not drift.
    var draining: [DrainingJSON]
}

private struct DrainingJSON: Encodable {
    var service: String
    var realServer: String
}
