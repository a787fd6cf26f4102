import ArgumentParser
import Foundation
import LVSManifest
import LVSModel
import LVSStore

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
        throw ExitStatus.failure.exitCode
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
    convenience init(_ path: String, probeCapabilities: Bool, contentHash: Bool = true) {
        self.init(path, capabilities: { probeCapabilities ? KernelCapabilities.probe() : nil }, contentHash: contentHash)
    }

    /// Starts loading `path`, checked against `capabilities` (nil: not checked), e.g. those a
    /// director state file recorded.
    convenience init(_ path: String, capabilities: KernelCapabilities?, contentHash: Bool = true) {
        self.init(path, capabilities: { capabilities }, contentHash: contentHash)
    }

    private init(_ path: String, capabilities: @escaping @Sendable () -> KernelCapabilities?, contentHash: Bool) {
        self.path = path
        let loaded = Background("lvsctl-manifest") {
            Manifest.load(path: path, capabilities: capabilities(), canonicalForm: false)
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

/// Runs `body` (opening the kernel, taking the lock, reading the table) while the store opens and
/// the manifest loads on their own threads; if it throws, a bad database, then a bad manifest,
/// are reported instead, as when those two steps came first.
func preferringInputErrors<T>(
    store: Background<Store>, manifest: ManifestLoading, _ body: () throws -> T
) throws -> T {
    try store.preferringItsErrors { try manifest.preferringManifestErrors(body) }
}
