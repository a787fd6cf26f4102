import LVSModel

/// Translates the keepalived block tree into services, following keepalived's checker-process
/// semantics (see `KeepalivedImporter` for the facts it relies on).
struct KeepalivedMapper {
    let manifestName: String
    /// Read the VRRP blocks (`--node` given); otherwise they are listed as not imported.
    let importVRRP: Bool
    var diagnostics: [Diagnostic] = []
    var ignored: [KeepalivedImport.IgnoredBlock] = []
    var state: DesiredState

    init(manifestName: String, importVRRP: Bool = false) {
        self.manifestName = manifestName
        self.importVRRP = importVRRP
        self.state = DesiredState(manifest: manifestName)
    }

    // MARK: - Intermediate values (keepalived's own structures, before validation)

    struct URLSpec {
        var path: String?
        var digest: String?
        var statusCodes: [Int] = []
        var virtualhost: String?
    }

    struct Checker {
        var keyword: String
        var kind: HealthCheck.Kind
        var node: KeepalivedNode
        /// The real server address and port when the checker was declared (keepalived copies it).
        var destination: (IPAddress, UInt16)
        var connectIP: IPAddress?
        var connectPort: UInt16?
        var connectTimeout: Double?
        var retry: UInt32?
        var delayBeforeRetry: Double?
        var delayLoop: Double?
        var alpha: Bool?
        var urls: [URLSpec] = []
        var virtualhost: String?
        var command: [String]?
        var miscTimeout: Double?
        var defaultRetry: UInt32
        var defaultDelayBeforeRetry: Double
    }

    struct RS {
        var node: KeepalivedNode
        var address: IPAddress
        /// 0 = not given.
        var port: UInt16
        var forwarding: ForwardingMethod?
        var tunnel = TunnelSettings.default
        var weight: UInt32?
        var upper: UInt32 = 0
        var lower: UInt32 = 0
        var inhibit: Bool?
        var alpha: Bool?
        var retry: UInt32?
        var delayBeforeRetry: Double?
        var connectTimeout: Double?
        var delayLoop: Double?
        var virtualhost: String?
        var checkers: [Checker] = []
    }

    enum VSKind {
        case address(IPAddress, UInt16)
        case fwmark(UInt32)
        case group(String)
    }

    struct VS {
        var node: KeepalivedNode
        var kind: VSKind
        var family: IPFamily?
        var proto: IPProtocol?
        var scheduler: String?
        var flags: ServiceFlags = []
        var persistenceTimeout: UInt32 = 0
        var granularity: UInt32?
        var persistenceEngine: String?
        var forwarding: ForwardingMethod?
        var tunnel = TunnelSettings.default
        var delayLoop: Double = 60
        var connectTimeout: Double = 5
        var retry: UInt32?
        var delayBeforeRetry: Double?
        var weight: UInt32 = 1
        var inhibit = false
        var alpha = false
        var quorum: UInt32 = 1
        var quorumSet = false
        var hysteresis: UInt32 = 0
        var hysteresisSet = false
        var virtualhost: String?
        var sorry: RS?
        var realServers: [RS] = []
    }

    enum GroupEntry {
        case addresses([IPAddress], UInt16, KeepalivedNode)
        case fwmark(UInt32, IPFamily?, KeepalivedNode)
    }

    var groups: [String: [GroupEntry]] = [:]
    var virtualServers: [VS] = []

    // VRRP (with `importVRRP`).
    var vrrp = KeepalivedVRRP()
    var trackers: [String: Tracker] = [:]
    var fileTrackers: [String: Tracker] = [:]
    var pendingTracks: [(String, TrackReference)] = []
    var pendingGroupTracks: [(String, TrackReference)] = []
    var syncGroupLines: [String: KeepalivedNode] = [:]

    // MARK: - Diagnostics helpers

