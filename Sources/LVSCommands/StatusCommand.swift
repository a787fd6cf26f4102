import ArgumentParser
import Foundation
import LVSKernel
import LVSModel
import LVSReconciler
import LVSStore

extension LVSCommand {
    /// `lvsctl status`: the live table as operators know it, with lvsctl's ownership and drains.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the live IPVS table (ipvsadm -Ln --stats layout) with owners, drains, health and maintenance.")

        @OptionGroup var global: GlobalOptions

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
                try Output.emit(
                    StatusDocument(
                        info: info, table: table, owners: owners, drains: drains, health: health, maintenance: maintenance, now: Date()),
                    global.output)
            }
        }
    }
}
