import LVSModel

/// Imports a keepalived.conf into a `DesiredState`, the way keepalived 2.x's checker process
/// would configure IPVS from it (defaults and silent fix-ups included, each fix-up reported).
///
/// Facts taken from keepalived's source (`check_parser.c`, `check_data.c`, `check_api.c`,
/// `check_http.c`, `check_misc.c`, `ipvswrapper.c`, `lib/parser.c`, checked against 2.2.7, the
/// Debian 12 version, and the current master):
/// - no `protocol` → UDP (with a warning); no `lb_algo` → `wlc`; no `lb_kind` → NAT;
/// - real server weight defaults to the virtual server's `weight` (default 1);
/// - `persistence_timeout` without a value, or `persistence_granularity` alone → 360 s; a
///   non-persistent address service with port 0 is made persistent (360 s);
/// - DR/TUN real servers of an address service always use the service port (the kernel request
///   carries it); for fwmark services their port is cleared;
/// - a real server listed twice in one virtual server: the second is removed;
/// - two `virtual_server` blocks for the same service: keepalived adds the service twice, the
///   second add fails with EEXIST, which it ignores: the kernel keeps the first block's service
///   settings and gets the real servers of both blocks (a real server already present stays as
///   the first block set it);
/// - a virtual server without real servers is ignored;
/// - checkers: `connect_timeout` 5 s, `delay_loop` 60 s, `retry` 1 (MISC_CHECK 0),
///   `delay_before_retry` 1 s (HTTP_GET/SSL_GET 3 s), all inherited checker ← real server ←
///   virtual server; HTTP status codes default to 200-299; SSL_GET never verifies certificates.
public enum KeepalivedImporter {
    /// Imports the file at `path` (includes are resolved relative to each including file).
    /// With `node`, the VRRP blocks become the manifest's `vrrp` section for that director;
    /// without, they are listed as not imported.
    public static func importFile(path: String, manifestName: String, node: String? = nil) -> KeepalivedImport {
        var lexer = KeepalivedLexer()
        lexer.lex(path: path)
        return finish(lexer: lexer, manifestName: manifestName, node: node)
    }

    /// The file with its VRRP blocks read but not yet given to a node (for `importPair`).
    static func readForPair(path: String, manifestName: String) -> KeepalivedImport {
        var lexer = KeepalivedLexer()
        lexer.lex(path: path)
        return finish(lexer: lexer, manifestName: manifestName, node: nil, readVRRP: true)
    }

    /// Imports configuration text; `file` names it in diagnostics and is the base for includes.
    public static func importText(
        _ text: String, file: String = "keepalived.conf", manifestName: String, node: String? = nil
    ) -> KeepalivedImport {
        var lexer = KeepalivedLexer()
        lexer.lex(text: text, file: file)
        return finish(lexer: lexer, manifestName: manifestName, node: node)
    }

    private static func finish(lexer: KeepalivedLexer, manifestName: String, node: String?, readVRRP: Bool = false) -> KeepalivedImport {
        let (nodes, treeDiagnostics) = KeepalivedNode.build(lexer.statements)
        var mapper = KeepalivedMapper(manifestName: manifestName, importVRRP: node != nil || readVRRP)
        mapper.diagnostics = lexer.diagnostics + treeDiagnostics
        mapper.run(nodes)
        var diagnostics = mapper.diagnostics
        var state = diagnostics.hasErrors ? nil : mapper.state
        if let node, !diagnostics.hasErrors {
            let file = lexer.filesRead.first ?? "keepalived.conf"
            let (vrrp, more) = KeepalivedVRRP.config([.init(node: node, file: file, vrrp: mapper.vrrp)])
            diagnostics += more
            state?.vrrp = vrrp
            if more.hasErrors { state = nil }
        }
        return KeepalivedImport(
            state: state, diagnostics: diagnostics, ignoredBlocks: mapper.ignored, files: lexer.filesRead,
            vrrp: node == nil && !readVRRP ? nil : mapper.vrrp)
    }

    /// One director's file of a pair.
    public struct DirectorFile: Hashable, Sendable {
        public var path: String
        public var node: String
        public init(path: String, node: String) {
            self.path = path
            self.node = node
        }
    }

    /// Imports a director pair's files (one per node; the same file twice when both directors
    /// run the same config, as the seed's dual-active practice does) into one manifest: the
    /// services must be identical, the VRRP sections may differ only in per-node values
    /// (`KeepalivedVRRP.config`). `masters` names intended masters (`--master G1=d1`).
    public static func importPair(
        _ files: [DirectorFile], manifestName: String, masters: [String: String] = [:]
    ) -> KeepalivedImport {
        var imports: [KeepalivedImport] = []
        var diagnostics: [Diagnostic] = []
        var readOnce: [String: KeepalivedImport] = [:]
        for f in files {
            // The same file for two nodes is read (and its warnings said) once.
            if let seen = readOnce[f.path] {
                imports.append(seen)
                continue
            }
            let r = readForPair(path: f.path, manifestName: manifestName)
            readOnce[f.path] = r
            diagnostics += r.diagnostics
            imports.append(r)
        }
        guard let first = imports.first, !diagnostics.hasErrors, imports.allSatisfy({ $0.state != nil }) else {
            return KeepalivedImport(state: nil, diagnostics: diagnostics, ignoredBlocks: imports.first?.ignoredBlocks ?? [], files: imports.flatMap(\.files))
        }
        var state = first.state!
        for (f, r) in zip(files, imports).dropFirst() where r.state!.services != state.services || r.state!.settings != state.settings {
            let mine = Dictionary(state.services.map { ($0.service.id, $0) }, uniquingKeysWith: { a, _ in a })
            let theirs = Dictionary(r.state!.services.map { ($0.service.id, $0) }, uniquingKeysWith: { a, _ in a })
            var what: [String] = []
            for id in Set(mine.keys).union(theirs.keys).sorted() where mine[id] != theirs[id] {
                what.append(mine[id] == nil ? "\(id) only in \(f.path)" : theirs[id] == nil ? "\(id) missing from \(f.path)" : "\(id) differs")
                if what.count == 5 { break }
            }
            diagnostics.append(Diagnostic(
                .error, file: f.path, path: "virtual_server",
                message: "the virtual servers of \(f.path) (node \(f.node)) differ from those of \(files[0].path) (node \(files[0].node)): \(what.isEmpty ? "global settings differ" : what.joined(separator: "; "))",
                hint: "both directors must serve the same services (with connection sync, a backup without the service breaks connections); make them equal"))
        }
        let (vrrp, more) = KeepalivedVRRP.config(
            zip(files, imports).map { KeepalivedVRRP.NodeFile(node: $0.node, file: $0.path, vrrp: $1.vrrp ?? KeepalivedVRRP()) },
            masters: masters)
        diagnostics += more
        state.vrrp = vrrp
        return KeepalivedImport(
            state: diagnostics.hasErrors ? nil : state, diagnostics: diagnostics, ignoredBlocks: first.ignoredBlocks,
            files: imports.flatMap(\.files), vrrp: first.vrrp)
    }
}
