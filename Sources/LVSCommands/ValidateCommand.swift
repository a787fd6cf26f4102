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
                let result = Manifest.load(path: file, capabilities: capabilities)
                all += result.diagnostics
                if result.state != nil { valid.append(file) }
            }
            switch output {
            case .text:
                for d in all { printError(d.description) }
                for f in valid { print("\(f): valid") }
            case .json:
                try printJSON(ValidationReport(valid: valid, diagnostics: all))
            }
            if all.hasErrors { throw ExitCode(1) }
        }
    }
}

private struct ValidationReport: Encodable {
    var valid: [String]
    var diagnostics: [Diagnostic]
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Prints a value as pretty, key-sorted JSON.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