    mutating func error(_ node: KeepalivedNode, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, file: node.file, path: node.keyword, line: node.line, message: message, hint: hint))
    }

    mutating func warn(_ node: KeepalivedNode, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.warning, file: node.file, path: node.keyword, line: node.line, message: message, hint: hint))
    }

    mutating func ignore(_ node: KeepalivedNode, reason: String, hint: String) {
        let name = node.args.first
        ignored.append(KeepalivedImport.IgnoredBlock(
            keyword: node.keyword, name: name, file: node.file, line: node.line, reason: reason))
        let title = name.map { "\(node.keyword) \($0)" } ?? node.keyword
        diagnostics.append(Diagnostic(
            .warning, file: node.file, path: node.keyword, line: node.line,
            message: "\(title) (line \(node.line)): \(reason)", hint: hint))
    }

    /// An unknown keyword: keepalived logs it and goes on; with a block it misparses the block.
    mutating func unknown(_ node: KeepalivedNode, in context: String) {
        if node.children != nil {
            error(node, "unknown keyword '\(excerpt: node.keyword)' with a block in \(context); keepalived does not skip unknown blocks (their '}' closes the enclosing block)",
                  hint: "remove the block or fix the keyword's spelling")
        } else {
            warn(node, "unknown keyword '\(excerpt: node.keyword)' in \(context); keepalived ignores it",
                 hint: "remove it or fix its spelling")
        }
    }

    mutating func needArg(_ node: KeepalivedNode, _ count: Int = 1) -> Bool {
        if node.args.count >= count { return true }
        error(node, "'\(excerpt: node.keyword)' needs \(count == 1 ? "a value" : "\(count) values")",
              hint: "see keepalived.conf(5) for the syntax")
        return false
    }

    /// keepalived's `read_unsigned`: decimal, no sign.
    mutating func unsigned(_ node: KeepalivedNode, _ index: Int = 0, min: UInt32 = 0, max: UInt32 = .max) -> UInt32? {
        guard needArg(node, index + 1) else { return nil }
        let s = node.args[index]
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt64(s), v <= UInt64(UInt32.max) else {
            error(node, "'\(excerpt: s)' is not a valid number for \(node.keyword)", hint: "use a whole number from \(min) to \(max)")
            return nil
        }
        guard v >= UInt64(min) && v <= UInt64(max) else {
            error(node, "\(node.keyword) \(s) is outside the range \(min)-\(max)", hint: "use a value from \(min) to \(max)")
            return nil
        }
        return UInt32(v)
    }

    /// A decimal number without sign, or nil (also for one too large for 64 bits).
    static func decimal(_ s: String) -> UInt64? {
        guard !s.isEmpty, s.utf8.count <= 20, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(s)
    }

    /// keepalived's `read_timer`: seconds with up to 6 decimal places.
    mutating func seconds(_ node: KeepalivedNode, allowZero: Bool) -> Double? {
        guard needArg(node) else { return nil }
        let s = node.args[0]
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        let valid = !s.isEmpty && parts.count <= 2 && parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
            && !(parts.first?.isEmpty ?? true)
        guard valid, let v = Double(s) else {
            error(node, "'\(excerpt: s)' is not a valid time for \(node.keyword)", hint: "give seconds, e.g. 3 or 1.5")
            return nil
        }
        if !allowZero && v == 0 {
            error(node, "\(node.keyword) must be greater than 0", hint: "give a positive number of seconds")
            return nil
        }
        return v
    }

    /// keepalived's `check_true_false` for optional boolean arguments (no argument = true).
    mutating func flag(_ node: KeepalivedNode) -> Bool? {
        guard let s = node.args.first else { return true }
        switch s {
        case "true", "on", "yes": return true
        case "false", "off", "no": return false
        default:
            error(node, "invalid \(node.keyword) parameter '\(excerpt: s)'", hint: "use yes/no, on/off or true/false")
            return nil
        }
    }

    // MARK: - Top level

    static let vrrpHint = "import it with --node NAME (the director this file belongs to), or keep keepalived for VRRP"

    mutating func run(_ nodes: [KeepalivedNode]) {
        for node in nodes {
            if importVRRP {
                switch node.keyword {
                case "vrrp_instance": parseVRRPInstance(node); continue
                case "vrrp_sync_group": parseVRRPSyncGroup(node); continue
                case "vrrp_script": parseVRRPScript(node); continue
                case "vrrp_track_file": parseVRRPTrackFile(node); continue
                case "global_defs": parseGlobalDefs(node); continue
                default: break
                }
            }
            switch node.keyword {
            case "virtual_server":
                if let vs = parseVirtualServer(node) { virtualServers.append(vs) }
            case "virtual_server_group":
                parseGroup(node)
            case "vrrp_instance", "vrrp_sync_group", "vrrp_script", "vrrp_track_process", "vrrp_track_file",
                "static_ipaddress", "static_routes", "static_rules", "garp_group", "linkbeat_interfaces":
                ignore(node, reason: "VRRP is not managed by lvsctl", hint: KeepalivedMapper.vrrpHint)
            case "global_defs":
                ignore(node, reason: "global settings (notification e-mail, SMTP, router id, scripts…) are not managed by lvsctl",
                       hint: "keep them in keepalived if it still runs VRRP; otherwise they are not needed")
            case "SSL":
                ignore(node, reason: "the SSL client context for SSL_GET (ca/certificate/key/password) is not imported",
                       hint: "SSL_GET checks are imported without certificate verification")
            case "bfd_instance", "track_file", "track_process", "net_namespace", "net_namespace_ipvs",
                "instance", "use_pid_dir", "namespace_with_ipsets", "child_wait_time":
                ignore(node, reason: "\(node.keyword) is not managed by lvsctl", hint: "configure it outside lvsctl if needed")
            default:
                if node.keyword.hasPrefix("notification_email") || node.keyword.hasPrefix("smtp_")
                    || node.keyword.hasPrefix("notify") || node.keyword.hasPrefix("track_")
                {
                    ignore(node, reason: "notifications and tracking are not managed by lvsctl",
                           hint: "keep keepalived for them or use your monitoring")
                } else {
                    unknown(node, in: "the top level")
                }
            }
        }
        if importVRRP { resolveVRRPTracks() }
        resolve()
    }
}
