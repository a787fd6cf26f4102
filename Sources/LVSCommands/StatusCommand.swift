import ArgumentParser
import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSReconciler
import LVSStore
import LVSBGP
import LVSVRRP

extension LVSCommand {
    /// `lvsctl status`: the live table as operators know it, with lvsctl's ownership and drains.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the live IPVS table (ipvsadm -Ln --stats layout) with owners, drains, health and maintenance.",
            discussion: """
                With an applied vrrp section, also the role of each VRRP instance and sync group as keepalived \
                last reported it, this director's maintenance and its track files. With an applied bgp section, \
                the route of each announced address as lvsctl run last decided it (announced, draining, withdrawn, \
                and why), and BIRD's BGP sessions, asked through --bird-socket.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var director: DirectorOptions
        @OptionGroup var bird: BirdSocketOption

        func run() throws {
            try guarded {
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                let table = try kernel.snapshot()
                let info = try kernel.info()
                var owners: [VirtualService.ID: String] = [:]
                var drains: [DrainRecord] = []
                var health: [HealthRecord] = []
                var maintenance: [MaintenanceFlag] = []
                // A director that never ran apply has no store (read-only: none is created).
                let store = try global.openStore(.readIfPresent)
                for note in InterruptedRuns.closeIfIdle(store: store, kernel: kernel, live: table).notes {
                    printError("lvsctl: note: \(note)")
                }
                owners = try store.owners()
                drains = try store.drains()
                health = try store.healthRecords()
                maintenance = try store.maintenanceFlags()
                var document = StatusDocument(
                    info: info, table: table, owners: owners, drains: drains, health: health, maintenance: maintenance, now: Date())
                document.director = try directorStatus(store)
                document.bgp = try bgpStatus(store)
                try Output.emit(document, global.output)
            }
        }
    }
}

extension LVSCommand.Status {
    /// The director pair's state, when an applied manifest has a `vrrp` section.
    func directorStatus(_ store: Store) throws -> DirectorStatus? {
        guard let (manifest, config) = try ReconcileEngine.vrrpSection(in: store) else { return nil }
        let roles = try store.vrrpRoles()
        func role(_ kind: VRRPRoleRecord.Kind, _ name: String) -> VRRPRoleRecord? {
            roles.first { $0.kind == kind && $0.name == name }
        }
        let paths = director.paths()
        return DirectorStatus(
            node: director.nodeName()?.name, manifest: manifest,
            instances: config.instances.map { ($0.name, role(.instance, $0.name)) },
            groups: config.syncGroups.map { ($0.name, role(.group, $0.name)) },
            maintenance: try store.directorMaintenance(), maintenanceFile: paths.maintenanceFile,
            maintenanceHeld: TrackFile.read(paths.maintenanceFile), readinessFile: paths.readinessFile,
            readinessHeld: TrackFile.read(paths.readinessFile))
    }

    /// The BGP side, when an applied manifest has a `bgp` section: routes from the store, sessions
    /// from BIRD (a BIRD that does not answer within 3 s is reported, not an error of `status`).
    func bgpStatus(_ store: Store) throws -> BGPStatus? {
        guard let (manifest, config, announced) = try ReconcileEngine.bgpSection(in: store) else { return nil }
        let node = director.nodeName()?.name
        var sessions: [BirdProtocolStatus]?
        var sessionsError: String?
        let control = BirdControl(socket: bird.path(), timeout: 3)
        do {
            sessions = try waitForAsync { try await control.bgpSessions() }
        } catch {
            sessionsError = "\(error)"
        }
        return BGPStatus(
            node: node, manifest: manifest, localAS: config.localAS, routerID: node.flatMap { config.routerID[$0] },
            routes: BGPStatus.routes(announced: announced, stored: try store.bgpRoutes()),
            sessions: sessions, sessionsError: sessionsError)
    }
}
