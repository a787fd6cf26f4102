import Foundation
import GRDB
import LVSModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lvsctl database: revisions, ownership, apply runs, audit, drains, health and maintenance.
///
/// The schema comes only from `Migrations/NNNN_name.sql` (embedded at build time), applied in
/// order when the store opens. The file is created mode 0600 in WAL mode with foreign keys on.
/// One `Store` may be shared between tasks; cross-process writers coordinate with
/// ``withWriterLock(timeout:_:)``.
public final class Store: Sendable {
    /// The database file, or `:memory:`.
    public let path: String
    let writer: any DatabaseWriter
    let clock: @Sendable () -> Date
    /// For the store a ``transaction(_:)`` body gets: the open transaction every read and write
    /// goes to. Valid only while that body runs (the store it is in must not escape it).
    nonisolated(unsafe) private let transactionDatabase: Database?
    /// A private copy of a store on a read-only file system, opened instead of it (deleted with
    /// the store). See ``openReadOnly(_:)``.
    private let scratch: String?

    /// The default database path when neither `--db` nor `LVSCTL_DB` is given.
    public static let systemPath = "/var/lib/lvsctl/lvsctl.db"

    /// The database path to use: `--db PATH` wins, then `LVSCTL_DB`, else `/var/lib/lvsctl/lvsctl.db`.
    public static func defaultPath(option: String?, environment: [String: String]) -> String {
        if let option, !option.isEmpty { return option }
        if let env = environment["LVSCTL_DB"], !env.isEmpty { return env }
        return systemPath
    }

    /// The identifiers of the migrations this binary ships, in order (file stems of `Migrations/*.sql`).
    public static var migrationIDs: [String] { embeddedMigrations.map(\.id) }

    /// The shipped migrations, id and SQL text, in order.
    package static var migrations: [(id: String, sql: String)] { embeddedMigrations }

    /// Opens (creating if needed) the database at `path` and migrates it to the latest schema.
    ///
    /// Creates the parent directory (mode 0700) if missing; the database file and its `-wal` and
    /// `-shm` files are mode 0600.
    /// - Parameters:
    ///   - path: the database file.
    ///   - clock: the time source for timestamps the store fills in.
    /// - Throws: ``StoreError`` — `.permissionDenied`, `.corrupt`, `.newerSchema`, `.database`.
    ///   - create: whether a missing database file is created; false (read-only commands) makes
    ///     a missing file ``StoreError/noDatabase(path:detail:)``.
    ///   - createDirectories: whether missing parent directories are created; false makes a
    ///     missing directory ``StoreError/noDatabase(path:detail:)`` (a mistyped `--db`).
    ///   - readOnly: the command only reads: a store the process cannot write (mode 0444, a
    ///     read-only mount) is opened read-only instead of refused; it is never migrated then.
    ///   - checkIntegrity: run `PRAGMA quick_check` after opening and refuse a damaged store
    ///     (``StoreError/corrupt(path:detail:)``) before anything is written to it. For commands
    ///     that write; it reads every page once, so it belongs on a thread that overlaps other work.
    public convenience init(
        path: String, clock: @escaping @Sendable () -> Date = { Date() }, create: Bool = true,
        createDirectories: Bool = true, readOnly: Bool = false, checkIntegrity: Bool = false
    ) throws {
        try self.init(
            path: path, clock: clock, migrateUpTo: nil, create: create, createDirectories: createDirectories,
            readOnly: readOnly, checkIntegrity: checkIntegrity)
    }

    /// Opens the database and applies migrations only up to `migrateUpTo` (inclusive); nil = all.
    /// For migration-upgrade tests.
    package init(
        path: String, clock: @escaping @Sendable () -> Date = { Date() }, migrateUpTo: String?, create: Bool = true,
        createDirectories: Bool = true, readOnly: Bool = false, checkIntegrity: Bool = false
    ) throws {
        self.path = path
        self.clock = clock
        if readOnly, Self.cannotWrite(path) {
            let (queue, scratch) = try Self.openReadOnly(path)
            self.writer = queue
            self.transactionDatabase = nil
            self.scratch = scratch
            return
        }
        self.scratch = nil
        try Self.prepareFiles(path, create: create, createDirectories: createDirectories)
        // The integrity check comes first, over a read-only connection: opening for writing
        // already writes (GRDB makes sure the WAL file exists with a schema change), and nothing
        // may be written to a damaged store.
        try Self.refuseForeignDatabase(path, checkIntegrity: checkIntegrity)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.journalMode = .wal
        config.busyMode = .timeout(10)
        config.label = "lvsctl"
        do {
            let queue = try Self.retryingWhileBusy {
                let queue = try DatabaseQueue(path: path, configuration: config)
                try Self.migrate(queue, upTo: migrateUpTo, path: path)
                return queue
            }
            self.writer = queue
            self.transactionDatabase = nil
        } catch {
            throw Self.translate(error, path: path)
        }
        for suffix in ["-wal", "-shm"] { _ = chmod(path + suffix, 0o600) }
    }

