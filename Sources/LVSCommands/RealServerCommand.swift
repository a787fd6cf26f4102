import ArgumentParser
import Foundation
import LVSModel
import LVSNetlink
import LVSRealServer

extension RealServerMode: ExpressibleByArgument {}

/// The VIPs and mode that `realserver up` sets up and `realserver status` checks.
struct RealServerTarget: ParsableArguments {
    @Option(help: ArgumentHelp("The virtual IPs, separated by commas.", valueName: "vip[,vip...]"))
    var vip: String

    @Option(help: "dr (VIP on lo) or tunnel (VIP on tunl0, IPIP).")
    var mode: RealServerMode = .dr

    func setup() throws -> RealServerSetup {
        RealServerSetup(vips: try RealServerSetup.parseVIPs(vip, mode: mode), mode: mode)
    }
}

/// Options shared by `realserver up|down|status`.
struct RealServerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Configure this network namespace (a name under /run/netns or a path) instead of the current one.",
        valueName: "name"))
    var netns: String?

    @Option(name: .long, help: ArgumentHelp(
        "Where `up` records what it changed for `down` (default: /run/lvsctl/realserver.json, or realserver-NETNS.json with --netns).",
        valueName: "path"))
    var state: String?

    var namespacePath: String? {
        guard let netns else { return nil }
        return netns.hasPrefix("/") ? netns : "/run/netns/\(netns)"
    }

    var statePath: String {
        if let state { return state }
        guard let netns else { return "/run/lvsctl/realserver.json" }
        let name = netns.split(separator: "/").last.map(String.init) ?? netns
        return "/run/lvsctl/realserver-\(name).json"
    }

    /// Enters the namespace (for the rest of the process) and opens the host there.
    func openHost() throws -> RealServerNetlinkHost {
        if let path = namespacePath { try RouteNetlink.enterNetworkNamespace(path: path) }
        return try RealServerNetlinkHost()
    }

    func loadState() throws -> RealServerState? {
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        do {
            return try JSONDecoder().decode(RealServerState.self, from: data)
        } catch {
            throw CLIError("\(statePath): not a realserver state file (\(error)); remove it if nothing was set up, or pass the right --state")
        }
    }

    func saveState(_ s: RealServerState) throws {
        if s.isEmpty {
            if FileManager.default.fileExists(atPath: statePath) { try FileManager.default.removeItem(atPath: statePath) }
            return
        }
        let url = URL(fileURLWithPath: statePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(s).write(to: url, options: .atomic)
        } catch {
            throw CLIError("cannot write \(statePath): \(error.localizedDescription); `down` needs it to undo this, pass a writable --state")
        }
    }
}

extension LVSCommand {
    /// `lvsctl realserver up|down|status`: the real-server side of DR and TUN (lvs_real.sh).
    struct RealServerCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "realserver",
            abstract: "Set up a real server for DR or TUN: VIPs on lo or tunl0, ARP and rp_filter sysctls.",
            discussion: """
                Runs on the real servers, not the director, and needs no database. `up` is idempotent \
                and records what it changed; `down` restores exactly that; `status` exits 2 when a \
                piece is missing.
                """,
            subcommands: [Up.self, Down.self, Status.self])

        struct Up: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "up",
                abstract: "Add the VIPs (DR: lo, TUN: tunl0 brought up) and set the ARP (and TUN rp_filter) sysctls.")

            @OptionGroup var options: RealServerOptions

            @OptionGroup var target: RealServerTarget

            func run() throws {
                try guarded {
                    let setup = try target.setup()
                    let mode = target.mode
                    let host = try options.openHost()
                    var state = try options.loadState() ?? RealServerState()
                    let before = state
                    var changes: [String] = []
                    do {
                        changes = try RealServerConfigurator.up(setup, host: host, state: &state)
                    } catch {
                        if state != before { try options.saveState(state) }
                        throw error
                    }
                    if state != before { try options.saveState(state) }
                    if changes.isEmpty {
                        print("No changes: \(setup.vips.map { "\($0)" }.joined(separator: ", ")) already set up for \(mode.rawValue) on \(setup.device).")
                    } else {
                        for c in changes { print(c) }
                        print("Recorded in \(options.statePath) for `lvsctl realserver down`.")
                    }
                }
            }
        }

        struct Down: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "down",
                abstract: "Undo what `up` changed: remove the VIPs it added; with the last one, restore sysctls and links.")

            @OptionGroup var options: RealServerOptions

            @Option(help: ArgumentHelp("Only these VIPs (default: every VIP `up` added).", valueName: "vip[,vip...]"))
            var vip: String?

            @Option(help: "Only the VIPs `up` added for this mode (default: any).")
            var mode: RealServerMode?

            func run() throws {
                try guarded {
                    let vips = try vip.map { try RealServerSetup.parseVIPs($0, mode: .dr) }
                    let host = try options.openHost()
                    guard var state = try options.loadState() else {
                        print("Nothing to undo: \(options.statePath) does not exist (no `lvsctl realserver up` recorded with this --state/--netns).")
                        return
                    }
                    let result: (changes: [String], notes: [String])
                    do {
                        result = try RealServerConfigurator.down(vips: vips, device: mode?.device, host: host, state: &state)
                    } catch {
                        try options.saveState(state)
                        throw error
                    }
                    try options.saveState(state)
                    for n in result.notes { printError("lvsctl: note: \(n)") }
                    if result.changes.isEmpty { print("No changes.") }
                    for c in result.changes { print(c) }
                }
            }
        }

        struct Status: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "status",
                abstract: "Check each piece of the setup; exit 2 when something is missing.")

            @OptionGroup var options: RealServerOptions

            @OptionGroup var target: RealServerTarget

            @Option(name: .shortAndLong, help: "Output format: text for people, json for machines.")
            var output: OutputFormat = .text

            func run() throws {
                var missing = 0
                try guarded {
                    let setup = try target.setup()
                    let checks = try RealServerConfigurator.status(setup, host: try options.openHost())
                    missing = checks.filter { !$0.ok }.count
                    try Output.emit(
                        RealServerStatusDocument(mode: target.mode.rawValue, vips: target.vip, checks: checks), output)
                }
                if missing > 0 { throw ExitStatus.pending.exitCode }
            }
        }
    }
}
