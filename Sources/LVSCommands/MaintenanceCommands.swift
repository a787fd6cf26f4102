import ArgumentParser
import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSPlan
import LVSReconciler
import LVSStore

/// What `drain` and `undrain` share: the target, and one reconcile pass after changing the flag.
struct MaintenanceTarget: ParsableArguments {
    @Argument(help: "The virtual service: tcp/10.0.0.1:80, or its name in a manifest.")
    var service: String

    @Argument(help: "One real server, ADDRESS:PORT (default: every real server of the service).")
    var realServer: String?

    @Flag(help: "Only set the flag; let a running `lvsctl run` apply it (within a second).")
    var noApply = false

    /// Resolves the service argument against the applied manifests.
    func resolve(_ store: Store) throws -> (VirtualService.ID, RealServer.ID?, DesiredState?) {
        var declared: [(VirtualService.ID, String, DesiredState)] = []
        for m in try store.manifests() {
            guard let rev = try store.appliedRevision(manifest: m),
                let state = try? Manifest.decode(canonicalJSON: rev.content)
            else { continue }
            for s in state.services { declared.append((s.service.id, s.name, state)) }
        }
        let id: VirtualService.ID
        if let parsed = VirtualService.ID(service) {
            id = parsed
        } else if let match = declared.first(where: { $0.1 == service }) {
            id = match.0
        } else {
            throw CLIError("no service \(service): give tcp/ADDRESS:PORT or the name of a service in an applied manifest")
        }
        let state = declared.first { $0.0 == id }?.2
        guard let state, let spec = state.services.first(where: { $0.service.id == id }) else {
            throw CLIError("service \(id) is in no applied manifest; `lvsctl status` lists the managed services")
        }
        var rs: RealServer.ID?
        if let realServer {
            guard let parsed = RealServer.ID(realServer) else {
                throw CLIError("\(realServer) is not a real server: give ADDRESS:PORT, e.g. 10.0.0.11:80")
            }
            guard spec.realServers.contains(where: { $0.server.id == parsed }) else {
                throw CLIError("\(parsed) is not a real server of \(id) in manifest \(state.manifest)")
            }
            rs = parsed
        }
        return (id, rs, state)
    }

    /// One pass with the stored health states, the same as the daemon's. Exec checks are
    /// accepted: the pass runs no probe.
    func applyNow(
        _ global: GlobalOptions, store: Store, kernel: any IPVSKernel, lock: LockOptions,
        released: [ServiceRealServerKey] = []
    ) throws -> ReconcileEngine.PassResult {
        let engine = ReconcileEngine(
            store: store, kernel: kernel, allowExecChecks: true, lockTimeout: lock.timeout, author: global.author)
        for key in released { engine.seedCauses[key] = .maintenance }
        do {
            return try engine.pass(health: ReconcileOverlay.healthStates(try store.healthRecords()))
        } catch let e as ReconcileEngine.PassError {
            throw CLIError(e.description)
        }
    }

    /// The real servers concerned, as keys.
    func keys(_ id: VirtualService.ID, _ rs: RealServer.ID?, _ state: DesiredState?) -> [RealServer.ID] {
        if let rs { return [rs] }
        return state?.services.first { $0.service.id == id }?.realServers.map(\.server.id) ?? []
    }
}