    /// Runs `open` again while it fails with SQLITE_BUSY, for up to `limit`.
    ///
    /// Opening a WAL store that has no WAL file yet writes to it (GRDB's set-up makes one in a
    /// deferred savepoint). When another process commits between that savepoint's first read and
    /// its write, SQLite answers SQLITE_BUSY_SNAPSHOT at once, without the busy handler: seen in
    /// the guest as "database is locked" from one of two applies started together on a new
    /// store (DaemonRestartTests.twoAppliesOnAFreshDatabaseBothSucceed). Opening again reads
    /// the newer snapshot.
    package static func retryingWhileBusy<T>(limit: Duration = .seconds(10), _ open: () throws -> T) throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while true {
            do {
                return try open()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && clock.now < deadline {
                usleep(20_000)
            }
        }
    }

    /// Whether this process cannot write the database file (mode, ownership or a read-only mount).
    static func cannotWrite(_ path: String) -> Bool {
        access(path, F_OK) == 0 && access(path, W_OK) != 0
    }

    /// A store this process cannot write, opened for reading: never migrated, never changed.
    /// On a read-only file system SQLite cannot create the WAL index (`-shm`) beside the file, so
    /// a WAL database cannot be read in place: the file (and its `-wal`, committed transactions
    /// not yet checkpointed) is copied to a private directory and the copy is read. Read-only
    /// commands then answer from the store as it was when they started.
    /// - Returns: the connection, and the private directory to delete with the store, if any.
    private static func openReadOnly(_ path: String) throws -> (DatabaseQueue, String?) {
        var scratch: String? = nil
        var readPath = path
        let directory = (path as NSString).deletingLastPathComponent
        if access(directory.isEmpty ? "." : directory, W_OK) != 0 && access(path + "-shm", F_OK) != 0 {
            var template = Array((NSTemporaryDirectory() + "/lvsctl-ro-XXXXXX").utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw fileError(errno, path: NSTemporaryDirectory(), doing: "cannot make a private copy of the read-only store in")
            }
            let dir = String(cString: made)
            scratch = dir
            readPath = dir + "/lvsctl.db"
            do {
                try FileManager.default.copyItem(atPath: path, toPath: readPath)
                if FileManager.default.fileExists(atPath: path + "-wal") {
                    try FileManager.default.copyItem(atPath: path + "-wal", toPath: readPath + "-wal")
                }
            } catch {
                try? FileManager.default.removeItem(atPath: dir)
                throw StoreError.permissionDenied(path: path, detail: "read-only, and it cannot be copied to read it (\(error))")
            }
        }
        do {
            try refuseForeignDatabase(readPath)
            var config = Configuration()
            config.readonly = true
            config.foreignKeysEnabled = true
            config.busyMode = .timeout(10)
            config.label = "lvsctl"
            let queue = try DatabaseQueue(path: readPath, configuration: config)
            let applied = try queue.read { db in try appliedIdentifiers(db) }
            let known = embeddedMigrations.map(\.id)
            let unknown = applied.subtracting(known).sorted()
            if !unknown.isEmpty { throw StoreError.newerSchema(path: path, unknownMigrations: unknown) }
            let missing = known.filter { !applied.contains($0) }
            if !missing.isEmpty {
                throw StoreError.permissionDenied(
                    path: path,
                    detail: "read-only, and written by an older lvsctl (migrations \(missing.joined(separator: ", ")) not applied); "
                        + "a command that writes must upgrade it first, on a writable copy")
            }
            return (queue, scratch)
        } catch {
            if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
            // Errors name the store, not its private copy.
            if case StoreError.corrupt(_, let detail) = error { throw StoreError.corrupt(path: path, detail: detail) }
            if case StoreError.notLvsctlDatabase(_, let tables) = error { throw StoreError.notLvsctlDatabase(path: path, tables: tables) }
            throw translate(error, path: path)
        }
    }

