import ArgumentParser
import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSPlan
import LVSStore

/// The safety and drain policy options of commands that change the kernel.
struct PolicyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Refuse to remove or drain more than this percentage of a service's real servers in one apply.",
        valueName: "percent"))
    var maxRemoval: Double = 50

    @Flag(help: "Allow removing or draining more real servers than --max-removal.")
    var allowRemoval = false

    @Flag(help: "Allow deleting virtual services.")
    var allowDelete = false

    @Option(help: ArgumentHelp("Drain timeout for removed real servers, when the manifest sets none.", valueName: "seconds"))
    var drainTimeout: UInt32 = 30

    var policy: PlanPolicy {
        var p = PlanPolicy()
        p.maxRemovalFraction = maxRemoval / 100
        p.allowRemoval = allowRemoval
        p.allowDelete = allowDelete
        p.defaultDrainTimeout = drainTimeout
        return p
    }

    func validate() throws {
        try OptionRange.check(maxRemoval, "--max-removal", OptionRange.maxRemoval, unit: "a percentage")
        try OptionRange.check(drainTimeout, "--drain-timeout", OptionRange.drainTimeout, unit: "seconds")
    }
}

/// How long to wait for another lvsctl holding the writer lock.
struct LockOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for another lvsctl that is applying.", valueName: "seconds"))
    var lockTimeout: Double = 30

    var timeout: Duration { .milliseconds(Int64(lockTimeout * 1000)) }

    func validate() throws {
        try OptionRange.check(lockTimeout, "--lock-timeout", OptionRange.lockTimeout)
    }
}

/// An error the CLI reports as one line and exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body, turning errors into a readable `lvsctl: error: …` line and exit status 1.
func guarded(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        printError("lvsctl: error: \(error)")
        throw ExitCode(1)
    }
}

extension GlobalOptions {
    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The database file `--db` / `LVSCTL_DB` name.
    var databasePath: String { target.databasePath }

    /// The store, opened as `StoreAccess` says for a command that `mode`s it.
    func openStore(_ mode: StoreAccess.Mode = .write) throws -> Store {
        try StoreAccess.open(databasePath, mode)
    }

    /// Opens the store on a thread of its own (GRDB's first touches and the migration check cost
    /// a few hundred milliseconds on a slow CPU) while the command reads the kernel.
    func openingStore(_ mode: StoreAccess.Mode = .write) -> Background<Store> {
        let path = databasePath
        return Background("lvsctl-store") { try StoreAccess.open(path, mode) }
    }

    func openKernel() throws -> any IPVSKernel {
        try KernelAccess.open(namespacePath: namespacePath)
    }

    /// Whether the kernel is the real one (not the file-backed fake used by host tests).
    var usesRealKernel: Bool { (environment[KernelAccess.fakeVariable] ?? "").isEmpty }

    var author: String { Author.current(environment: environment) }
}

/// Loads and validates a manifest; prints every diagnostic; exits 1 when there are errors.
/// `canonicalForm: false` skips the canonical text (and hash) a command that stores nothing does
/// not need: for a large manifest it costs about as much as the parse.
func loadManifest(_ path: String, capabilities: KernelCapabilities?, canonicalForm: Bool = true) throws -> ManifestResult {
    try checked(Manifest.load(path: path, capabilities: capabilities, canonicalForm: canonicalForm), path: path)
}

/// Prints every diagnostic of a loaded manifest; exits 1 when there are errors.
func checked(_ result: ManifestResult, path: String) throws -> ManifestResult {
    for d in result.diagnostics { printError(d.description) }
    guard result.state != nil, !result.diagnostics.hasErrors else {
        let n = result.diagnostics.errors.count
        printError("lvsctl: \(path): \(n) error\(n == 1 ? "" : "s"); nothing was applied")
        throw ExitCode(1)
    }
    return result
}

/// A manifest being read, parsed and validated on a thread of its own while the command opens
/// the store and reads the kernel: the two are independent, and on a director with two CPUs
/// the manifest of a large table costs about as much as the table's dump.
///
/// Then (apply) another thread hashes the canonical form for the revision while the command
/// plans: only saving the revision needs it. Loading prints nothing; ``result()`` waits for it,
/// prints the diagnostics and exits 1 on errors, on the calling thread, as
/// ``loadManifest(_:capabilities:canonicalForm:)`` does.
final class ManifestLoading: @unchecked Sendable {
    let path: String
    private let loaded: Background<ManifestResult>
    /// SHA-256 of the canonical form, when asked for (nil for an invalid manifest).
    private let hashing: Background<String?>?
    /// The checked result; touched only by the thread that waits.
    private var outcome: Result<ManifestResult, any Error>?

