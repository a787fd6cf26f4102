import ArgumentParser
import Foundation
import LVSInterop
import LVSKernel
import LVSManifest
import LVSModel
import LVSStore

extension LVSCommand {
    /// `lvsctl export`: the live table (or an applied manifest) in another format.
    struct Export: ParsableCommand {
        enum Format: String, ExpressibleByArgument, CaseIterable {
            case ipvsadm
            case manifest
            case keepalived
            case state
        }

        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print the live table as `ipvsadm -Sn` text (byte-identical), a manifest, keepalived.conf blocks, or the director's state for `plan --against`.")

        @OptionGroup var global: TargetOptions

        @Option(name: .shortAndLong, help: "ipvsadm (the default): exactly what `ipvsadm -Sn` prints; manifest: a v1 manifest of the live table; keepalived: virtual_server blocks; state: the live table with ownership, drains, health and maintenance, for `lvsctl plan --against` (JSON, kind directorState).")
        var output: Format?

        /// The spelling before `-o/--output` was the output format of every command.
        @Option(name: .customLong("format"), help: ArgumentHelp(visibility: .hidden))
        var formatAlias: Format?

        var format: Format { output ?? formatAlias ?? .ipvsadm }

        @Option(name: .shortAndLong, help: ArgumentHelp(
            "With -o keepalived: export this manifest (with its health checks) instead of the live table.",
            valueName: "manifest.json"))
        var file: String?

        @Option(help: "With -o manifest: the manifest's name (default: live).")
        var name: String = "live"

        @Option(help: ArgumentHelp("With -o state: write the state to this file instead of standard output.", valueName: "state.json"))
        var out: String?

        func run() throws {
            try guarded {
                if format == .keepalived, let file {
                    let loaded = try loadManifest(file, capabilities: nil, canonicalForm: false)
                    if let state = loaded.state { printKeepalived(state, source: file) }
                    return
                }
                guard file == nil else { throw ValidationError("-f/--file is only for -o keepalived") }
                guard out == nil || format == .state else { throw ValidationError("--out is only for -o state") }
                if format == .state {
                    let store = try global.openStore(.read)
                    let kernel = try global.openKernel()
                    defer { try? KernelAccess.close(kernel) }
                    let document = try DirectorStateDocument.capture(
                        store: store, kernel: kernel, probe: (ProcessInfo.processInfo.environment[KernelAccess.fakeVariable] ?? "").isEmpty, now: Date())
                    try document.write(to: out)
                    return
                }
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                let live = try kernel.snapshot()
                switch format {
                case .state:
                    break  // written above: it needs the store as well as the table
                case .ipvsadm:
                    print(IPVSAdmSave.format(live), terminator: "")
                case .manifest, .keepalived:
                    var taken: Set<String> = []
                    let specs = live.services.map { s -> ServiceSpec in
                        let n = adoptedName(s.service.id, taken: taken)
                        taken.insert(n)
                        return ServiceSpec(name: n, service: s.service, realServers: s.realServers.map { RealServerSpec(server: $0.server) })
                    }
                    let state = DesiredState(manifest: name, services: specs)
                    if format == .keepalived {
                        printKeepalived(state, source: "the live table")
                    } else {
                        print(Manifest.encode(state))
                    }
                }
            }
        }
    }
}

/// Prints keepalived.conf blocks; what keepalived cannot express goes to standard error.
private func printKeepalived(_ state: DesiredState, source: String) {
    let result = KeepalivedExport.format(state, source: source)
    for d in result.diagnostics { printError(d.description) }
    print(result.text, terminator: "")
}