    deinit {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    /// `PRAGMA quick_check`: every page of the file read once and its structure checked (not the
    /// index contents against the tables, which `integrity_check` adds at several times the cost).
    static func checkIntegrity(_ db: Database, path: String) throws {
        let problems = try String.fetchAll(db, sql: "PRAGMA quick_check(5)")
        if problems != ["ok"] {
            throw StoreError.corrupt(
                path: path, detail: "SQLite's quick_check found damage (\(problems.prefix(3).joined(separator: "; ")))")
        }
    }

    private init(inMemory writer: any DatabaseWriter, clock: @escaping @Sendable () -> Date) {
        self.path = ":memory:"
        self.writer = writer
        self.clock = clock
        self.transactionDatabase = nil
        self.scratch = nil
    }

    /// The store of one open transaction: `db` is where its reads and writes go.
    private init(transactionOf store: Store, db: Database) {
        self.path = store.path
        self.writer = store.writer
        self.clock = store.clock
        self.transactionDatabase = db
        self.scratch = nil
    }

    /// A migrated store that lives in memory only, for tests of code that uses the store.
    public static func inMemory(clock: @escaping @Sendable () -> Date = { Date() }) throws -> Store {
        var config = Configuration()
        config.foreignKeysEnabled = true
        do {
            let queue = try DatabaseQueue(configuration: config)
            try migrate(queue, upTo: nil, path: ":memory:")
            return Store(inMemory: queue, clock: clock)
        } catch {
            throw translate(error, path: ":memory:")
        }
    }

    /// The identifiers of the migrations applied to this database, in the order they ran.
    public func appliedMigrations() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") }
    }

    /// The SQLite journal mode (`wal` for a file database).
    public func journalMode() throws -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Runs raw SQL in a write transaction. For tests that fill older schemas.
    package func executeForTesting(_ sql: String, arguments: [(any DatabaseValueConvertible)?] = []) throws {
        try write { db in try db.execute(sql: sql, arguments: StatementArguments(arguments)) }
    }

    /// Fetches the rows of a raw query as text. For tests that inspect the schema.
    package func queryForTesting(_ sql: String) throws -> [[String?]] {
        try read { db in
            try Row.fetchAll(db, sql: sql).map { row in
                row.databaseValues.map { value in
                    value.isNull ? nil : (String.fromDatabaseValue(value) ?? value.description)
                }
            }
        }
    }

    // MARK: - Opening

