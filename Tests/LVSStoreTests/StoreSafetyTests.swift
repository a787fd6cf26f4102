import Foundation
import LVSModel
import LVSStore
import Testing

/// The store under stress (issue 17), on real SQLite files: several processes opening a fresh
/// database at once, a damaged file, a read-only or full file system.
@Suite("Store safety", .serialized)
struct StoreSafetyTests {
    /// Runs the system's sqlite3 on `path` and returns its output.
    @discardableResult
    func sqlite3(_ path: String, _ sql: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [path, sql]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "sqlite3 \(sql)")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs a program (mount, umount) and requires it to succeed.
    func run(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "\(arguments.joined(separator: " ")) failed")
    }

    /// Eight connections (as eight `lvsctl apply` processes would) open the same fresh path at
    /// once and write: the schema is migrated once, under SQLite's lock, and every writer succeeds.
    @Test(arguments: 0..<5)
    func concurrentFirstOpensOfAFreshDatabaseAllSucceed(round: Int) throws {
        let dir = try TempDir()
        let path = dir.file("fresh-\(round).db")
        let errors = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                let store = try Store(path: path)
                let revision = try store.saveRevision(manifest: "m\(i)", content: #"{"n":\#(i)}"#, author: "w\(i)")
                let run = try store.beginRun(manifest: "m\(i)", revision: revision, origin: .apply, author: "w\(i)")
                try store.finishRun(run.id, status: .succeeded)
            } catch {
                errors.withLock { $0.append("writer \(i): \(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty)
        let store = try Store(path: path)
        #expect(try store.appliedMigrations() == Store.migrationIDs)
        #expect(try store.runs().count == 8)
        #expect(try store.queryForTesting("SELECT count(*) FROM grdb_migrations") == [["\(Store.migrationIDs.count)"]])
    }

    /// A store with a damaged page is refused by a command that writes (`checkIntegrity`), with
    /// SQLite's finding and what to do; nothing is written to it.
    @Test func aDamagedStoreIsRefusedBeforeAnythingIsWritten() throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        do {
            let store = try Store(path: path)
            for i in 0..<200 {
                _ = try store.saveRevision(manifest: "web", content: #"{"v":\#(i),"pad":"\#(String(repeating: "x", count: 500))"}"#, author: "t")
            }
        }
        try sqlite3(path, "PRAGMA wal_checkpoint(TRUNCATE);")
        #expect(try Store(path: path, checkIntegrity: true).revisions(manifest: "web").count == 200, "a sound store opens")
        let root = try #require(Int(try sqlite3(path, "SELECT rootpage FROM sqlite_master WHERE name = 'revision';")))
        let pageSize = try #require(Int(try sqlite3(path, "PRAGMA page_size;")))
        // Garbage over the header of the table's root page (not the file header: the file still
        // opens as SQLite, only its contents are damaged).
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 64))
        try handle.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        let error = try #require(throws: StoreError.self) { try Store(path: path, checkIntegrity: true) }
        guard case .corrupt = error else {
            Issue.record("expected .corrupt, got \(error)")
            return
        }
        #expect(error.description.contains("quick_check"), "\(error)")
        #expect(error.description.contains("restore a backup") && error.description.contains(".recover"), "\(error)")
        #expect(error.description.contains(path))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "not written")
    }

    /// On a read-only file system a store opens for reading (history, revisions, status) and is
    /// refused, with the reason, for writing. A real read-only mount (tmpfs, remounted `ro`): as
    /// root, file modes do not stop writes, a read-only mount does.
    @Test func aStoreOnAReadOnlyMountOpensForReadingOnly() throws {
        let dir = try TempDir()
        let mnt = dir.file("ro")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        try run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt])
        defer { try? run(["umount", mnt]) }
        let path = mnt + "/lvsctl.db"
        do {
            let store = try Store(path: path)
            _ = try store.saveRevision(manifest: "web", content: #"{"v":1}"#, author: "t")
        }
        try run(["mount", "-o", "remount,ro", mnt])

        let reader = try Store(path: path, create: false, createDirectories: false, readOnly: true)
        #expect(try reader.revisions(manifest: "web").count == 1)
        #expect(try reader.runs().isEmpty)

        let error = try #require(throws: StoreError.self) { try Store(path: path, create: true, createDirectories: false) }
        guard case .permissionDenied = error else {
            Issue.record("expected .permissionDenied, got \(error)")
            return
        }
        #expect(error.description.contains(mnt) && error.description.contains("Read-only file system"), "\(error)")
    }

    /// A store on a full file system (a 256 KiB tmpfs): a write fails with ``StoreError/full``,
    /// which says what to do, and the transaction leaves nothing behind.
    @Test func aFullFileSystemGivesAClearErrorAndKeepsTheStoreWhole() throws {
        let dir = try TempDir()
        let mnt = dir.file("small")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        try run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt])
        defer { try? run(["umount", mnt]) }
        let store = try Store(path: mnt + "/lvsctl.db")
        let big = String(repeating: "y", count: 200_000)
        var failure: (any Error)? = nil
        var saved = 0
        for i in 0..<20 {
            do {
                _ = try store.saveRevision(manifest: "web", content: #"{"v":\#(i),"pad":"\#(big)"}"#, author: "t")
                saved += 1
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure as? StoreError, "the file system never filled: \(String(describing: failure))")
        guard case .full = error else {
            Issue.record("expected .full, got \(error)")
            return
        }
        #expect(error.description.contains("file system is full") && error.description.contains("free space"), "\(error)")
        #expect(try store.revisions(manifest: "web").count == saved, "the failed revision left nothing")
        #expect(try store.queryForTesting("PRAGMA quick_check") == [["ok"]])
    }
}

/// A value shared between threads, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
