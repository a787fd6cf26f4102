import ArgumentParser
import Foundation
import LVSKernel
import LVSModel
import LVSStore

extension LVSCommand {
    /// `lvsctl status`: the live table as operators know it, with lvsctl's ownership and drains.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the live IPVS table (ipvsadm -Ln --stats layout) with owners and drains.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            try guarded {
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                let table = try kernel.snapshot()
                let info = try kernel.info()
                var annotations = StatusRenderer.Annotations()
                var drains: [DrainRecord] = []
                var health: [HealthRecord] = []
                // The store is optional for status: a director that never ran apply has none.
                let path = Store.defaultPath(option: global.db, environment: global.environment)
                if FileManager.default.fileExists(atPath: path) {
                    let store = try global.openStore()
                    annotations.owners = try store.owners()
                    drains = try store.drains()
                    health = try store.healthRecords()
                }
                let now = Date()
                for d in drains {
                    var note = "draining (\(d.reason.rawValue))"
                    if let deadline = d.deadline {
                        note += ", \(max(0, Int(deadline.timeIntervalSince(now)))) s left"
                    }
                    annotations.realServerNotes[d.service, default: [:]][d.realServer, default: []].append(note)
                }
                for h in health {
                    var note = "health \(h.healthy ? "up" : "down")"
                    if let last = h.lastCheck { note += ", checked \(last.iso8601)" }
                    if let err = h.lastError, !h.healthy { note += " (\(err))" }
                    annotations.realServerNotes[h.service, default: [:]][h.realServer, default: []].append(note)
                }
                switch global.output {
                case .text:
                    print(StatusRenderer(info: info, table: table, annotations: annotations).render(), terminator: "")
                case .json:
                    try printJSON(StatusJSON(
                        version: info.versionString, connectionTableSize: info.connectionTableSize,
                        table: table,
                        owners: Dictionary(uniqueKeysWithValues: annotations.owners.map { ("\($0.key)", $0.value) }),
                        drains: drains.map { DrainJSON(service: "\($0.service)", realServer: "\($0.realServer)", startedAt: $0.startedAt, deadline: $0.deadline, reason: $0.reason.rawValue) }))
                }
            }
        }
    }
}

private struct StatusJSON: Encodable {
    var version: String
    var connectionTableSize: UInt32
    var table: LiveTable
    var owners: [String: String]
    var drains: [DrainJSON]
}

private struct DrainJSON: Encodable {
    var service: String
    var realServer: String
    var startedAt: Date
    var deadline: Date?
    var reason: String
}
