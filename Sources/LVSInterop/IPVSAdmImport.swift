import LVSModel

/// The result of importing `ipvsadm -Sn` output or an `ipvsadm -R` restore script.
public struct IPVSAdmImportResult: Hashable, Sendable {
    /// The imported state; nil when `diagnostics` has errors.
    public var state: DesiredState?
    public var diagnostics: [Diagnostic]

    public init(state: DesiredState?, diagnostics: [Diagnostic]) {
        self.state = state
        self.diagnostics = diagnostics
    }
}

/// Imports `ipvsadm -Sn` / `ipvsadm-save -n` output and restore scripts into a `DesiredState`,
/// applying ipvsadm 1.31's own defaults: scheduler `wlc`, `-p` alone = 360 s, weight 1,
/// forwarding `-g`, the real-server port defaulting to the service port (and forced to it for
/// `-g`/`-i` on address services), fwmark `-6` netmask 128.
public enum IPVSAdmImport {
    /// Parses the text; `file` names it in diagnostics.
    public static func parse(_ text: String, file: String, manifestName: String) -> IPVSAdmImportResult {
        parse(bytes: Array(text.utf8), file: file, manifestName: manifestName)
    }

    /// Parses the bytes of a dump (UTF-8). Lines end at LF; trailing CRs are removed, so a CRLF
    /// dump reads like an LF one. (Splitting a `String` at "\n" would not split CRLF at all: in
    /// Swift, CR LF is one `Character`.)
    public static func parse(bytes: [UInt8], file: String, manifestName: String) -> IPVSAdmImportResult {
        var parser = Parser(file: file)
        var lineNo = 0
        var start = 0
        let n = bytes.count
        while start < n {
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            lineNo += 1
            var lo = start, hi = end
            while hi > lo && bytes[hi - 1] == 0x0D { hi -= 1 }
            while lo < hi && (bytes[lo] == 0x20 || bytes[lo] == 0x09) { lo += 1 }
            start = end + 1
            if lo == hi || bytes[lo] == UInt8(ascii: "#") { continue }
            parser.line(String(decoding: bytes[lo..<hi], as: UTF8.self), number: lineNo)
        }
        if parser.services.isEmpty && parser.diagnostics.isEmpty && parser.timeouts == nil {
            parser.warn(1, bytes.isEmpty ? "the dump is empty: the manifest has no services" : "the dump has no services",
                        hint: "ipvsadm -Sn prints nothing for an empty table; check that this is the dump you meant")
        }
        var state = DesiredState(manifest: manifestName)
        state.services = parser.services
        if let t = parser.timeouts { state.settings.timeouts = t }
        return IPVSAdmImportResult(state: parser.diagnostics.hasErrors ? nil : state, diagnostics: parser.diagnostics)
    }

    struct Parser {
        let file: String
        var diagnostics: [Diagnostic] = []
        var services: [ServiceSpec] = []
        /// The index in `services` of each service, and the real servers each one has: lookups
        /// stay constant-time however large the dump (a linear search per line was quadratic).
        var serviceIndex: [VirtualService.ID: Int] = [:]
        var serverIDs: [Set<RealServer.ID>] = []
        var timeouts: Timeouts?
        var names = Set<String>()

        init(file: String) { self.file = file }

        mutating func error(_ line: Int, _ message: String, hint: String? = nil) {
            diagnostics.append(Diagnostic(.error, file: file, line: line, message: message, hint: hint))
        }

        mutating func warn(_ line: Int, _ message: String, hint: String? = nil) {
            diagnostics.append(Diagnostic(.warning, file: file, line: line, message: message, hint: hint))
        }

        /// Long spellings → short ones; options without a short form keep their long name.
        static let aliases: [String: String] = [
            "--add-service": "-A", "--edit-service": "-E", "--delete-service": "-D", "--clear": "-C",
            "--add-server": "-a", "--edit-server": "-e", "--delete-server": "-d", "--restore": "-R",
            "--save": "-S", "--list": "-L", "--zero": "-Z",
            "--tcp-service": "-t", "--udp-service": "-u", "--fwmark-service": "-f", "--ipv6": "-6",
            "--scheduler": "-s", "--persistent": "-p", "--netmask": "-M", "--ops": "-o",
            "--sched-flags": "-b", "--real-server": "-r", "--gatewaying": "-g", "--ipip": "-i",
            "--masquerading": "-m", "--weight": "-w", "--u-threshold": "-x", "--l-threshold": "-y",
            "--numeric": "-n",
        ]
        /// Options that take a value (after their short-form mapping).
        static let withValue: Set<String> = [
            "-t", "-u", "--sctp-service", "-f", "-s", "-M", "--pe", "-b", "-r", "-w", "-x", "-y",
            "--tun-type", "--tun-port",
        ]
        static let known: Set<String> = withValue.union([
            "-A", "-E", "-D", "-C", "-a", "-e", "-d", "-R", "-S", "-L", "-Z", "-6", "-p", "-o", "-g", "-i",
            "-m", "-n", "--set", "--tun-nocsum", "--tun-csum", "--tun-remcsum",
        ])

