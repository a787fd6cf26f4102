import Foundation
import LVSTestSupport
import Testing

@testable import LVSCommands

/// `lvsctl --version`, and the man pages and shell completions `make install` installs: generated
/// by the same recipe (`make-docs` in the Makefile) from the built binary, checked here.
@Suite struct DocsTests {
    /// Every command path, as GoldenTests walks the tree: `[]`, `["import", "keepalived"]`, ...
    static let commands = GoldenTests.commands

    @Test func versionFlagPrintsTheVersion() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let r = try cli.run(["--version"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == LVSCommand.version + "\n", "\(r)")
        #expect(r.stderr.isEmpty, "\(r)")
        #expect(LVSCommand.version.split(separator: ".").count == 3 && LVSCommand.version.allSatisfy { $0.isNumber || $0 == "." },
                "the version is MAJOR.MINOR.PATCH: \(LVSCommand.version)")
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptNamesEveryCommand(_ shell: String) throws {
        let cli = try CLIRunner(fakeKernel: true)
        let r = try cli.run(["--generate-completion-script", shell])
        #expect(r.status == 0, "\(r)")
        for path in Self.commands where !path.isEmpty {
            #expect(r.stdout.contains(path.last!), "\(shell) completion lacks \(path.joined(separator: " "))")
        }
        // Options of the newest commands are completed too.
        for option in ["against", "detailed-exitcode"] {
            // fish spells a long option `-l 'against'`; bash and zsh `--against`.
            #expect(r.stdout.contains(shell == "fish" ? "-l '\(option)'" : "--\(option)"), "\(shell) completion lacks --\(option)")
        }
        if shell == "bash" {
            let script = try cli.write("lvsctl.bash", r.stdout)
            let check = try cli.exec(["/bin/bash", "-n", script])
            #expect(check.status == 0, "bash rejects the completion script: \(check)")
        }
    }

    /// swift-argument-parser's generate-manual, built beside lvsctl (`make test` and `make docs`
    /// build it: `swift build --product generate-manual`).
    static var generateManual: String {
        URL(fileURLWithPath: CLIRunner.binary).deletingLastPathComponent().appendingPathComponent("generate-manual").path
    }

    /// Tools/make-docs, as `make install` runs it.
    @Test func manPagesAndCompletionsCoverEveryCommand() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.generateManual) else {
            Issue.record("no \(Self.generateManual): build it with `swift build --product generate-manual` (make test does)")
            return
        }
        let cli = try CLIRunner(fakeKernel: true)
        let script = CLIRunner.packageRoot.appendingPathComponent("Tools/make-docs").path
        let r = try cli.exec([script, CLIRunner.binary, Self.generateManual, cli.directory.path])
        #expect(r.status == 0, "\(r)")
        let out = cli.directory.appendingPathComponent("man8")
        for file in ["lvsctl.bash", "_lvsctl", "lvsctl.fish"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: cli.directory.appendingPathComponent("completions/\(file)").path))?[.size] as? Int
            #expect((size ?? 0) > 1000, "completions/\(file) is written")
        }
        let pages = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        for path in Self.commands {
            let page = (["lvsctl"] + path).joined(separator: ".") + ".8"
            #expect(pages.contains(page), "no man page \(page) for `lvsctl \(path.joined(separator: " "))`: \(pages.sorted())")
        }
        for page in pages.sorted() {
            // -ww: every groff warning; -z: no output, only the diagnostics.
            let render = try cli.exec(["groff", "-man", "-Tutf8", "-ww", "-z", out.appendingPathComponent(page).path])
            #expect(render.status == 0 && render.stderr.isEmpty, "\(page): \(render)")
        }
        let diff = try String(contentsOf: out.appendingPathComponent("lvsctl.diff.8"), encoding: .utf8)
        #expect(diff.contains("Compare two stored revisions"), "the page carries the command's abstract")
        let top = try String(contentsOf: out.appendingPathComponent("lvsctl.8"), encoding: .utf8)
        #expect(top.contains("Exit codes: 0 success") && top.contains("64 a usage error"), "lvsctl(8) documents the exit codes")
    }
}

/// The exit codes: README's table, the help and the binary agree with `ExitStatus`.
@Suite struct ExitStatusTests {
    @Test func readmeTableListsExactlyTheCodes() throws {
        let readme = try String(contentsOf: CLIRunner.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "### Exit codes").dropFirst().first?.components(separatedBy: "\n### ").first)
        let codes = section.split(separator: "\n").compactMap { line -> Int32? in
            guard line.hasPrefix("| ") else { return nil }
            return Int32(line.dropFirst(2).prefix { $0.isNumber })
        }
        #expect(codes == ExitStatus.allCases.map(\.rawValue), "README's \"Exit codes\": \(codes)")
    }

    @Test func helpListsTheCodes() throws {
        let r = try CLIRunner(fakeKernel: true).run(["--help"])
        #expect(r.status == 0, "\(r)")
        for status in ExitStatus.allCases {
            #expect(r.stdout.contains("\(status.rawValue) "), "lvsctl --help lacks exit code \(status.rawValue): \(r.stdout)")
        }
    }

    /// Usage errors exit 64 (not 1, which scripts read as "the apply failed", nor 2, "pending").
    @Test(arguments: [
        ["plan", "--no-such-flag"],
        ["plan", "-f"],
        ["history", "--limit", "many"],
        ["apply"],
        ["diff"],
        ["export", "-o", "yaml"],
        ["no-such-command"],
    ])
    func usageErrorsExit64(_ arguments: [String]) throws {
        let r = try CLIRunner(fakeKernel: true).run(arguments)
        #expect(r.status == ExitStatus.usage.rawValue, "\(arguments): \(r)")
        #expect(r.stderr.contains("Usage:") || r.stderr.contains("Error:"), "\(arguments): \(r)")
        #expect(r.stdout.isEmpty, "\(arguments): \(r)")
    }
}
