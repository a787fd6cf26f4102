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
        }

        static let configuration = CommandConfiguration(
            abstract: "Print the live table as `ipvsadm -Sn` text (byte-identical) or as a manifest.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "ipvsadm: exactly what `ipvsadm -Sn` prints; manifest: a v1 manifest of the live table.")
        var format: Format = .ipvsadm

        @Option(help: "With --format manifest: the manifest's name (default: live).")
        var name: String = "live"

        func run() throws {
            try guarded {
                let kernel = try global.openKernel()
                defer { try? KernelAccess.close(kernel) }
                let live = try kernel.snapshot()
                switch format {
                case .ipvsadm:
                    print(IPVSAdmSave.format(live), terminator: "")
                case .manifest:
                    var taken: Set<String> = []
                    let specs = live.services.map { s -> ServiceSpec in
                        let n = adoptedName(s.service.id, taken: taken)
                        taken.insert(n)
                        return ServiceSpec(name: n, service: s.service, realServers: s.realServers.map { RealServerSpec(server: $0.server) })
                    }
                    print(Manifest.encode(DesiredState(manifest: name, services: specs)))
                }
            }
        }
    }
}