        /// Splits `-At` into `-A -t`, `--opt=value` into `--opt value`, maps long spellings.
        func normalise(_ words: [String]) -> [String] {
            var out: [String] = []
            for w in words {
                if w == "ipvsadm" || w.hasSuffix("/ipvsadm") { continue }
                if w.hasPrefix("--"), let eq = w.firstIndex(of: "=") {
                    let name = String(w[..<eq])
                    out.append(Parser.aliases[name] ?? name)
                    out.append(String(w[w.index(after: eq)...]))
                } else if w.hasPrefix("--") {
                    out.append(Parser.aliases[w] ?? w)
                } else if w.hasPrefix("-"), w.count > 2, w.dropFirst().allSatisfy({ $0.isLetter || $0 == "6" }) {
                    out.append(contentsOf: w.dropFirst().map { "-\($0)" })
                } else {
                    out.append(w)
                }
            }
            return out
        }

        mutating func line(_ text: String, number n: Int) {
            let words = normalise(text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
            if words.isEmpty { return }
            var command: String?
            var opts: [String: String] = [:]
            var flags = Set<String>()
            var persistentValue: String?
            var setValues: [String]?
            var i = 0
            while i < words.count {
                let w = words[i]
                guard w.hasPrefix("-"), w.count > 1, w == "-6" || !w.dropFirst().allSatisfy({ $0.isNumber }) else {
                    error(n, "unexpected argument '\(excerpt: w)'", hint: "check the option before it")
                    return
                }
                guard Parser.known.contains(w) else {
                    error(n, "unknown option '\(excerpt: w)'", hint: "see ipvsadm(8); use the lines ipvsadm -Sn prints")
                    return
                }
                if ["-A", "-E", "-D", "-C", "-a", "-e", "-d", "-R", "-S", "-L", "-Z", "--set"].contains(w) {
                    if let c = command {
                        error(n, "two commands on one line (\(c) and \(w))", hint: "put one command per line")
                        return
                    }
                    command = w
                    if w == "--set" {
                        var values: [String] = []
                        while values.count < 3, i + 1 < words.count, !words[i + 1].hasPrefix("-") {
                            values.append(words[i + 1])
                            i += 1
                        }
                        setValues = values
                    }
                    i += 1
                    continue
                }
                if w == "-p" {
                    flags.insert(w)
                    if i + 1 < words.count, !words[i + 1].hasPrefix("-") {
                        persistentValue = words[i + 1]
                        i += 1
                    }
                    i += 1
                    continue
                }
                if Parser.withValue.contains(w) {
                    guard i + 1 < words.count else {
                        error(n, "option \(w) needs a value", hint: "see ipvsadm(8)")
                        return
                    }
                    if opts[w] != nil {
                        error(n, "option \(w) given twice", hint: "give it once")
                        return
                    }
                    opts[w] = words[i + 1]
                    i += 2
                    continue
                }
                if flags.contains(w) && w != "-n" {
                    error(n, "option \(w) given twice", hint: "give it once")
                    return
                }
                flags.insert(w)
                i += 1
            }
            switch command {
            case nil:
                error(n, "no command on this line", hint: "start the line with -A (service) or -a (real server)")
            case "-C":
                warn(n, "-C (flush) ignored: the import describes the whole table", hint: nil)
            case "--set":
                setTimeouts(setValues ?? [], line: n)
            case "-A":
                addService(opts: opts, flags: flags, persistent: persistentValue, line: n)
            case "-a":
                addServer(opts: opts, flags: flags, line: n)
            default:
                error(n, "\(command ?? "") is not part of a saved table; only -A, -a, -C and --set are imported",
                      hint: "import the output of ipvsadm -Sn")
            }
        }

        mutating func setTimeouts(_ values: [String], line n: Int) {
            guard values.count == 3 else {
                error(n, "--set needs three values: tcp tcpfin udp", hint: "write --set 900 120 300 (0 = unchanged)")
                return
            }
            var parsed: [UInt32] = []
            for v in values {
                guard v.allSatisfy({ $0.isNumber }), let x = UInt32(v), x <= UInt32(Int32.max) else {
                    error(n, "invalid timeout '\(excerpt: v)'", hint: "use seconds, 0 = unchanged")
                    return
                }
                parsed.append(x)
            }
            timeouts = Timeouts(tcp: parsed[0], tcpFin: parsed[1], udp: parsed[2])
        }

        /// `addr:port`, `[v6]:port`, or `addr` (port 0). Host and service names are refused.
        mutating func hostPort(_ s: String, line n: Int, what: String) -> (IPAddress, UInt16)? {
            var host = s
            var portText: String? = nil
            if s.hasPrefix("[") {
                guard let close = s.firstIndex(of: "]") else {
                    error(n, "\(what) '\(excerpt: s)': missing ']'", hint: "write [2001:db8::1]:80")
                    return nil
                }
                host = String(s[s.index(after: s.startIndex)..<close])
                let rest = s[s.index(after: close)...]
                if rest.hasPrefix(":") { portText = String(rest.dropFirst()) } else if !rest.isEmpty {
                    error(n, "\(what) '\(excerpt: s)': unexpected text after ']'", hint: "write [2001:db8::1]:80")
                    return nil
                }
            } else if let colon = s.lastIndex(of: ":"), s.firstIndex(of: ":") == colon {
                host = String(s[..<colon])
                portText = String(s[s.index(after: colon)...])
            }
            guard let address = IPAddress(host) else {
                error(n, "\(what) '\(excerpt: host)' is not a numeric IP address", hint: "use ipvsadm -Sn (numeric) output; host names are not imported")
                return nil
            }
            var port: UInt16 = 0
            if let p = portText {
                guard !p.isEmpty, p.allSatisfy({ $0.isNumber }) else {
                    error(n, "\(what) port '\(excerpt: p)' is not a number", hint: "use ipvsadm -Sn (numeric) output; service names are not imported")
                    return nil
                }
                guard let v = UInt16(p) else {
                    error(n, "\(what) port \(p) is out of range", hint: "use a port from 0 to 65535")
                    return nil
                }
                port = v
            }
            return (address, port)
        }

        mutating func serviceID(opts: [String: String], flags: Set<String>, line n: Int) -> VirtualService.ID? {
            let given = [("-t", IPProtocol.tcp), ("-u", .udp), ("--sctp-service", .sctp)].filter { opts[$0.0] != nil }
            let fw = opts["-f"]
            if given.count + (fw == nil ? 0 : 1) != 1 {
                error(n, given.isEmpty && fw == nil ? "no service given" : "more than one service given",
                      hint: "give exactly one of -t, -u, --sctp-service or -f")
                return nil
            }
            if let fw {
                guard fw.allSatisfy({ $0.isNumber }), let mark = UInt32(fw), mark > 0 else {
                    error(n, "invalid fwmark '\(excerpt: fw)'", hint: "use a mark from 1 to 4294967295")
                    return nil
                }
                return .fwmark(mark, flags.contains("-6") ? .ipv6 : .ipv4)
            }
            let (opt, proto) = given[0]
            guard let (address, port) = hostPort(opts[opt] ?? "", line: n, what: "service address") else { return nil }
            if flags.contains("-6") && address.family != .ipv6 {
                warn(n, "-6 only applies to fwmark services; ignored")
            }
            return .address(proto, address, port: port)
        }

        mutating func addService(opts: [String: String], flags: Set<String>, persistent: String?, line n: Int) {
            for bad in ["-r", "-w", "-x", "-y", "--tun-type", "--tun-port"] where opts[bad] != nil {
                error(n, "\(bad) is a real-server option, not valid with -A", hint: "put it on an -a line")
                return
            }
            guard let id = serviceID(opts: opts, flags: flags, line: n) else { return }
            if let s = opts["-s"], !Scheduler.known.contains(Scheduler(s)) {
                // ipvsadm -Sn prints what the kernel runs, and the kernel only runs the schedulers
                // it ships (a manifest cannot name another one either).
                error(n, "unknown scheduler '\(excerpt: s)'",
                      hint: "use one of \(Scheduler.known.map(\.rawValue).joined(separator: ", "))")
                return
            }
            var service = VirtualService(id: id, scheduler: Scheduler(opts["-s"] ?? "wlc"))
            if flags.contains("-p") {
                var timeout: UInt32 = 360
                if let p = persistent {
                    guard p.allSatisfy({ $0.isNumber }), let v = UInt32(p), v >= 1, v <= 2_678_400 else {
                        error(n, "invalid persistence timeout '\(excerpt: p)'", hint: "use 1 to 2678400 seconds")
                        return
                    }
                    timeout = v
                }
                service.flags.insert(.persistent)
                service.timeout = timeout
            }
            if let m = opts["-M"] {
                if id.family == .ipv4 {
                    guard let a = IPAddress(m), case .v4(let mask) = a else {
                        error(n, "invalid IPv4 netmask '\(excerpt: m)'", hint: "write a dotted mask such as 255.255.255.0")
                        return
                    }
                    service.netmask = mask
                } else {
                    guard m.allSatisfy({ $0.isNumber }), let v = UInt32(m), v >= 1, v <= 128 else {
                        error(n, "invalid IPv6 netmask '\(excerpt: m)'", hint: "give a prefix length from 1 to 128")
                        return
                    }
                    service.netmask = v
                }
                if !flags.contains("-p") {
                    warn(n, "-M has no effect without -p (persistence)")
                }
            }
            if let pe = opts["--pe"] {
                service.persistenceEngine = pe
                if pe != "sip" { warn(n, "persistence engine '\(excerpt: pe)' is unknown; the kernel only ships 'sip'") }
            }
            if flags.contains("-o") {
                if id.ipProtocol != nil && id.ipProtocol != .udp {
                    error(n, "one-packet scheduling (-o) is only for UDP or fwmark services", hint: "remove -o")
                    return
                }
                service.flags.insert(.onePacket)
            }
            if let b = opts["-b"] {
                for f in b.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                    switch f {
                    case "flag-1": service.flags.insert(.sched1)
                    case "flag-2": service.flags.insert(.sched2)
                    case "flag-3": service.flags.insert(.sched3)
                    case "sh-fallback", "sh-port", "mh-fallback", "mh-port":
                        let s = String(f.prefix(2))
                        guard service.scheduler.rawValue == s else {
                            error(n, "scheduler flag \(f) needs -s \(s)", hint: "use flag-1/flag-2 or the \(s) scheduler")
                            return
                        }
                        service.flags.insert(f.hasSuffix("port") ? .sched2 : .sched1)
                    default:
                        error(n, "unknown scheduler flag '\(excerpt: f)'", hint: "use sh-fallback, sh-port, mh-fallback, mh-port or flag-1..flag-3")
                        return
                    }
                }
            }
            if case .address(_, _, let port) = id, port == 0, !flags.contains("-p") {
                error(n, "zero port specified for a non-persistent service", hint: "give a port or add -p")
                return
            }
            for r in ["-g", "-i", "-m", "--tun-nocsum", "--tun-csum", "--tun-remcsum"] where flags.contains(r) {
                error(n, "\(r) is a real-server option, not valid with -A", hint: "put it on an -a line")
                return
            }
            if serviceIndex[id] != nil {
                error(n, "service \(id) is added twice", hint: "remove the second -A line (use -E to edit a service)")
                return
            }
            var name = KeepalivedMapper.serviceName(id)
            if names.contains(name), let p = id.ipProtocol { name += "-\(p.rawValue)" }
            var k = 2
            let base = name
            while names.contains(name) { name = "\(base)-\(k)"; k += 1 }
            names.insert(name)
            serviceIndex[id] = services.count
            services.append(ServiceSpec(name: name, service: service))
            serverIDs.append([])
        }

