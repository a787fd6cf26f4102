import ArgumentParser
import Foundation
import LVSManifest
import LVSModel

extension LVSCommand {
    /// `lvsctl validate FILE...`: checks manifests offline; no root, no kernel, no database.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Validate manifests offline (exit 0 when all are valid, 1 otherwise).")

        @Argument(help: ArgumentHelp("Manifest files; - reads standard input.", valueName: "file"))
        var files: [String]

        @Flag(help: "Also check that the schedulers' kernel modules are available on this machine.")
        var checkKernel = false

        @Option(name: .shortAndLong, help: "Output format: text for people, json for machines.")
        var output: OutputFormat = .text

        func run() throws {
            let capabilities = checkKernel ? KernelCapabilities.probe() : nil
            var all: [Diagnostic] = []
            var valid: [String] = []
            for file in files {
                // Nothing is stored: the canonical form (as costly as the parse) is not needed.
                let result = Manifest.load(path: file, capabilities: capabilities, canonicalForm: false)
                all += result.diagnostics
                if result.state != nil { valid.append(file) }
            }
            try Output.emit(ValidationDocument(valid: valid, diagnostics: all), output)
            if all.hasErrors { throw ExitStatus.failure.exitCode }
        }
    }
}
