import Foundation
import LVSModel
import LVSStore
import Testing

@Suite("Database files")
struct FileTests {
    struct PathCase: CustomStringConvertible {
        var name: String
        var option: String?
        var environment: [String: String]
        var expected: String
        var description: String { name }
    }

    @Test("--db wins over LVSCTL_DB over the system path", arguments: [
        PathCase(name: "option", option: "/tmp/a.db", environment: ["LVSCTL_DB": "/tmp/b.db"], expected: "/tmp/a.db"),
        PathCase(name: "environment", option: nil, environment: ["LVSCTL_DB": "/tmp/b.db"], expected: "/tmp/b.db"),
        PathCase(name: "empty environment", option: nil, environment: ["LVSCTL_DB": ""], expected: "/var/lib/lvsctl/lvsctl.db"),
        PathCase(name: "default", option: nil, environment: [:], expected: "/var/lib/lvsctl/lvsctl.db"),
    ])
    func defaultPath(_ c: PathCase) {
        #expect(Store.defaultPath(option: c.option, environment: c.environment) == c.expected)
    }

    @Test("the directory is created 0700, the database and its WAL files are 0600, WAL is on")
    func modes() throws {
        let dir = try TempDir()
        let path = dir.file("var/lib/lvsctl/lvsctl.db")
        let store = try Store(path: path)
        try store.saveRevision(manifest: "web", content: "{}", author: "alice")
        #expect(try mode(dir.file("var/lib/lvsctl")) == 0o700)
        #expect(try mode(dir.file("var")) == 0o700)
        #expect(try mode(path) == 0o600)
        #expect(try store.journalMode() == "wal")
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            #expect(try mode(path + suffix) == 0o600, "\(suffix)")
        }
    }

    @Test("an existing world-readable database file is tightened to 0600")
    func tightensMode() throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]))
        _ = try Store(path: path)
        #expect(try mode(path) == 0o600)
    }

    struct CorruptCase: CustomStringConvertible {
        var name: String
        /// Damages the database at the given path (a valid database exists there when called).
        var damage: @Sendable (String) throws -> Void
        var description: String { name }
    }

    @Test("a file that is not SQLite, or a damaged database, gives a clear error", arguments: [
        CorruptCase(name: "text file") { path in
            let garbage = Data(String(repeating: "this is not a database\n", count: 200).utf8)
            try garbage.write(to: URL(fileURLWithPath: path))
        },
        CorruptCase(name: "damaged schema page") { path in
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seek(toOffset: 100)
            try handle.write(contentsOf: Data(repeating: 0xA5, count: 3000))
            try handle.close()
        },
    ])
    func corrupt(_ c: CorruptCase) throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        do {
            let store = try Store(path: path)
            try store.saveRevision(manifest: "web", content: "{}", author: "alice")
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "closing checkpointed the WAL")
        try c.damage(path)
        let error = try #require(throws: StoreError.self) {
            let store = try Store(path: path)
            _ = try store.revisions(manifest: "web")
        }
        guard case .corrupt(let p, _) = error else {
            Issue.record("expected .corrupt, got \(error)")
            return
        }
        #expect(p == path)
        #expect(error.description.hasPrefix("\(path) is not an SQLite database or is damaged: "))
        #expect(error.description.contains("; move it aside and restore a backup (or salvage its rows with `sqlite3 "))
    }

    struct UnwritableCase: CustomStringConvertible {
        var name: String
        var path: String
        var reported: String
        var description: String { name }
    }

    // /sys refuses new files and directories even to root (EACCES / EPERM), so these run as any user.
    @Test("an unwritable path says which path and what to do", arguments: [
        UnwritableCase(name: "file in a read-only directory", path: "/sys/lvsctl-test.db", reported: "/sys"),
        UnwritableCase(
            name: "directory that cannot be created", path: "/sys/lvsctl-test-dir/lvsctl.db",
            reported: "/sys/lvsctl-test-dir"),
    ])
    func unwritable(_ c: UnwritableCase) throws {
        let error = try #require(throws: StoreError.self) { try Store(path: c.path) }
        guard case .permissionDenied(let path, _) = error else {
            Issue.record("expected .permissionDenied, got \(error)")
            return
        }
        #expect(path == c.reported || path == c.path)
        #expect(error.description.contains(path))
        // "needs root" only to someone who is not root (#17: it was said to root too).
        let advice = geteuid() == 0 ? "check the path, its permissions" : "lvsctl needs root"
        #expect(error.description.contains(advice) && error.description.contains("--db"), "\(error)")
    }

    @Test("a parent that is a regular file is reported by name")
    func parentIsFile() throws {
        let dir = try TempDir()
        let blocker = dir.file("plain")
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        let error = try #require(throws: StoreError.self) { try Store(path: blocker + "/lvsctl.db") }
        #expect(error.description.contains(blocker))
    }
}
