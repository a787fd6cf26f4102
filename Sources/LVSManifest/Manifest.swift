import FoundationEssentials
import LVSModel

/// Manifest format v1: JSON text → validated `DesiredState`, and back.
///
/// Loading never throws and never stops at the first problem: every syntax, type, range and
/// semantic problem becomes a `Diagnostic` with the file, JSON path, line, column and a hint.
///
/// The canonical form (`ManifestResult.canonicalJSON`) is the validated state rendered with every
/// default applied and every value explicit (see `encode(_:)`), with sorted keys and fixed
/// indentation. Services and real servers keep their declared order. Descriptions are comments:
/// they are not part of the canonical form, so editing them does not change the content hash.
///
/// Decisions worth knowing: `sh-*`/`mh-*` scheduler flags need their scheduler (error); the raw
/// `flag-1`…`flag-3` are accepted with any scheduler but warn where the scheduler ignores them.
/// A `lowerThreshold` above an `upperThreshold` of 0 is an error too (the kernel answers ERANGE).
/// Service-level `forwarding`/`tunnel` are defaults for the real servers and the sorry server.
public enum Manifest {
    /// The largest invalid input whose normalised text `ManifestResult.canonicalJSON` holds.
    public static let maxNormalisedSize = 1 << 20

    /// The largest manifest file `load` reads: far above a 10,000 × 10 table (about 5 MB).
    public static let maxSize = InputFile.defaultLimit

    /// Reads and validates the manifest at `path`; `-` reads standard input. Only a regular
    /// file (or standard input) of at most `maxSize` bytes is read (see `InputFile`).
    ///
    /// - Parameter canonicalForm: false skips building the canonical form (`canonicalJSON` and
    ///   `contentHash` of a valid manifest are then those of ""): for callers that only plan,
    ///   since for a large manifest the canonical form costs about as much as the parse.
    public static func load(
        path: String, capabilities: KernelCapabilities? = nil, canonicalForm: Bool = true
    ) -> ManifestResult {
        switch path == "-" ? InputFile.readStandardInput(limit: maxSize) : InputFile.read(path, limit: maxSize) {
        case .success(let bytes):
            return parse(consuming: bytes, file: path, capabilities: capabilities, canonicalForm: canonicalForm)
        case .failure(let f):
            let d = Diagnostic(.error, file: path, message: f.message, hint: f.hint)
            return ManifestResult(state: nil, diagnostics: [d], canonicalJSON: "")
        }
    }

    /// Parses and validates manifest text. `file` is used in diagnostics only; `canonicalForm`
    /// as in `load`.
    public static func parse(
        _ bytes: [UInt8], file: String, capabilities: KernelCapabilities? = nil, canonicalForm: Bool = true
    ) -> ManifestResult {
        parse(consuming: bytes, file: file, capabilities: capabilities, canonicalForm: canonicalForm)
    }

    /// `parse`, which lets go of `bytes` before it builds the canonical form: when `load` hands
    /// over the only copy of a large file, its memory is free again by then.
    private static func parse(
        consuming bytes: consuming [UInt8], file: String, capabilities: KernelCapabilities?, canonicalForm: Bool
    ) -> ManifestResult {
        let collector = DiagnosticCollector(file: file)
        let sizeHint = bytes.count
        let (decoded, invalidCanonical) = decode(bytes, collector, capabilities: capabilities)
        _ = consume bytes
        let diagnostics = collector.sorted
        guard let state = decoded else {
            return ManifestResult(state: nil, diagnostics: diagnostics, canonicalJSON: invalidCanonical ?? "")
        }
        if !canonicalForm { return ManifestResult(state: state, diagnostics: diagnostics, canonicalJSON: "") }
        let canonical = ManifestEncoder.canonicalText(state, sizeHint: sizeHint)
        return ManifestResult(state: state, diagnostics: diagnostics, canonicalJSON: canonical)
    }

