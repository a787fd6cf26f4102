import ArgumentParser
import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSReconciler
import LVSStore

extension LVSCommand {
    /// `lvsctl adopt`: takes live services created by others into a manifest and owns them.
    struct Adopt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "adopt",
            abstract: "Take over live services created outside lvsctl (foreign) into a manifest.",
            discussion: """
                The services are added, exactly as they are live, to the manifest's applied revision \
                (or a new manifest) as a new revision, and lvsctl records that it owns them. Nothing in \
                the kernel changes. --out writes the resulting manifest so it can go into version control.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var lock: LockOptions

        @Argument(help: ArgumentHelp("Services to adopt (tcp/10.0.0.1:80, fwmark/7).", valueName: "service"))
        var services: [String] = []

        @Flag(help: "Adopt every foreign service.")
        var all = false

        @Option(help: "The manifest that will own the services.")
        var manifest: String

        @Option(help: ArgumentHelp("Write the resulting manifest here.", valueName: "file"))
        var out: String?

        @Option(name: .shortAndLong, help: "A message recorded with the revision.")
        var message: String?

        func validate() throws {
            guard all != !services.isEmpty else { throw ValidationError("name services to adopt, or give --all") }
        }

        func run() throws {
            try guarded {
                let store = try global.openStore()
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                try store.withWriterLock(timeout: lock.timeout) {
                    let live = try kernel.snapshot()
                    let owners = try store.owners()
                    var targets: [VirtualService.ID] = []
                    if all {
                        targets = live.services.map(\.service.id).filter { owners[$0] == nil }
                    } else {
                        for text in services {
                            guard let id = VirtualService.ID(text) else {
                                throw CLIError("\(text): not a service identity; use e.g. tcp/10.0.0.1:80 or fwmark/7")
                            }
                            guard live[id] != nil else { throw CLIError("\(id) is not in the live table") }
                            if let owner = owners[id] { throw CLIError("\(id) is already owned by manifest \(owner)") }
                            targets.append(id)
                        }
                    }
                    guard !targets.isEmpty else {
                        try Output.emit(AdoptDocument(manifest: manifest, adopted: []), global.output)
                        return
                    }
                    var state = try store.appliedRevision(manifest: manifest).map {
                        try Manifest.decode(canonicalJSON: $0.content)
                    } ?? DesiredState(manifest: manifest)
                    for id in targets {
                        guard let svc = live[id] else { continue }
                        state.services.append(ServiceSpec(
                            name: adoptedName(id, taken: Set(state.services.map(\.name))),
                            service: svc.service, realServers: svc.realServers.map { RealServerSpec(server: $0.server) }))
                    }
                    let document = Manifest.encode(state)
                    let checked = Manifest.parse(Array(document.utf8), file: out ?? "(adopted)")
                    for d in checked.diagnostics { printError(d.description) }
                    guard checked.state != nil else {
                        throw CLIError("the adopted services do not form a valid manifest; nothing was adopted")
                    }
                    let revision = try store.saveRevision(
                        manifest: manifest, content: checked.canonicalJSON, author: global.author,
                        message: message ?? "adopt \(targets.map { "\($0)" }.joined(separator: ", "))",
                        sourcePath: out, kind: .adopt)
                    try store.setOwner(targets, revision: revision)
                    if let out { try Data(document.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) }
                    try Output.emit(
                        AdoptDocument(manifest: manifest, adopted: targets, revision: RevisionObject(revision), out: out),
                        global.output)
                }
            }
        }
    }
}

/// `tcp-10.0.0.1-80`, made unique against names already taken.
func adoptedName(_ id: VirtualService.ID, taken: Set<String>) -> String {
    var base: String
    switch id {
    case .address(let p, let a, let port):
        base = "\(p.rawValue)-\(a)-\(port)".replacingOccurrences(of: ":", with: "-")
    case .fwmark(let m, let f):
        base = f == .ipv4 ? "fwmark-\(m)" : "fwmark-\(m)-ipv6"
    }
    var name = base
    var n = 2
    while taken.contains(name) {
        name = "\(base)-\(n)"
        n += 1
    }
    return name
}
