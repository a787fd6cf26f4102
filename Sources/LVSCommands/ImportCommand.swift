import ArgumentParser
import Foundation
import LVSInterop
import LVSManifest
import LVSModel

extension LVSCommand {
    /// `lvsctl import keepalived|ipvsadm`: migration from the incumbents to a v1 manifest.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Convert a keepalived.conf or ipvsadm -Sn dump into a manifest.",
            subcommands: [Keepalived.self, IPVSAdm.self])

        struct Keepalived: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "keepalived",
                abstract: "Import virtual_server blocks from keepalived.conf (VRRP and notify are reported, not imported).")

            @Argument(help: ArgumentHelp("keepalived.conf (include directives are followed).", valueName: "file"))
            var file: String

            @Option(help: "The manifest's name.")
            var name: String = "keepalived"

            @Option(help: ArgumentHelp("Write the manifest here (default: standard output).", valueName: "file"))
            var out: String?

            func run() throws {
                try guarded {
                    let result = KeepalivedImporter.importFile(path: file, manifestName: name)
                    try emit(result.state, diagnostics: result.diagnostics, to: out)
                }
            }
        }

        struct IPVSAdm: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "ipvsadm", abstract: "Import `ipvsadm -Sn` / ipvsadm-save output.")

            @Argument(help: ArgumentHelp("The dump; - or nothing reads standard input.", valueName: "file"))
            var file: String = "-"

            @Option(help: "The manifest's name.")
            var name: String = "ipvsadm"

            @Option(help: ArgumentHelp("Write the manifest here (default: standard output).", valueName: "file"))
            var out: String?

            func run() throws {
                try guarded {
                    let data: Data
                    if file == "-" {
                        data = FileHandle.standardInput.readDataToEndOfFile()
                    } else {
                        guard let d = FileManager.default.contents(atPath: file) else {
                            throw CLIError("\(file): cannot read the file")
                        }
                        data = d
                    }
                    let result = IPVSAdmImport.parse(String(decoding: data, as: UTF8.self), file: file, manifestName: name)
                    try emit(result.state, diagnostics: result.diagnostics, to: out)
                }
            }
        }
    }
}

/// Prints the diagnostics and writes the manifest (validated again by the manifest loader).
private func emit(_ state: DesiredState?, diagnostics: [Diagnostic], to output: String?) throws {
    for d in diagnostics { printError(d.description) }
    guard let state, !diagnostics.hasErrors else {
        throw CLIError("the import has errors; no manifest was written")
    }
    let document = Manifest.encode(state)
    let check = Manifest.parse(Array(document.utf8), file: output ?? "(import)")
    for d in check.diagnostics where d.severity == .error { printError(d.description) }
    guard check.state != nil else { throw CLIError("the imported configuration is not a valid manifest") }
    if let output {
        try Data(document.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        printError("wrote \(output) (\(state.services.count) service\(state.services.count == 1 ? "" : "s"))")
    } else {
        print(document)
    }
}
