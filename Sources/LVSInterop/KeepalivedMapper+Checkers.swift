import LVSModel

// Checker blocks lvsctl can run (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK), with the settings
// they inherit from their real server and virtual server.
extension KeepalivedMapper {
    static let commonCheckerKeywords: Set<String> = ["retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures"]
    static let connectionKeywords: Set<String> = ["connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark"]

    mutating func parseChecker(_ n: KeepalivedNode, rs: RS) -> Checker? {
        let kind: HealthCheck.Kind
        var defaultDelay = 1.0
        var defaultRetry: UInt32 = 1
        switch n.keyword {
        case "TCP_CHECK": kind = .tcp
        case "HTTP_GET": kind = .http; defaultDelay = 3
        case "SSL_GET": kind = .https; defaultDelay = 3
        default: kind = .exec; defaultRetry = 0
        }
        var ch = Checker(
            keyword: n.keyword, kind: kind, node: n, destination: (rs.address, rs.port),
            defaultRetry: defaultRetry, defaultDelayBeforeRetry: defaultDelay)
        let isHTTP = kind == .http || kind == .https
        for c in n.children ?? [] {
            if kind != .exec && KeepalivedMapper.connectionKeywords.contains(c.keyword) {
                switch c.keyword {
                case "connect_ip":
                    guard needArg(c) else { continue }
                    guard let a = IPAddress(c.args[0]) else {
                        error(c, "invalid connect_ip '\(excerpt: c.args[0])'", hint: "use a numeric address")
                        continue
                    }
                    ch.connectIP = a
                case "connect_port":
                    if let v = unsigned(c, min: 1, max: 65535) { ch.connectPort = UInt16(v) }
                case "connect_timeout":
                    if let v = seconds(c, allowZero: false) { ch.connectTimeout = v }
                default:
                    warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported",
                         hint: "checks connect from the director's default source address")
                }
                continue
            }
            switch c.keyword {
            case "retry":
                if let v = unsigned(c) { ch.retry = v }
            case "nb_get_retry" where isHTTP:
                warn(c, "nb_get_retry is deprecated (keepalived 2.2 and later removed it); imported as retry",
                     hint: "write retry instead")
                if let v = unsigned(c) { ch.retry = v }
            case "delay_before_retry":
                if let v = seconds(c, allowZero: true) { ch.delayBeforeRetry = v }
            case "delay_loop":
                if let v = seconds(c, allowZero: false) { ch.delayLoop = v }
            case "alpha":
                if let v = flag(c) { ch.alpha = v }
            case "warmup", "log_all_failures":
                warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported")
            case "virtualhost" where isHTTP:
                if needArg(c) { ch.virtualhost = c.args[0] }
            case "url" where isHTTP:
                var url = URLSpec()
                for u in c.children ?? [] {
                    switch u.keyword {
                    case "path":
                        if needArg(u) { url.path = u.args[0] }
                    case "digest":
                        guard needArg(u) else { continue }
                        let d = u.args[0].lowercased()
                        guard d.count == 32, d.allSatisfy({ $0.isHexDigit }) else {
                            error(u, "digest '\(excerpt: u.args[0])' is not 32 hex digits (an MD5 sum)", hint: "use genhash to compute it")
                            continue
                        }
                        url.digest = d
                    case "status_code":
                        guard needArg(u) else { continue }
                        for s in u.args {
                            let parts = s.split(separator: "-", omittingEmptySubsequences: false)
                            guard parts.count <= 2, let lo = Int(parts[0]), let hi = parts.count == 2 ? Int(parts[1]) : lo,
                                lo >= 100, hi <= 599, lo <= hi
                            else {
                                error(u, "invalid HTTP status code '\(excerpt: s)'", hint: "use codes or ranges from 100 to 599")
                                continue
                            }
                            url.statusCodes.append(contentsOf: lo...hi)
                        }
                    case "virtualhost":
                        if needArg(u) { url.virtualhost = u.args[0] }
                    case "regex", "regex_no_match", "regex_options", "regex_min_offset", "regex_max_offset", "regex_stack", "tls_compliant":
                        warn(u, "\(u.keyword) is not supported by lvsctl health checks and is not imported")
                    default:
                        unknown(u, in: "url")
                    }
                }
                if url.path == nil {
                    warn(c, "url without path; keepalived ignores it", hint: "add path /…")
                    continue
                }
                ch.urls.append(url)
            case let k where isHTTP && ["http_protocol", "enable_sni", "sni_name", "fast_recovery", "tls_compliant"].contains(k):
                warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported")
            case "misc_path" where kind == .exec:
                guard needArg(c) else { continue }
                // A single quoted word holds the command line; keepalived splits it into words.
                ch.command = c.args.count == 1 ? c.args[0].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) : c.args
            case "misc_timeout" where kind == .exec:
                if let v = unsigned(c) { ch.miscTimeout = Double(v) }
            case let k where kind == .exec && (k == "misc_dynamic" || k == "user"):
                warn(c, "\(c.keyword) is not supported by lvsctl health checks and is not imported",
                     hint: c.keyword == "misc_dynamic" ? "exit codes do not change weights under lvsctl" : nil)
            default:
                unknown(c, in: n.keyword)
            }
        }
        if isHTTP && ch.urls.isEmpty {
            warn(n, "\(n.keyword) has no url with a path; keepalived ignores the checker", hint: "add url { path / }")
            return nil
        }
        if kind == .exec && (ch.command?.isEmpty ?? true) {
            warn(n, "MISC_CHECK without misc_path; keepalived ignores the checker", hint: "add misc_path")
            return nil
        }
        return ch
    }
}
