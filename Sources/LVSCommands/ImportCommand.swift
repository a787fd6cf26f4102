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
                abstract: "Import keepalived.conf: virtual_server blocks, and with --node its VRRP half.",
                discussion: """
                    Without --node, VRRP blocks are reported, not imported. With --node NAME, the file is \
                    that director's: vrrp_instance, vrrp_sync_group, maintenance flag files (track_script \
                    testing a file, track_file) and global_defs become the manifest's vrrp section, and \
                    notify programs and e-mail a daemon.json snippet (--hooks-out, else standard error). \
                    A pair: one file per director, in the order of the --node options \
                    (`import keepalived d1.conf d2.conf --node d1 --node d2`), or one file for both when \
                    they run the same config (`import keepalived keepalived.conf --node d1 --node d2`). \
                    The files may differ only in priority, state and unicast addresses. Where the files \
                    leave the master to start order (equal priorities), --master GROUP=NODE names it.
                    """)

            @Argument(help: ArgumentHelp("keepalived.conf, one per director (include directives are followed).", valueName: "file"))
            var files: [String]

            @Option(help: ArgumentHelp("The director the file belongs to (repeat: one per file, or several for one shared file).", valueName: "name"))
            var node: [String] = []

            @Option(help: ArgumentHelp("The intended master of a sync group or ungrouped instance, when the files leave it to start order.", valueName: "group=node"))
            var master: [String] = []

            @Option(help: "The manifest's name (default: the file's name without its extension).")
            var name: String?

            @Option(help: ArgumentHelp("Write the manifest here (default: standard output).", valueName: "file"))
            var out: String?

            @Option(help: ArgumentHelp("Write the daemon.json notify snippet here (default: standard error).", valueName: "file"))
            var hooksOut: String?

            func validate() throws {
                if node.isEmpty {
                    guard files.count == 1 else {
                        throw ValidationError("give --node for each file: the files of a pair are one per director (--node d1 --node d2)")
                    }
                    guard master.isEmpty else { throw ValidationError("--master needs --node (it names a node of the pair)") }
                } else if files.count != 1 && files.count != node.count {
                    throw ValidationError("\(files.count) files and \(node.count) --node options: give one --node per file, in the same order")
                }
                if Set(node).count != node.count { throw ValidationError("a --node is given twice") }
                for m in master where m.split(separator: "=").count != 2 {
                    throw ValidationError("--master '\(Escaped.excerpt(m))' must be GROUP=NODE")
                }
            }

            func run() throws {
                try guarded {
                    let manifestName = try importName(name, file: files[0])
                    let result: KeepalivedImport
                    if node.isEmpty {
                        result = KeepalivedImporter.importFile(path: files[0], manifestName: manifestName)
                    } else if node.count == 1 {
                        result = KeepalivedImporter.importFile(path: files[0], manifestName: manifestName, node: node[0])
                    } else {
                        let pairs = node.enumerated().map { k, n in
                            KeepalivedImporter.DirectorFile(path: files.count == 1 ? files[0] : files[k], node: n)
                        }
                        var masters: [String: String] = [:]
                        for m in master {
                            let parts = m.split(separator: "=").map(String.init)
                            masters[parts[0]] = parts[1]
                        }
                        result = KeepalivedImporter.importPair(pairs, manifestName: manifestName, masters: masters)
                    }
                    try emit(result.state, diagnostics: result.diagnostics, to: out)
                    if let snippet = result.vrrp?.daemonNotifySnippet {
                        if let hooksOut {
                            try Data(snippet.utf8).write(to: URL(fileURLWithPath: hooksOut), options: .atomic)
                            printError("wrote \(hooksOut) (merge it into each director's daemon.json: hooks live in the daemon's config, not in the manifest)")
                        } else {
                            printError("daemon.json notify snippet (hooks live in the daemon's config; merge it into each director's daemon.json):")
                            printError(String(snippet.dropLast()))
                        }
                    }
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
