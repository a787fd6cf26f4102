import LVSModel

/// Writes a desired state as keepalived.conf `virtual_server` blocks, the inverse of
/// `KeepalivedImporter`: importing the output gives the same services, real servers and health
/// checks back (up to the forms the importer normalises to, listed below).
///
/// What keepalived.conf cannot say is reported as a warning, never dropped silently: service
/// names (keepalived has none; the importer derives them from the address), drain timeouts,
/// global settings (timeouts, sync daemons), a health check's `rise` other than 1 or `fall`, an
/// `https` check that verifies certificates (SSL_GET never does), and services without real
/// servers (keepalived ignores them).
///
/// Forms that read back differently but mean the same: a service-wide health check is written
/// into every real server (the importer hoists it back when all are equal); a check port equal
/// to the real server's port is left out; `statusCodes` empty (200) is written as
/// `status_code 200`; an http check without a path checks `/`; `retry` is keepalived's `retry`
/// (retries after the first failure); a `fall` N is exported as `retry N-1`.
public enum KeepalivedExport {
    public struct Result: Sendable {
        public var text: String
        public var diagnostics: [Diagnostic]
    }

    /// keepalived.conf text for `state`; `source` names the manifest or table in diagnostics.
    public static func format(_ state: DesiredState, source: String) -> Result {
        var w = Writer(source: source)
        w.line("! keepalived.conf virtual_server blocks exported by lvsctl from \(state.manifest)")
        w.line("! (lvsctl import keepalived reads them back; VRRP, global_defs and notify are not part of it)")
        if state.settings.timeouts != nil || state.settings.syncDaemons != nil {
            w.warn("settings", "global settings (timeouts, sync daemons) are not exported",
                   hint: "set them in keepalived's global_defs (lvs_timeouts, lvs_sync_daemon) by hand")
        }
        for (i, spec) in state.services.enumerated() {
            w.service(spec, path: "services[\(i)]")
        }
        return Result(text: w.out, diagnostics: w.diagnostics)
    }

    /// Seconds as keepalived's timers read them: an integer when whole, else up to 6 decimals.
    static func seconds(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        var s = String(Int64((v * 1_000_000).rounded()))
        while s.count < 7 { s = "0" + s }
        let cut = s.index(s.endIndex, offsetBy: -6)
        var frac = String(s[cut...])
        while frac.hasSuffix("0") { frac.removeLast() }
        return "\(s[..<cut]).\(frac)"
    }

    /// `lb_kind` / `lvs_method` arguments: `NAT`, `DR`, `TUN [type gue port N] [csum]`.
    static func method(_ f: ForwardingMethod, _ t: TunnelSettings) -> String? {
        switch f {
        case .masquerade: return "NAT"
        case .directRoute: return "DR"
        case .tunnel:
            var s = "TUN"
            if t.type != .ipip { s += " type \(t.type)" }
            if t.type == .gue { s += " port \(t.port)" }
            if t.checksum != .none { s += " \(t.checksum)" }
            return s
        default: return nil
        }
    }

    /// A word keepalived reads back as one argument.
    static func word(_ s: String) -> String {
        let plain = !s.isEmpty && !s.contains { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "#" || $0 == "!" || $0 == "{" || $0 == "}" }
        return plain ? s : "\"\(s)\""
    }

    struct Writer {
        let source: String
        var out = ""
        var depth = 0
        var diagnostics: [Diagnostic] = []

        mutating func line(_ s: String) {
            out += String(repeating: "    ", count: depth) + s + "\n"
        }

        mutating func open(_ s: String) {
            line(s + " {")
            depth += 1
        }

        mutating func close() {
            depth -= 1
            line("}")
        }

        /// Records a warning once (a service-wide check is written into every real server).
        mutating func warn(_ path: String, _ message: String, hint: String? = nil) {
            let d = Diagnostic(.warning, file: source, path: path, message: message, hint: hint)
            if !diagnostics.contains(d) { diagnostics.append(d) }
        }