        mutating func addServer(opts: [String: String], flags: Set<String>, line n: Int) {
            for bad in ["-s", "-M", "--pe", "-b"] where opts[bad] != nil {
                error(n, "\(bad) is a service option, not valid with -a", hint: "put it on the -A line")
                return
            }
            if flags.contains("-p") || flags.contains("-o") {
                error(n, "\(flags.contains("-p") ? "-p" : "-o") is a service option, not valid with -a", hint: "put it on the -A line")
                return
            }
            guard let id = serviceID(opts: opts, flags: flags, line: n) else { return }
            guard let index = serviceIndex[id] else {
                error(n, "real server added to service \(id), which is not defined on an earlier line",
                      hint: "add the service with -A before its real servers")
                return
            }
            guard let r = opts["-r"] else {
                error(n, "-a needs a real server (-r addr:port)", hint: "write -r 10.0.0.1:80")
                return
            }
            guard let (address, givenPort) = hostPort(r, line: n, what: "real server") else { return }
            let methods = ["-g", "-i", "-m"].filter { flags.contains($0) }
            if methods.count > 1 {
                error(n, "more than one forwarding method (\(methods.joined(separator: " ")))", hint: "give one of -g, -i, -m")
                return
            }
            let forwarding: ForwardingMethod
            switch methods.first {
            case "-i": forwarding = .tunnel
            case "-m": forwarding = .masquerade
            default: forwarding = .directRoute
            }
            var port = givenPort
            if case .address(_, _, let servicePort) = id {
                if port == 0 { port = servicePort }
                if forwarding != .masquerade && port != servicePort {
                    warn(n, "real server port \(port) differs from the service port \(servicePort); ipvsadm forces \(servicePort) for \(forwarding == .tunnel ? "-i" : "-g") (imported as \(servicePort))",
                         hint: "write port \(servicePort), or use -m (NAT) to map ports")
                    port = servicePort
                }
            }
            if address.family != id.family && forwarding != .tunnel {
                error(n, "a real server of another address family needs -i (tunnel)", hint: "use -i or a real server of the service's family")
                return
            }
            func number(_ opt: String, max: UInt32) -> UInt32?? {
                guard let v = opts[opt] else { return .some(nil) }
                guard v.allSatisfy({ $0.isNumber }), let x = UInt32(v), x <= max else {
                    error(n, "invalid \(opt) value '\(excerpt: v)'", hint: "use a number from 0 to \(max)")
                    return nil
                }
                return .some(x)
            }
            guard let weight = number("-w", max: 65535), let upper = number("-x", max: UInt32(Int32.max)),
                let lower = number("-y", max: UInt32(Int32.max))
            else { return }
            var tunnel = TunnelSettings.default
            let csums = ["--tun-nocsum", "--tun-csum", "--tun-remcsum"].filter { flags.contains($0) }
            if opts["--tun-type"] != nil || opts["--tun-port"] != nil || !csums.isEmpty {
                guard forwarding == .tunnel else {
                    error(n, "tunnel options need -i (tunnel forwarding)", hint: "add -i or remove the --tun-* options")
                    return
                }
                if csums.count > 1 {
                    error(n, "more than one tunnel checksum option", hint: "give one of --tun-nocsum, --tun-csum, --tun-remcsum")
                    return
                }
                let typeName = opts["--tun-type"] ?? "ipip"
                guard let type = TunnelType(name: typeName) else {
                    error(n, "unknown tunnel type '\(excerpt: typeName)'", hint: "use ipip, gue or gre")
                    return
                }
                tunnel.type = type
                if let p = opts["--tun-port"] {
                    guard type == .gue else {
                        error(n, "--tun-port is only for --tun-type gue", hint: "remove --tun-port")
                        return
                    }
                    guard p.allSatisfy({ $0.isNumber }), let v = UInt16(p), v > 0 else {
                        error(n, "invalid tunnel port '\(excerpt: p)'", hint: "use a port from 1 to 65535")
                        return
                    }
                    tunnel.port = v
                } else if type == .gue {
                    error(n, "--tun-type gue needs --tun-port", hint: "add --tun-port 6080 (or the port your servers use)")
                    return
                }
                if let c = csums.first {
                    let cs = TunnelChecksum(name: String(c.dropFirst(6))) ?? .none
                    if type == .ipip {
                        error(n, "\(c) is not valid for ipip tunnels", hint: "remove it")
                        return
                    }
                    if type == .gre && cs == .remoteChecksum {
                        error(n, "--tun-remcsum is not valid for gre tunnels", hint: "use --tun-nocsum or --tun-csum")
                        return
                    }
                    tunnel.checksum = cs
                }
            }
            let server = RealServer(
                id: RealServer.ID(address: address, port: port), forwarding: forwarding, weight: weight ?? 1,
                upperThreshold: upper ?? 0, lowerThreshold: lower ?? 0, tunnel: tunnel)
            if (upper ?? 0) != 0 && (lower ?? 0) > (upper ?? 0) {
                warn(n, "-y \(lower ?? 0) is above -x \(upper ?? 0)", hint: "the lower threshold should be below the upper one")
            }
            if !serverIDs[index].insert(server.id).inserted {
                error(n, "real server \(server.id) is added twice to \(id)", hint: "remove the second -a line (use -e to edit)")
                return
            }
            services[index].realServers.append(RealServerSpec(server: server))
        }
    }
}
