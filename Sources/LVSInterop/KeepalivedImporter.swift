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
    public static func importFile(path: String, manifestName: String) -> KeepalivedImport {
        var lexer = KeepalivedLexer()
        lexer.lex(path: path)
        return finish(lexer: lexer, manifestName: manifestName)
    }

    /// Imports configuration text; `file` names it in diagnostics and is the base for includes.
    public static func importText(_ text: String, file: String = "keepalived.conf", manifestName: String) -> KeepalivedImport {
        var lexer = KeepalivedLexer()
        lexer.lex(text: text, file: file)
        return finish(lexer: lexer, manifestName: manifestName)
    }

    private static func finish(lexer: KeepalivedLexer, manifestName: String) -> KeepalivedImport {
        let (nodes, treeDiagnostics) = KeepalivedNode.build(lexer.statements)
        var mapper = KeepalivedMapper(manifestName: manifestName)
        mapper.diagnostics = lexer.diagnostics + treeDiagnostics
        mapper.run(nodes)
        let diagnostics = mapper.diagnostics
        let state = diagnostics.hasErrors ? nil : mapper.state
        return KeepalivedImport(
            state: state, diagnostics: diagnostics, ignoredBlocks: mapper.ignored, files: lexer.filesRead)
    }
}
