import Foundation
import LVSModel
import LVSStore
import Testing

/// Opening a store never harms what is at the path (issue #17): another application's database
/// is refused untouched, and a store that must exist is never created.
@Suite("Opening a store")
struct OpeningTests {
    /// Runs the system's sqlite3 (installed with libsqlite3-dev's tools) on `path`.
    func sqlite3(_ path: String, _ sql: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [path, sql]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    @Test func anotherApplicationsDatabaseIsRefusedUntouched() throws {
        let dir = try TempDir()
        let path = dir.file("other.db")
        try sqlite3(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'x');")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = try #require(throws: StoreError.self) { try Store(path: path) }
        #expect(error == .notLvsctlDatabase(path: path, tables: ["customers"]))
        #expect(error.description.contains("another application (tables: customers)"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func anotherGRDBApplicationIsRefusedToo() throws {
        let dir = try TempDir()
        let path = dir.file("grdb-app.db")
        try sqlite3(path, "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY); INSERT INTO grdb_migrations VALUES ('v1'); CREATE TABLE notes (t TEXT);")
        let error = try #require(throws: StoreError.self) { try Store(path: path) }
        guard case .notLvsctlDatabase = error else {
            Issue.record("expected .notLvsctlDatabase, got \(error)")
            return
        }
    }

    @Test func anEmptyFileAndLvsctlsOwnStoreOpen() throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        try Store(path: path).saveRevision(manifest: "web", content: "{}", author: "a")
        #expect(try Store(path: path).revisions(manifest: "web").count == 1)
    }

    @Test func aStoreThatMustExistIsNeverCreated() throws {
        let dir = try TempDir()
        let path = dir.file("missing.db")
        let error = try #require(throws: StoreError.self) { try Store(path: path, create: false) }
        guard case .noDatabase(let p, _) = error else {
            Issue.record("expected .noDatabase, got \(error)")
            return
        }
        #expect(p == path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func missingDirectoriesAreCreatedOnlyWhenAsked() throws {
        let dir = try TempDir()
        let path = dir.file("no/such/dir/lvsctl.db")
        let error = try #require(throws: StoreError.self) { try Store(path: path, createDirectories: false) }
        #expect(error.description.contains("the directory \(dir.file("no/such/dir")) does not exist"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("no")))
    }
}