    /// The state, when the text is a valid manifest; else the normalised text of the JSON, if it
    /// parsed.
    ///
    /// The services are decoded one by one while the parser reads them, and each one's subtree is
    /// freed once decoded: a whole tree of a large manifest took more memory than the decoded
    /// state. Their diagnostics are kept apart and handed to the decoder of the rest, so that
    /// every diagnostic comes out in the same order as when the whole tree was decoded at once.
    private static func decode(
        _ bytes: [UInt8], _ collector: DiagnosticCollector, capabilities: KernelCapabilities?
    ) -> (DesiredState?, invalidCanonical: String?) {
        let serviceDiagnostics = DiagnosticCollector(file: collector.file)
        let serviceDecoder = ManifestDecoder(serviceDiagnostics, capabilities: capabilities)
        var services: [ManifestDecoder.DecodedService] = []
        let parsed = JSONParser.parse(bytes, streaming: "services") { i, item in
            if let s = serviceDecoder.decodeService(item, path: "services[\(i)]") { services.append(s) }
        }
        for p in parsed.problems { collector.add(p.severity, p.path, p.position, p.message, p.hint) }
        // After a syntax error nothing of the services is reported (nor was it before: the
        // decoder never saw a tree).
        guard let root = parsed.root else { return (nil, nil) }
        let streamed = parsed.streamed
            ? ManifestDecoder.Streamed(services: services, diagnostics: serviceDiagnostics.items) : nil
        services = []
        let state = ManifestDecoder(collector, capabilities: capabilities).decode(root, streamed: streamed)
        if state == nil || collector.sorted.hasErrors {
            // Still normalised, so tools can show what was read; not a storable revision. The
            // tree above lacks the services, so this (rare, small) case parses again. Not for an
            // input above `maxNormalisedSize`: nobody reads megabytes of an invalid document, and
            // parsing and rendering it again tripled the time to report its errors.
            guard bytes.count <= maxNormalisedSize else { return (nil, nil) }
            return (nil, JSONParser.parse(bytes).root.map { JSONValue($0).canonicalText })
        }
        return (state, nil)
    }

    /// Decodes a stored canonical form back into the state (used by rollback).
    /// - Throws: `ManifestError` with the diagnostics when the text is not a valid manifest.
    public static func decode(canonicalJSON: String) throws -> DesiredState {
        let result = parse(Array(canonicalJSON.utf8), file: "<canonical>")
        guard let state = result.state else { throw ManifestError(diagnostics: result.diagnostics.errors) }
        return state
    }

    /// A manifest document for `state`, every value explicit; `parse` reads it back to an equal
    /// state for any state that `parse` produced (used by `adopt` and import to write manifests).
    public static func encode(_ state: DesiredState) -> String {
        ManifestEncoder.canonicalText(state)
    }

    /// The text `encode` makes, in pieces of `chunkSize` bytes (at least 64; the last one
    /// shorter) handed to `chunk` in order, without ever holding the whole: for a large table
    /// the text is tens of megabytes (`apply` saves a revision this way).
    public static func encode(_ state: DesiredState, chunkSize: Int, to chunk: (UnsafeRawBufferPointer) -> Void) {
        ManifestEncoder.canonicalChunks(state, size: chunkSize, to: chunk)
    }

    /// SHA-256 (64 hex digits) of the text `encode` makes, computed as it is written, piece by
    /// piece: equal to `SHA256.hex(encode(state))`.
    public static func contentHash(_ state: DesiredState) -> String {
        var hasher = SHA256.Hasher()
        encode(state, chunkSize: 1 << 16) { hasher.update($0) }
        return hasher.finalizeHex()
    }

    /// Services of `state` that another manifest already owns.
    ///
    /// - Parameters:
    ///   - owners: the current owner (manifest name) of each owned service, from the store.
    /// - Returns: one error per service owned by a manifest other than `state.manifest`.
    public static func ownershipConflicts(
        _ state: DesiredState, owners: [VirtualService.ID: String], file: String? = nil
    ) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for (i, spec) in state.services.enumerated() {
            guard let owner = owners[spec.service.id], owner != state.manifest else { continue }
            let conflict = OwnershipConflict(service: spec.service.id, owner: owner, claimant: state.manifest)
            out.append(Diagnostic(
                .error, file: file, path: "services[\(i)]",
                message: "service \(spec.service.id) ('\(excerpt: spec.name)') \(conflict.problem)", hint: conflict.remedy))
        }
        return out
    }
}

/// The outcome of loading a manifest.
public struct ManifestResult: Sendable {
    /// The validated state; nil when there is at least one error.
    public var state: DesiredState?
    /// Every problem found (errors and warnings), in source order.
    public var diagnostics: [Diagnostic]
    /// The canonical form (see `Manifest`): of the validated state when `state` is set; of the
    /// parsed JSON (sorted keys, no defaults) when there were errors; "" when the JSON did not
    /// parse, or when it had errors and is larger than `Manifest.maxNormalisedSize`.
    public var canonicalJSON: String
    /// SHA-256 of `canonicalJSON` as 64 hex digits.
    public var contentHash: String

    public init(state: DesiredState?, diagnostics: [Diagnostic], canonicalJSON: String) {
        self.state = state
        self.diagnostics = diagnostics
        self.canonicalJSON = canonicalJSON
        self.contentHash = SHA256.hex(canonicalJSON)
    }
}

/// A manifest that could not be decoded, with every problem found.
public struct ManifestError: Error, CustomStringConvertible, Sendable {
    public var diagnostics: [Diagnostic]
    public init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
