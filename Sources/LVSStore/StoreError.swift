import LVSModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the store, worded for the operator: where it happened and what to do.
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file exists but is not an SQLite database, or SQLite found it damaged.
    case corrupt(path: String, detail: String)
    /// A file or directory cannot be created, read or written.
    case permissionDenied(path: String, detail: String)
    /// The database was migrated by a newer lvsctl: it holds migrations this binary does not know.
    case newerSchema(path: String, unknownMigrations: [String])
    /// Another process holds the writer lock and did not release it in time.
    case lockTimeout(lockPath: String, holderPID: Int32?, waitedSeconds: Double)
    /// Another `lvsctl run` already runs on this store.
    case daemonRunning(lockPath: String, holderPID: Int32?)
    /// The service is owned by another manifest (see ``OwnershipConflict`` for the wording).
    case ownedByAnotherManifest(service: String, owner: String, requested: String)
    /// A referenced row (apply run, revision, manifest) does not exist.
    case notFound(String)
    /// A value stored in the database cannot be read back (for example an unparseable identity).
    case invalidStoredValue(table: String, column: String, value: String)
    /// The file system holding the database is full (or the file reached its size limit).
    case full(path: String, detail: String)
    /// Any other SQLite failure.
    case database(path: String, detail: String)
    /// No database at the path, and the command does not create one (read-only commands, or a
    /// `--db` whose directory does not exist).
    case noDatabase(path: String, detail: String)
    /// An SQLite database of another application: it has tables but not lvsctl's schema. It is
    /// never migrated (that would add lvsctl's tables to it and switch it to WAL).
    case notLvsctlDatabase(path: String, tables: [String])

    public var description: String {
        switch self {
        case .corrupt(let path, let detail):
            return "\(path) is not an SQLite database or is damaged: \(detail); move it aside "
                + "and restore a backup (or salvage its rows with `sqlite3 \(path) .recover`), or pass --db PATH (or set LVSCTL_DB)"
        case .permissionDenied(let path, let detail):
            // Telling root to become root helps no one: then it is the path or its file system.
            let advice = geteuid() == 0
                ? "check the path, its permissions and whether its file system is read-only"
                : "lvsctl needs root to change it"
            return "cannot use \(path): \(detail); \(advice), or pass --db PATH (or set LVSCTL_DB)"
        case .full(let path, let detail):
            return "cannot write \(path): \(detail): its file system is full; free space there (lvsctl records the "
                + "intent of every kernel write before making it, so nothing was written to the kernel without its "
                + "audit row) and run the command again"
        case .noDatabase(let path, let detail):
            return "\(path): \(detail)"
        case .notLvsctlDatabase(let path, let tables):
            let shown = tables.prefix(5).joined(separator: ", ") + (tables.count > 5 ? ", …" : "")
            return "\(path) is an SQLite database of another application (tables: \(shown)), not lvsctl's; "
                + "refusing to change it — check --db / LVSCTL_DB"
        case .newerSchema(let path, let unknown):
            return "\(path) was written by a newer lvsctl (unknown migrations: \(unknown.joined(separator: ", "))); "
                + "refusing to use it — upgrade lvsctl or pass --db PATH"
        case .lockTimeout(let lockPath, let pid, let waited):
            let holder = pid.map { "held by pid \($0)" } ?? "held by another process"
            return "another lvsctl is applying (lock \(lockPath) \(holder)); waited \(Self.seconds(waited)) s"
                + " — retry later or raise --lock-timeout"
        case .daemonRunning(let lockPath, let pid):
            let holder = pid.map { "pid \($0)" } ?? "another process"
            return "another lvsctl run (\(holder)) already runs on this store (lock \(lockPath)); "
                + "one daemon per store: stop it first, or pass --db for another store"
        case .ownedByAnotherManifest(let service, let owner, let requested):
            return OwnershipConflict(service: service, owner: owner, claimant: requested).description
        case .notFound(let what):
            return "\(what) not found in the store"
        case .invalidStoredValue(let table, let column, let value):
            return "the store holds an unreadable value in \(table).\(column): '\(value)'; the database may be damaged"
        case .database(let path, let detail):
            return "database error in \(path): \(detail)"
        }
    }

    /// `30`, `0.2`, `1.5`: whole seconds without a fraction, otherwise one decimal.
    static func seconds(_ s: Double) -> String {
        if s == s.rounded() { return String(Int(s)) }
        let tenths = (s * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }
}
