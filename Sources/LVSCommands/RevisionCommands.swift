import ArgumentParser
import Foundation
import LVSStore

extension LVSCommand {
    /// `lvsctl revisions [NAME]`: the stored revisions of one or all manifests.
    struct Revisions: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revisions", abstract: "List stored manifest revisions.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Only this manifest.")
        var manifest: String?

        func run() throws {
            try guarded {
                let store = try global.openStore(.read)
                let names = try manifest.map { [$0] } ?? store.manifests()
                var all: [Revision] = []
                for n in names { all += try store.revisions(manifest: n, withContent: false) }
                if let manifest, all.isEmpty { throw CLIError("no revisions of manifest \(manifest)") }
                try Output.emit(RevisionsDocument(revisions: all.map(RevisionObject.init)), global.output)
            }
        }
    }

    /// `lvsctl show NAME@N`: one stored revision, as the manifest JSON it stored.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print a stored revision (NAME@N; NAME alone is the latest).")

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The revision: NAME@N, or NAME for the latest.", valueName: "revision"))
        var revision: String

        func run() throws {
            try guarded {
                let store = try global.openStore(.read)
                let found: Revision?
                if let (name, number) = parseRevisionReference(revision) {
                    found = try store.revision(manifest: name, number: number)
                } else {
                    found = try store.latestRevision(manifest: revision)
                }
                guard let r = found else {
                    throw CLIError("no revision \(revision); `lvsctl revisions` lists them")
                }
                switch global.output {
                case .text:
                    print("# \(r.manifest)@\(r.number) \(r.kind.rawValue) by \(r.author) at \(r.createdAt.iso8601)"
                        + (r.message.map { ": \($0)" } ?? ""))
                    print("# sha256 \(r.contentHash)" + (r.sourcePath.map { " from \($0)" } ?? ""))
                    print(r.content)
                case .json:
                    print(r.content)
                }
            }
        }
    }
}

/// Parses `NAME@N`, `NAME#N` or `NAME:N`.
func parseRevisionReference(_ text: String) -> (manifest: String, number: Int)? {
    guard let sep = text.lastIndex(where: { $0 == "@" || $0 == "#" || $0 == ":" }),
        let n = Int(text[text.index(after: sep)...]), n > 0
    else { return nil }
    let name = String(text[..<sep])
    return name.isEmpty ? nil : (name, n)
}
