import LVSModel

extension ManifestDecoder {
    /// Decodes a `healthCheck` block; fields that do not apply to the check type are errors.
    func decodeHealthCheck(_ node: JSONNode, path: String) -> HealthCheck? {
        guard let r = ObjectReader(node, path: path, what: "a health check", known: ManifestFields.healthCheck, diagnostics)
        else { return nil }
        let typeName = r.choice("type", ManifestFields.healthCheckTypes, required: true, what: "health check type")
        let type = typeName.flatMap(HealthCheck.Kind.init(rawValue:))
        var check = HealthCheck(type: type ?? .tcp)

        func only(_ key: String, for kinds: [HealthCheck.Kind], _ description: String) -> Bool {
            guard r.has(key) else { return false }
            guard let type else { return true }
            if !kinds.contains(type) {
                diagnostics.error(r.at(key), r.keyPosition(key), "'\(excerpt: key)' is only for \(description) checks, not \(type)",
                                  hint: "remove '\(excerpt: key)'")
                return false
            }
            return true
        }

        if type == .exec, r.has("port") {
            diagnostics.error(r.at("port"), r.keyPosition("port"), "'port' does not apply to exec checks",
                              hint: "pass the port to the command as an argument")
        } else if let p = r.integer("port", 1...65535, hint: "use a port from 1 to 65535; omit it to probe the real server's port") {
            check.port = UInt16(clamping: p)
        }

        let web: [HealthCheck.Kind] = [.http, .https]
        if only("path", for: web, "http and https") {
            if let p = r.string("path", hint: "an absolute URL path such as \"/healthz\"") {
                if !p.hasPrefix("/") || p.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) {
                    diagnostics.error(r.at("path"), r.position("path"), "'\(excerpt: p)' is not an absolute URL path",
                                      hint: "start the path with '/', e.g. \"/healthz\", without spaces")
                } else {
                    check.path = p
                }
            }
        } else if type == .http || type == .https, !r.has("path") {
            r.missing("path", hint: "an \(type?.rawValue ?? "http") check needs the URL path to fetch, e.g. \"path\": \"/healthz\"")
        }
        if only("statusCodes", for: web, "http and https"), let items = r.array("statusCodes") {
            var codes: [Int] = []
            for (i, item) in items.enumerated() {
                if let c = ObjectReader.integer(item, path: "\(r.at("statusCodes"))[\(i)]", 100...599,
                                                hint: "use HTTP status codes from 100 to 599", diagnostics) {
                    if codes.contains(Int(c)) {
                        diagnostics.warning("\(r.at("statusCodes"))[\(i)]", item.position, "status code \(c) is listed twice",
                                            hint: "list each code once")
                    } else {
                        codes.append(Int(c))
                    }
                }
            }
            if items.isEmpty {
                diagnostics.error(r.at("statusCodes"), r.position("statusCodes"), "statusCodes is empty",
                                  hint: "list the accepted codes, e.g. [200], or remove statusCodes for the default 200")
            }
            check.statusCodes = codes
        }
        if only("digest", for: web, "http and https"), let d = r.string("digest", hint: "32 hex digits (MD5 of the body)") {
            if d.count == 32 && d.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }) {
                check.digest = d.lowercased()
            } else {
                diagnostics.error(r.at("digest"), r.position("digest"), "'\(excerpt: d)' is not an MD5 digest",
                                  hint: "use the 32 hex digits printed by `md5sum` (keepalived genhash)")
            }
        }
        if only("host", for: web, "http and https"), let h = r.string("host", hint: "the HTTP Host header, e.g. \"www.example.com\"") {
            if h.isEmpty || h.contains(where: { $0 == " " || $0.isNewline || $0 == "/" }) {
                diagnostics.error(r.at("host"), r.position("host"), "'\(excerpt: h)' is not a valid Host header",
                                  hint: "use a host name such as \"www.example.com\"")
            } else {
                check.host = h
            }
        }
        if only("insecureSkipVerify", for: [.https], "https") {
            check.insecureSkipVerify = r.bool("insecureSkipVerify") ?? false
        }
        if only("command", for: [.exec], "exec"), let items = r.array("command", hint: "an array such as [\"/usr/local/bin/check\", \"--quick\"]") {
            var argv: [String] = []
            for (i, item) in items.enumerated() {
                let p = "\(r.at("command"))[\(i)]"
                guard case .string(let s) = item.kind, !s.isEmpty else {
                    diagnostics.error(p, item.position, "command arguments must be non-empty strings",
                                      hint: "write each argument as a string")
                    continue
                }
                if i == 0 && !s.hasPrefix("/") {
                    diagnostics.error(p, item.position, "'\(excerpt: s)' is not an absolute path",
                                      hint: "give the program's absolute path, e.g. \"/usr/local/bin/check\"; no shell is involved")
                }
                argv.append(s)
            }
            if items.isEmpty {
                diagnostics.error(r.at("command"), r.position("command"), "command is empty",
                                  hint: "give the program and its arguments, e.g. [\"/usr/local/bin/check\"]")
            }
            check.command = argv
        } else if type == .exec, !r.has("command") {
            r.missing("command", hint: "an exec check needs the program to run, e.g. \"command\": [\"/usr/local/bin/check\"]")
        }

        if let v = r.seconds("connectTimeout", 0.001...3600, hint: "use a timeout from 0.001 to 3600 seconds") { check.connectTimeout = v }
        if let v = r.integer("retry", 0...1000, hint: "use a retry count from 0 to 1000 (retries after the first failure, as in keepalived)") { check.retry = UInt32(clamping: v) }
        if let v = r.seconds("delayBeforeRetry", 0...3600, hint: "use a delay from 0 to 3600 seconds") { check.delayBeforeRetry = v }
        if let v = r.seconds("interval", 0.1...86400, hint: "use an interval from 0.1 to 86400 seconds") { check.interval = v }
        if let v = r.integer("rise", 1...1000, hint: "use a count from 1 to 1000") { check.rise = UInt32(clamping: v) }
        if let v = r.integer("fall", 1...1000, hint: "use a count from 1 to 1000") { check.fall = UInt32(clamping: v) }
        if let v = r.bool("alpha") { check.alpha = v }
        if check.connectTimeout > check.interval {
            diagnostics.warning(r.at("connectTimeout"), r.position("connectTimeout"),
                                "connectTimeout \(JSONValue.formatDouble(check.connectTimeout)) s is longer than interval \(JSONValue.formatDouble(check.interval)) s; checks will overlap",
                                hint: "use a timeout below the interval")
        }
        return type == nil ? nil : check
    }
}