extension LVSCommand {
    /// `lvsctl drain SERVICE [REALSERVER]`: maintenance on.
    struct DrainCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain",
            abstract: "Put a service or one real server in maintenance (weight 0) until `undrain`.",
            discussion: """
                Sets a maintenance flag in the store and runs one reconcile pass at once (unless \
                --no-apply), which sets the weight to 0 with one audit row per real server (origin \
                maintenance). A running `lvsctl run` sees the same flag and keeps the weight at 0; \
                the writer lock keeps the two from applying at the same time. Connections in progress \
                continue; --wait waits until the real servers have no active connections left.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var target: MaintenanceTarget
        @OptionGroup var lock: LockOptions

        @Option(name: .shortAndLong, help: "Why (kept with the flag).")
        var message: String?

        @Flag(help: "Wait until the drained real servers have no active connections.")
        var wait = false

        @Option(help: ArgumentHelp("Give up waiting after this long.", valueName: "seconds"))
        var waitTimeout: Double = 600

        func validate() throws {
            try OptionRange.check(waitTimeout, "--wait-timeout", OptionRange.waitTimeout)
        }

        func run() throws {
            try guarded {
                let store = try global.openStore()
                let (id, rs, state) = try target.resolve(store)
                try store.setMaintenance(MaintenanceFlag(
                    service: id, realServer: rs, reason: message, author: global.author, since: Date()))
                OperatorActionNotice.send(
                    "drain", service: "\(id)", realServer: rs.map { "\($0)" }, author: global.author,
                    detail: "drained \(rs.map { "\($0) of " } ?? "")\(id)" + (message.map { ": \"\($0)\"" } ?? ""))
                var document = MaintenanceDocument(
                    action: .drain, service: id, realServer: rs, applied: !target.noApply, weightChanges: 0)
                guard !target.noApply else {
                    try Output.emit(document, global.output)
                    return
                }
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                let result = try target.applyNow(global, store: store, kernel: kernel, lock: lock)
                document.weightChanges = result.auditRows[.maintenance] ?? 0
                // Text says what was drained before waiting; JSON is one document, after it.
                if global.output == .text { try Output.emit(document, .text) }
                if wait {
                    try waitForIdle(kernel, id, target.keys(id, rs, state))
                    document.idle = true
                }
                if global.output == .json { try Output.emit(document, .json) }
            }
        }

        func waitForIdle(_ kernel: any IPVSKernel, _ id: VirtualService.ID, _ servers: [RealServer.ID]) throws {
            let deadline = Date().addingTimeInterval(waitTimeout)
            let wanted = Set(servers)
            while true {
                let service = try kernel.service(id)
                let active = service?.realServers.filter { wanted.contains($0.server.id) }
                    .reduce(0) { $0 + UInt64($1.activeConnections) } ?? 0
                if active == 0 {
                    if global.output == .text { print("No active connections left.") }
                    return
                }
                guard Date() < deadline else {
                    throw CLIError("\(active) active connections left after \(Int(waitTimeout)) s; the servers stay drained")
                }
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// `lvsctl undrain SERVICE [REALSERVER]`: maintenance off.
    struct UndrainCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "undrain",
            abstract: "End maintenance of a service or one real server: back to the manifest weight.",
            discussion: """
                Clears the maintenance flag and runs one reconcile pass at once (unless --no-apply): the \
                weight goes back to the manifest's (or stays 0 while the health check says down).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var target: MaintenanceTarget
        @OptionGroup var lock: LockOptions

        func run() throws {
            try guarded {
                let store = try global.openStore()
                let (id, rs, state) = try target.resolve(store)
                guard try store.clearMaintenance(service: id, realServer: rs) else {
                    throw CLIError("\(rs.map { "\($0) of \(id)" } ?? "\(id)") is not in maintenance")
                }
                OperatorActionNotice.send(
                    "undrain", service: "\(id)", realServer: rs.map { "\($0)" }, author: global.author,
                    detail: "undrained \(rs.map { "\($0) of " } ?? "")\(id)")
                var document = MaintenanceDocument(
                    action: .undrain, service: id, realServer: rs, applied: !target.noApply, weightChanges: 0)
                guard !target.noApply else {
                    try Output.emit(document, global.output)
                    return
                }
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                let released = target.keys(id, rs, state).map { ServiceRealServerKey(service: id, realServer: $0) }
                let result = try target.applyNow(global, store: store, kernel: kernel, lock: lock, released: released)
                document.weightChanges = result.auditRows[.maintenance] ?? 0
                try Output.emit(document, global.output)
            }
        }
    }
}
