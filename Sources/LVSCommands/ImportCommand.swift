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

            @Option(help: "The manifest's name (default: the file's name without its extension).")
            var name: String?

            @Option(help: ArgumentHelp("Write the manifest here (default: standard output).", valueName: "file"))
            var out: String?

            func run() throws {
                try guarded {
                    let result = KeepalivedImporter.importFile(path: file, manifestName: try importName(name, file: file))
                    try emit(result.state, diagnostics: result.diagnostics, to: out)
                }
            }
        }

        struct IPVSAdm: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "ipvsadm", abstract: "Import `ipvsadm -Sn` / ipvsadm-save output.")

            @Argument(help: ArgumentHelp("The dump; - or nothing reads standard input.", valueName: "file"))
            var file: String = "-"

            @Option(help: "The manifest's name (default: the file's name without its extension; required with standard input).")
            var name: String?

            @Option(help: ArgumentHelp("Write the manifest here (default: standard output).", valueName: "file"))
            var out: String?

            func run() throws {
                try guarded {
                    let manifestName = try importName(name, file: file)
                    let bytes: [UInt8]
                    switch file == "-" ? InputFile.readStandardInput() : InputFile.read(file) {
                    case .success(let b): bytes = b
                    case .failure(let f):
                        printError(Diagnostic(.error, file: file, message: f.message, hint: f.hint).description)
                        throw ExitStatus.failure.exitCode
                    }
                    let result = IPVSAdmImport.parse(bytes: bytes, file: file, manifestName: manifestName)
                    try emit(result.state, diagnostics: result.diagnostics, to: out)
                }
            }
        }
    }
}

/// The name an imported manifest gets: `--name`, else the file's name (`site-a.conf` → `site-a`).
/// Every import used to be called `keepalived` (or `ipvsadm`), so applying a second import planned
/// to delete the first one's services.
private func importName(_ given: String?, file: String) throws -> String {
    if let given { return given }
    if file != "-", let derived = ManifestName.derived(fromPath: file) { return derived }
    throw ValidationError(file == "-"
        ? "give the manifest's name with --name when the input is standard input"
        : "cannot make a manifest name from '\(Escaped.excerpt(file))'; give one with --name")
}

/// Prints the diagnostics and writes the manifest (validated again by the manifest loader).
private func emit(_ state: DesiredState?, diagnostics: [Diagnostic], to output: String?) throws {
    for d in diagnostics { printError(d.description) }
    guard let state, !diagnostics.hasErrors else {
        throw CLIError("the import has errors; no manifest was written")
    }
    let document = Manifest.encode(state)
    // Checked as any manifest is (no canonical form needed: it is not stored). Its problems are
    // the importer's, so they are reported against the manifest as written, not the input.
    let check = Manifest.parse(Array(document.utf8), file: "(imported manifest)", canonicalForm: false)
    for d in check.diagnostics where d.severity == .error { printError(d.description) }
    guard check.state != nil else { throw CLIError("the imported configuration is not a valid manifest") }
    if let output {
        try Data(document.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        printError("wrote \(output) (\(state.services.count) service\(state.services.count == 1 ? "" : "s"))")
    } else {
        print(document)
    }
}
