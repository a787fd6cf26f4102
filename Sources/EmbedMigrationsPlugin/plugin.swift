import Foundation
import PackagePlugin

/// Embeds `Migrations/*.sql` (at the package root) into the target as Swift source, so the
/// binary carries its schema and needs no resource bundle at run time.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let migrations = context.package.directoryURL.appending(path: "Migrations")
        let files = (try? FileManager.default.contentsOfDirectory(at: migrations, includingPropertiesForKeys: nil)) ?? []
        let sql = files.filter { $0.pathExtension == "sql" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(sql.count) migrations",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", Self.script, "embed", output.path] + sql.map(\.path),
                inputFiles: sql,
                outputFiles: [output])
        ]
    }

    /// Writes `let embeddedMigrations: [(id: String, sql: String)]` with each file as a raw
    /// multi-line string literal (`#"""` … `"""#`), in file-name order.
    static let script = #####"""
        out="$1"; shift
        {
          echo '// Generated from Migrations/*.sql by the EmbedMigrations plugin. Do not edit.'
          echo 'let embeddedMigrations: [(id: String, sql: String)] = ['
          for f in "$@"; do
            id=$(basename "$f" .sql)
            printf '    (id: "%s", sql: ####"""\n' "$id"
            cat "$f"
            printf '\n"""####),\n'
          done
          echo ']'
        } > "$out"
        """#####
}
