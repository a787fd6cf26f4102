import Foundation
import LVSStore

/// How every command opens the store (one home for the rule).
///
/// - Commands that only read never create a store. `history`, `revisions`, `show` and `drift`
///   (without --fix) read stored data: a missing database at a path given with `--db` or
///   `LVSCTL_DB` is an error naming the path (a mistyped `--db` once created directories and an
///   empty database); at the default path it reads as empty (nothing applied yet). `status` and
///   `plan` work without a store anywhere (a director, or a CI job, before the first apply).
/// - Missing directories are created only for the default path (`/var/lib/lvsctl`).
/// - A non-empty SQLite file of another application is refused by `Store` itself.
/// - Commands that only read open a store they cannot write (mode 0444, a read-only mount)
///   read-only. Commands that write check the store's integrity (`PRAGMA quick_check`) when they
///   open it, before they write anything: a damaged store is refused, not written further.
enum StoreAccess {
    enum Mode {
        /// The command writes: the database is created if missing.
        case write
        /// The command reads stored data: a missing database is an error unless at the default path.
        case read
        /// The command reads what there is: a missing database reads as empty.
        case readIfPresent
    }

    static func open(_ path: String, _ mode: Mode) throws -> Store {
        let isDefault = path == Store.systemPath
        if mode != .write && !FileManager.default.fileExists(atPath: path) && (isDefault || mode == .readIfPresent) {
            return try Store.inMemory()
        }
        return try Store(
            path: path, create: mode == .write, createDirectories: isDefault, readOnly: mode != .write,
            checkIntegrity: mode == .write)
    }
}
