import ArgumentParser
import Foundation
import LVSDaemon
import LVSManifest
import LVSModel
import LVSReconciler
import LVSStore
import LVSVRRP

extension LVSCommand {
    /// `lvsctl maintenance on|off|status`: this director's maintenance in a director pair.
    struct DirectorMaintenanceCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "maintenance",
            abstract: "Take this director out of service (VRRP: the VIPs move to the peer; BGP: its routes are withdrawn) and back.",
            discussion: """
                `on` puts this director in maintenance: the store keeps who, when and why (-m), one audit \
                row is written (origin maintenance), and the maintenance track file in --run-dir is set to \
                1, so keepalived puts the vrrp section's maintenanceInstances (and their sync groups) into \
                FAULT and the peer takes their addresses within a few seconds. `off` sets it back to 0: \
                the instances return to BACKUP and take the addresses back if they preempt. The state \
                survives restarts: `lvsctl run` rewrites the track file from the store at start and \
                keeps it so. Works with or without a running `lvsctl run`. Real servers are drained with \
                `lvsctl drain`, not here.

                With a bgp section (directors behind ECMP), `lvsctl run` drains this director's routes \
                (MED, GRACEFUL_SHUTDOWN) and withdraws them while in maintenance, and announces them again \
                after `off`.
                """,
            subcommands: [On.self, Off.self, StatusCommand.self])

        /// What `on`, `off` and `status` share.
        struct Common: ParsableArguments {
            @OptionGroup var global: GlobalOptions
            @OptionGroup var director: DirectorOptions
        }

        /// The applied `vrrp` section and its manifest, or nil.
        static func vrrpSection(_ store: Store) throws -> (manifest: String, config: VRRPConfig)? {
            try ReconcileEngine.vrrpSection(in: store)
        }

        /// The manifest the maintenance belongs to (the one with the `vrrp` section, else the one
        /// with the `bgp` section), or an error saying what to do.
        static func owner(_ store: Store) throws -> (manifest: String, vrrp: VRRPConfig?) {
            if let found = try vrrpSection(store) { return (found.manifest, found.config) }
            if let manifest = try ReconcileEngine.bgpManifest(in: store) { return (manifest, nil) }
            throw CLIError(
                "no applied manifest has a vrrp or bgp section: director maintenance moves this director's VRRP instances to "
                    + "its peer, or withdraws its BGP routes; apply the manifest with that section first")
        }

        /// Sets (or clears) the maintenance, writes the track file, and prints the result.
        static func set(_ on: Bool, message: String?, _ common: Common) throws {
            let store = try common.global.openStore()
            let (manifest, config) = try owner(store)
            let paths = common.director.paths()
            let author = common.global.author
            let (before, audit) = try store.setDirectorMaintenance(
                on ? DirectorMaintenance(author: author, reason: message, since: Date()) : nil, manifest: manifest,
                author: author, values: DirectorMaintenanceDocument.auditValue)
            let file: (on: Bool, changed: Bool)
            do {
                file = try DirectorState.writeMaintenanceFile(store: store, paths: paths)
            } catch {
                throw CLIError("\(error) (the store says maintenance \(on ? "on" : "off"); `lvsctl run` writes the file when it can)")
            }
            try Output.emit(
                DirectorMaintenanceDocument(
                    action: on ? .on : .off, changed: audit != nil, maintenance: try store.directorMaintenance(),
                    previous: before, trackFile: paths.maintenanceFile, trackFileHeld: file.on,
                    instances: config?.maintenanceInstances ?? [], node: common.director.nodeName()?.name),
                common.global.output)
        }

        struct On: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "on", abstract: "Put this director in maintenance: its maintenance instances go to FAULT.")
            @OptionGroup var common: Common
            @Option(name: .shortAndLong, help: "Why (kept with the state, shown by status).")
            var message: String?
            func run() throws { try guarded { try DirectorMaintenanceCommand.set(true, message: message, common) } }
        }

        struct Off: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "off", abstract: "Take this director out of maintenance.")
            @OptionGroup var common: Common
            func run() throws { try guarded { try DirectorMaintenanceCommand.set(false, message: nil, common) } }
        }

        struct StatusCommand: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "status", abstract: "Show whether this director is in maintenance, and the track file.")
            @OptionGroup var common: Common
            func run() throws {
                try guarded {
                    let store = try common.global.openStore(.readIfPresent)
                    let paths = common.director.paths()
                    let config = (try? DirectorMaintenanceCommand.vrrpSection(store))??.config
                    try Output.emit(
                        DirectorMaintenanceDocument(
                            action: .status, changed: false, maintenance: try store.directorMaintenance(), previous: nil,
                            trackFile: paths.maintenanceFile, trackFileHeld: TrackFile.read(paths.maintenanceFile),
                            instances: config?.maintenanceInstances ?? [], node: common.director.nodeName()?.name),
                        common.global.output)
                }
            }
        }
    }
}