    /// Starts loading `path`; `probeCapabilities` checks the schedulers against the modules of
    /// the running kernel (only for the real kernel); `contentHash` also hashes the canonical
    /// form of a valid manifest (``contentHash()``), written piece by piece and never whole.
    init(_ path: String, probeCapabilities: Bool, contentHash: Bool = true) {
        self.path = path
        let loaded = Background("lvsctl-manifest") {
            Manifest.load(
                path: path, capabilities: probeCapabilities ? KernelCapabilities.probe() : nil, canonicalForm: false)
        }
        self.loaded = loaded
        self.hashing = contentHash
            ? Background("lvsctl-canonical") {
                let result = try loaded.value()
                guard let state = result.state, !result.diagnostics.hasErrors else { return nil }
                return Manifest.contentHash(state)
            }
            : nil
    }

    /// The loaded manifest, once valid. The first call waits for the load and prints its
    /// diagnostics (see ``checked(_:path:)``); later calls return or throw the same without
    /// printing them again.
    func result() throws -> ManifestResult {
        if outcome == nil {
            outcome = Result { try checked(loaded.value(), path: path) }
        }
        return try outcome!.get()
    }

    /// Runs `body`; if it throws, an invalid manifest's diagnostics and exit win over its error
    /// (as when the manifest was loaded first).
    func preferringManifestErrors<T>(_ body: () throws -> T) throws -> T {
        try preferringErrors(of: { _ = try result() }, body)
    }

    /// SHA-256 (hex) of the canonical form of the valid manifest ``result()`` returned. Only for
    /// a loading started with `contentHash: true`.
    func contentHash() -> String {
        guard let hash = try? hashing?.value() ?? nil else {
            preconditionFailure("no content hash: invalid manifest or not asked for")
        }
        return hash
    }
}

/// Bytes made on a thread of its own, handed over in order, a few pieces at a time: the thread
/// renders the next pieces while the caller stores the ones before (saving a large revision: in
/// the lab guest, rendering 24 MB of canonical form took 0.6 s and SQLite's inserts of it 1.3 s).
final class PieceStream: @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var pieces: [[UInt8]] = []
    private var finished = false
    /// Pieces made and not yet taken, at most: the memory in flight is this many pieces.
    private static let window = 4

    /// Starts `produce` on a thread named `name`; it hands each piece to the function it is given.
    init(_ name: String, _ produce: @escaping @Sendable (_ piece: (UnsafeRawBufferPointer) -> Void) -> Void) {
        let thread = Thread { [self] in
            produce { piece in
                condition.lock()
                while pieces.count >= Self.window { condition.wait() }
                pieces.append(Array(piece))
                condition.broadcast()
                condition.unlock()
            }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    /// Hands every piece to `body`, in order, as they come; returns when the thread is done.
    func forEach(_ body: (UnsafeRawBufferPointer) -> Void) {
        while true {
            condition.lock()
            while pieces.isEmpty && !finished { condition.wait() }
            guard !pieces.isEmpty else {
                condition.unlock()
                return
            }
            let piece = pieces.removeFirst()
            condition.broadcast()
            condition.unlock()
            piece.withUnsafeBytes(body)
        }
    }
}

/// A value made on a thread of its own; ``value()`` waits for it and returns it or throws its
/// error.
final class Background<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// Written by the thread before it signals `done`.
    private var result: Result<T, any Error>?

    init(_ name: String, _ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Waits for the value; any number of threads may ask.
    func value() throws -> T {
        done.wait()
        done.signal()  // the next caller does not wait
        return try result!.get()
    }

    /// Waits for the value and hands it over: nothing here keeps a reference to it. For a value
    /// with one reader only, who asks once.
    func take() throws -> T {
        done.wait()
        defer { result = nil }
        return try result!.get()
    }

    /// Runs `body`; if it throws, this value's own error wins (as when it was made first).
    func preferringItsErrors<R>(_ body: () throws -> R) throws -> R {
        try preferringErrors(of: { _ = try value() }, body)
    }
}

/// Runs `body` (opening the kernel, taking the lock, reading the table) while the store opens and
/// the manifest loads on their own threads; if it throws, a bad database, then a bad manifest,
/// are reported instead, as when those two steps came first.
func preferringInputErrors<T>(
    store: Background<Store>, manifest: ManifestLoading, _ body: () throws -> T
) throws -> T {
    try store.preferringItsErrors { try manifest.preferringManifestErrors(body) }
}

/// Runs `body`; if it throws, the error of `earlier` (a step that used to run first and now runs
/// alongside) is reported instead, so that errors keep the order a user knows.
func preferringErrors<T>(of earlier: () throws -> Void, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        try earlier()
        throw error
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

/// How every command opens the store (one home for the rule).
///
/// - Commands that only read never create a store. `history`, `revisions`, `show` and `drift`
///   (without --fix) read stored data: a missing database at a path given with `--db` or
///   `LVSCTL_DB` is an error naming the path (a mistyped `--db` once created directories and an
///   empty database); at the default path it reads as empty (nothing applied yet). `status` and
///   `plan` work without a store anywhere (a director, or a CI job, before the first apply).
/// - Missing directories are created only for the default path (`/var/lib/lvsctl`).
/// - A non-empty SQLite file of another application is refused by `Store` itself.
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
        return try Store(path: path, create: mode == .write, createDirectories: isDefault)
    }
}