        mutating func service(_ spec: ServiceSpec, path: String) {
            let s = spec.service
            guard !spec.realServers.isEmpty else {
                warn(path, "service \(spec.name) (\(s.id)) has no real servers; keepalived ignores such a virtual_server, so it is not exported",
                     hint: "add a real server, or create the service with ipvsadm")
                return
            }
            if spec.drainTimeout != nil {
                warn("\(path).drainTimeout", "service \(spec.name): keepalived has no drain timeout; not exported")
            }
            line("")
            line("! \(spec.name)")
            switch s.id {
            case .address(_, let a, let port):
                open("virtual_server \(a) \(port)")
            case .fwmark(let mark, let family):
                open("virtual_server fwmark \(mark)")
                if family == .ipv6 { line("ip_family inet6") }
            }
            line("lb_algo \(s.scheduler)")
            // The forwarding method most real servers use goes on the service (before the real
            // servers, which inherit it when parsed); the others say their own.
            let methods = spec.realServers.map { KeepalivedExport.method($0.server.forwarding, $0.server.tunnel) }
            var counts: [String: Int] = [:]
            for case let m? in methods { counts[m, default: 0] += 1 }
            let common = methods.compactMap { $0 }.max { counts[$0, default: 0] < counts[$1, default: 0] }
            if let common { line("lb_kind \(common)") }
            if let p = s.id.ipProtocol { line("protocol \(p.rawValue.uppercased())") }
            if s.isPersistent {
                line("persistence_timeout \(s.timeout)")
                if s.netmask != VirtualService.defaultNetmask(s.id.family) {
                    let g = s.id.family == .ipv4 ? "\(IPAddress.v4(s.netmask))" : "\(s.netmask)"
                    line("persistence_granularity \(g)")
                }
                if let pe = s.persistenceEngine { line("persistence_engine \(pe)") }
            } else if s.timeout != 0 {
                warn("\(path).persistence", "service \(spec.name): a timeout without the persistent flag cannot be written in keepalived.conf; not exported")
            }
            if s.flags.contains(.onePacket) { line("ops") }
            let names = s.scheduler.flagNames
            for (i, flag) in [ServiceFlags.sched1, .sched2, .sched3].enumerated() where s.flags.contains(flag) {
                line(names[i])
            }
            if let q = spec.quorum { line("quorum \(q)") }
            if let h = spec.hysteresis { line("hysteresis \(h)") }
            if spec.inhibitOnFailure { line("inhibit_on_failure") }
            if let sorry = spec.sorryServer {
                line("sorry_server \(sorry.id.address) \(sorry.id.port)")
                if let m = KeepalivedExport.method(sorry.forwarding, sorry.tunnel), m != common {
                    line("sorry_server_lvs_method \(m)")
                }
            }
            for (j, rs) in spec.realServers.enumerated() {
                realServer(rs, in: spec, method: methods[j], common: common, servicePath: path, path: "\(path).realServers[\(j)]")
            }
            close()
        }

        mutating func realServer(
            _ rs: RealServerSpec, in spec: ServiceSpec, method: String?, common: String?, servicePath: String, path: String
        ) {
            let r = rs.server
            open("real_server \(r.id.address) \(r.id.port)")
            line("weight \(r.weight)")
            if let method, method != common { line("lvs_method \(method)") }
            if method == nil { warn(path, "real server \(r.id): forwarding method \(r.forwarding) has no keepalived name; written with the service's") }
            if r.upperThreshold != 0 { line("uthreshold \(r.upperThreshold)") }
            if r.lowerThreshold != 0 { line("lthreshold \(r.lowerThreshold)") }
            if let check = rs.healthCheck ?? spec.healthCheck {
                healthCheck(check, server: r, path: rs.healthCheck != nil ? "\(path).healthCheck" : "\(servicePath).healthCheck")
            }
            close()
        }

        mutating func healthCheck(_ c: HealthCheck, server: RealServer, path: String) {
            let keyword: String
            switch c.type {
            case .tcp: keyword = "TCP_CHECK"
            case .http: keyword = "HTTP_GET"
            case .https: keyword = "SSL_GET"
            case .exec: keyword = "MISC_CHECK"
            }
            if c.rise != 1 { warn("\(path).rise", "keepalived marks a server up after one success; rise \(c.rise) is not exported") }
            // keepalived's `retry N` takes a server down after N + 1 consecutive failures, as
            // lvsctl's; a `fall` that says otherwise is exported as the retry it amounts to.
            let retries = c.failuresBeforeDown - 1
            if let f = c.fall, retries != c.retry {
                warn("\(path).fall", "keepalived has one failure count; fall \(f) is exported (as retry \(retries)), retry \(c.retry) is not")
            }
            if c.type == .https && !c.insecureSkipVerify {
                warn(path, "SSL_GET never verifies the server certificate; the exported check does not either")
            }
            open(keyword)
            if c.type == .exec {
                let command = (c.command ?? []).joined(separator: " ")
                line("misc_path \"\(String(command.map { $0 == "\"" ? "'" : $0 }))\"")
                let timeout = Int(c.connectTimeout.rounded(.up))
                if Double(timeout) != c.connectTimeout {
                    warn("\(path).connectTimeout", "misc_timeout takes whole seconds; \(c.connectTimeout) is written as \(timeout)")
                }
                line("misc_timeout \(max(timeout, 1))")
            } else {
                if let p = c.port, p != server.id.port { line("connect_port \(p)") }
                line("connect_timeout \(KeepalivedExport.seconds(c.connectTimeout))")
            }
            line("retry \(retries)")
            line("delay_before_retry \(KeepalivedExport.seconds(c.delayBeforeRetry))")
            line("delay_loop \(KeepalivedExport.seconds(c.interval))")
            if c.alpha { line("alpha") }
            if c.type == .http || c.type == .https {
                open("url")
                line("path \(KeepalivedExport.word(c.path ?? "/"))")
                if let d = c.digest { line("digest \(d)") }
                let codes = c.statusCodes.isEmpty ? [200] : c.statusCodes
                if codes != Array(200...299) { line("status_code " + ranges(codes)) }
                if let h = c.host { line("virtualhost \(KeepalivedExport.word(h))") }
                close()
            }
            close()
        }

        /// `200 301-302 404`: runs of consecutive codes as ranges.
        func ranges(_ codes: [Int]) -> String {
            var parts: [String] = []
            var sorted = Array(Set(codes)).sorted()[...]
            while let lo = sorted.first {
                var hi = lo
                sorted = sorted.dropFirst()
                while sorted.first == hi + 1 { hi += 1; sorted = sorted.dropFirst() }
                parts.append(lo == hi ? "\(lo)" : "\(lo)-\(hi)")
            }
            return parts.joined(separator: " ")
        }
    }
}