/// `lvsctl maintenance on|off|status`.
struct DirectorMaintenanceDocument: Rendered {
    static let kind = "directorMaintenance"
    static let formatVersion = 1

    enum Action: String, Encodable {
        case on, off, status
    }

    var action: Action
    /// Whether `on`/`off` changed the state (false: it already was so).
    var changed: Bool
    /// The state now: nil = not in maintenance.
    var maintenance: DirectorMaintenance?
    /// The state before `on`/`off`.
    var previous: DirectorMaintenance?
    var trackFile: String
    /// What the track file holds: true = 1 (instances held in FAULT), false = 0, nil = missing.
    var trackFileHeld: Bool?
    /// The instances the track file puts into FAULT (`maintenanceInstances`).
    var instances: [String]
    var node: String?

    private enum CodingKeys: String, CodingKey {
        case action, changed, maintenance, trackFile, trackFileHeld, instances, node
    }

    private struct State: Encodable {
        var m: DirectorMaintenance
        enum CodingKeys: String, CodingKey { case author, reason, since }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(m.author, forKey: .author)
            try c.encodeIfPresent(m.reason, forKey: .reason)
            try c.encode(m.since, forKey: .since)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(action, forKey: .action)
        try c.encode(changed, forKey: .changed)
        if let maintenance { try c.encode(State(m: maintenance), forKey: .maintenance) } else { try c.encodeNil(forKey: .maintenance) }
        try c.encode(trackFile, forKey: .trackFile)
        if let trackFileHeld { try c.encode(trackFileHeld, forKey: .trackFileHeld) } else { try c.encodeNil(forKey: .trackFileHeld) }
        try c.encode(instances, forKey: .instances)
        try c.encodeIfPresent(node, forKey: .node)
    }

    /// The audit row's value: `{"directorMaintenance": {"author": …, "reason": …, "since": …}}`;
    /// nil when not in maintenance.
    static func auditValue(_ m: DirectorMaintenance?) -> String? {
        guard let m else { return nil }
        struct Outer: Encodable {
            var directorMaintenance: State
            enum CodingKeys: String, CodingKey { case directorMaintenance }
        }
        guard let data = try? Output.encoder(pretty: false).encode(Outer(directorMaintenance: State(m: m))) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func renderText(_ write: (String) -> Void) {
        let who = maintenance.map { m in
            "since \(m.since.iso8601) by \(m.author)\(m.reason.map { ": \($0)" } ?? "")"
        }
        switch action {
        case .on:
            write(changed ? "Director maintenance on \(who ?? "").\n" : "Director already in maintenance \(who ?? "").\n")
        case .off:
            write(changed ? "Director maintenance off.\n" : "Director was not in maintenance.\n")
        case .status:
            write(maintenance == nil ? "Director maintenance: off.\n" : "Director maintenance: on \(who ?? "").\n")
        }
        let held = trackFileHeld.map { $0 ? "1 (maintenance instances held in FAULT)" : "0" } ?? "missing (keepalived reads 0)"
        write("Track file \(trackFile): \(held).\n")
        if instances.isEmpty {
            write("No VRRP instance is moved by this switch (no maintenanceInstances); with a bgp section, lvsctl run withdraws this director's routes.\n")
        } else {
            write("Maintenance instances: \(instances.joined(separator: ", ")).\n")
        }
    }
}