    /// Migrates to the latest schema (or up to `last`), idempotent under SQLite's own locking:
    /// the migrations still to apply are read and applied inside one IMMEDIATE transaction, so
    /// two processes opening a fresh database at once never both run a migration (the second
    /// waits on SQLite's lock, then finds nothing left to do). The migrations table is GRDB's
    /// (`grdb_migrations`), so stores migrated by earlier lvsctl versions read the same.
    /// Foreign keys are off while migrating and checked before the commit (SQLite's procedure
    /// for altering tables).
    private static func migrate(_ writer: any DatabaseWriter, upTo last: String?, path: String) throws {
        let known = embeddedMigrations.map(\.id)
        var wanted: [(id: String, sql: String)] = []
        for migration in embeddedMigrations {
            wanted.append(migration)
            if migration.id == last { break }
        }
        // Fast path, read only: nothing to do (every open after the first).
        let applied = try writer.read { db in try appliedIdentifiers(db) }
        let unknown = applied.subtracting(known).sorted()
        if !unknown.isEmpty { throw StoreError.newerSchema(path: path, unknownMigrations: unknown) }
        if wanted.allSatisfy({ applied.contains($0.id) }) { return }
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            try db.inTransaction(.immediate) {
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                // Read again under the lock: another process may have migrated meanwhile.
                let applied = try appliedIdentifiers(db)
                let unknown = applied.subtracting(known).sorted()
                if !unknown.isEmpty { throw StoreError.newerSchema(path: path, unknownMigrations: unknown) }
                for migration in wanted where !applied.contains(migration.id) {
                    try db.execute(sql: migration.sql)
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration.id])
                }
                try db.checkForeignKeys()
                return .commit
            }
        }
    }

    private static func appliedIdentifiers(_ db: Database) throws -> Set<String> {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchSet(db, sql: "SELECT identifier FROM grdb_migrations")
    }

    /// Creates the parent directory (0700) and the database file (0600) so that SQLite never
    /// creates them with the process umask, and reports unwritable paths by name.
    private static func prepareFiles(_ path: String, create: Bool, createDirectories: Bool) throws {
        if !create && access(path, F_OK) != 0 {
            throw StoreError.noDatabase(
                path: path,
                detail: "no lvsctl database here (this command reads the store and never creates one; check --db / LVSCTL_DB)")
        }
        try prepareDirectory(path, create: createDirectories)
        let fd = open(path, O_RDWR | (create ? O_CREAT : 0) | O_CLOEXEC, 0o600)
        if fd < 0 { throw fileError(errno, path: path, doing: "cannot open") }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & 0o077 != 0 { _ = fchmod(fd, 0o600) }
        close(fd)
    }

    /// Creates the database's directory (0700) if missing; checks that it is a writable directory.
    static func prepareDirectory(_ path: String, create: Bool = true) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
                if !create {
                    throw StoreError.noDatabase(
                        path: path, detail: "the directory \(directory) does not exist (lvsctl creates only its default's, /var/lib/lvsctl; check --db / LVSCTL_DB)")
                }
                if mkdirParents(directory) != 0 {
                    throw fileError(errno, path: directory, doing: "cannot create directory")
                }
            } else if !isDirectory.boolValue {
                throw StoreError.permissionDenied(path: directory, detail: "not a directory")
            }
            if access(directory, W_OK | X_OK) != 0 {
                throw fileError(errno, path: directory, doing: "directory not writable")
            }
        }
    }

    /// Refuses a non-empty SQLite file that is not lvsctl's, before anything writes to it (the
    /// migration would add lvsctl's tables to another application's database, and opening it
    /// switches it to WAL). Looked at through a read-only connection.
    /// With `checkIntegrity`, an lvsctl store is also checked (``checkIntegrity(_:path:)``) on
    /// the same connection, before any connection that writes is opened.
    static func refuseForeignDatabase(_ path: String, checkIntegrity: Bool = false) throws {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return }
        var config = Configuration()
        config.readonly = true
        // Another process may be creating the schema this very moment (two first applies): wait
        // for its lock as every other connection does, rather than fail with "database is locked".
        config.busyMode = .timeout(10)
        let tables: [String]
        let applied: [String]
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            (tables, applied) = try queue.read { db in
                let tables = try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                let applied = tables.contains("grdb_migrations")
                    ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
                if checkIntegrity && !applied.isEmpty { try Self.checkIntegrity(db, path: path) }
                return (tables, applied)
            }
        } catch {
            throw translate(error, path: path)
        }
        if tables.isEmpty { return }
        // lvsctl's: its migrations table holds at least one of lvsctl's migrations (a newer
        // lvsctl's unknown ones are reported by the migration check).
        let known = Set(embeddedMigrations.map(\.id))
        if !applied.contains(where: known.contains) {
            throw StoreError.notLvsctlDatabase(path: path, tables: tables)
        }
    }

    /// `mkdir -p` with mode 0700 for every directory it creates.
    private static func mkdirParents(_ directory: String) -> Int32 {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return 0 }
            errno = ENOTDIR
            return -1
        }
        let parent = (directory as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != directory, mkdirParents(parent) != 0 { return -1 }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return -1 }
        return 0
    }

    static func fileError(_ code: Int32, path: String, doing: String) -> StoreError {
        let text = String(cString: strerror(code))
        switch code {
        case EACCES, EPERM, EROFS:
            return .permissionDenied(path: path, detail: "\(doing): \(text)")
        default:
            return .permissionDenied(path: path, detail: "\(doing): \(text) (errno \(code))")
        }
    }

    /// Turns SQLite errors into operator-facing ``StoreError``s.
    static func translate(_ error: any Error, path: String) -> any Error {
        if error is StoreError { return error }
        guard let dbError = error as? DatabaseError else { return error }
        let detail = dbError.message ?? "\(dbError.resultCode)"
        switch dbError.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StoreError.corrupt(path: path, detail: detail)
        case .SQLITE_FULL:
            return StoreError.full(path: path, detail: detail)
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
            return StoreError.permissionDenied(path: path, detail: detail)
        default:
            return StoreError.database(path: path, detail: detail)
        }
    }

    // MARK: - Access

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        // The store of a transaction: reads see its uncommitted writes.
        if let db = transactionDatabase { return try body(db) }
        do { return try writer.read(body) } catch { throw Self.translate(error, path: path) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        // The store of a transaction: part of it (SQLite savepoints are not needed: the
        // transaction commits or rolls back as a whole).
        if let db = transactionDatabase { return try body(db) }
        do { return try writer.write(body) } catch { throw Self.translate(error, path: path) }
    }

    /// Runs `body` in one write transaction and hands it the transaction, as a store whose every
    /// read and write goes into it: what `body` writes through `transaction` commits together, or
    /// none of it if `body` throws. An apply saves its audit rows, ownership, drains and the end
    /// of its run this way (one commit, not one per step). Writes through `self` inside `body`
    /// are not part of it (they wait for it, from another thread, or fail on this one): the
    /// transaction is passed explicitly, never found by thread.
    public func transaction<T>(_ body: (_ transaction: Store) throws -> T) throws -> T {
        precondition(transactionDatabase == nil, "transactions do not nest")
        return try write { db in try body(Store(transactionOf: self, db: db)) }
    }

    var now: Date { Timestamp.normalized(clock()) }
}
