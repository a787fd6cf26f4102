import Foundation
import LVSManifest
import LVSModel
import Testing

/// One manifest that must be rejected, with where and what the error says.
struct BadCase: CustomStringConvertible, Sendable {
    var name: String
    var text: String
    var path: String
    /// Must appear in the message or the hint (case-insensitive).
    var fragment: String
    var line: Int? = nil
    var description: String { name }
}

private let rsDR = #"{"address": "10.0.0.2"}"#

let badCases: [BadCase] = [
    BadCase(name: "wrong apiVersion", text: #"{"apiVersion": "v1", "name": "t", "services": []}"#,
            path: "apiVersion", fragment: "unsupported apiVersion 'v1'", line: 1),
    BadCase(name: "missing apiVersion", text: #"{"name": "t", "services": []}"#, path: "apiVersion", fragment: "missing required field"),
    BadCase(name: "missing name", text: #"{"apiVersion": "lvsctl/v1", "services": []}"#, path: "name", fragment: "missing required field"),
    BadCase(name: "unsafe name", text: #"{"apiVersion": "lvsctl/v1", "name": "web site", "services": []}"#,
            path: "name", fragment: "not a valid manifest name"),
    BadCase(name: "empty name", text: #"{"apiVersion": "lvsctl/v1", "name": "", "services": []}"#, path: "name", fragment: "is empty"),
    BadCase(name: "typo at top level", text: #"{"apiVersion": "lvsctl/v1", "name": "t", "servics": []}"#,
            path: "servics", fragment: "did you mean 'services'"),
    BadCase(name: "services not an array", text: #"{"apiVersion": "lvsctl/v1", "name": "t", "services": {}}"#,
            path: "services", fragment: "must be an array"),
    BadCase(name: "root not an object", text: "[1, 2]", path: "", fragment: "must be an object"),
    BadCase(name: "typo in a service", text: doc(svc(#""shceduler": "rr""#)), path: "services[0].shceduler",
            fragment: "did you mean 'scheduler'", line: 4),
    BadCase(name: "unknown scheduler", text: doc(svc(#""scheduler": "wrrr""#)), path: "services[0].scheduler",
            fragment: "known schedulers: rr, wrr, lc, wlc", line: 4),
    BadCase(name: "weight too large", text: doc(svc(rs: #"{"address": "10.0.0.2", "weight": 70000}"#)),
            path: "services[0].realServers[0].weight", fragment: "use a weight from 0 to 65535", line: 4),
    BadCase(name: "negative weight", text: doc(svc(rs: #"{"address": "10.0.0.2", "weight": -1}"#)),
            path: "services[0].realServers[0].weight", fragment: "-1 is out of range (0-65535)"),
    BadCase(name: "weight as a string", text: doc(svc(rs: #"{"address": "10.0.0.2", "weight": "3"}"#)),
            path: "services[0].realServers[0].weight", fragment: "must be a whole number, not a string"),
    BadCase(name: "fractional weight", text: doc(svc(rs: #"{"address": "10.0.0.2", "weight": 1.5}"#)),
            path: "services[0].realServers[0].weight", fragment: "1.5 is not a whole number"),
    BadCase(name: "huge weight", text: doc(svc(rs: #"{"address": "10.0.0.2", "weight": 99999999999999999999}"#)),
            path: "services[0].realServers[0].weight", fragment: "99999999999999999999 is out of range"),
    BadCase(name: "seed mistake: DR port mapping", text: doc(svc(rs: #"{"address": "10.65.32.14", "port": 80}"#, port: 443)),
            path: "services[0].realServers[0].port", fragment: "dr forwarding cannot map ports", line: 4),
    BadCase(name: "tunnel port mapping",
            text: doc(svc(#""forwarding": "tunnel""#, rs: #"{"address": "10.0.0.2", "port": 8080}"#)),
            path: "services[0].realServers[0].port", fragment: "use port 80"),
    BadCase(name: "fwmark DR real server with a port",
            text: doc(#"{"name": "m", "fwmark": 5, "realServers": [{"address": "10.0.0.2", "port": 8080}]}"#),
            path: "services[0].realServers[0].port", fragment: "must be 0 or absent"),
    BadCase(name: "fwmark 0", text: doc(#"{"name": "m", "fwmark": 0, "realServers": []}"#),
            path: "services[0].fwmark", fragment: "use a firewall mark from 1"),
    BadCase(name: "fwmark with protocol", text: doc(#"{"name": "m", "fwmark": 5, "protocol": "tcp", "realServers": []}"#),
            path: "services[0].protocol", fragment: "cannot be combined with 'fwmark'"),
    BadCase(name: "family on an address service", text: doc(svc(#""family": "ipv4""#)),
            path: "services[0].family", fragment: "only for fwmark services"),
    BadCase(name: "no identity", text: doc(#"{"name": "s", "realServers": []}"#), path: "services[0]", fragment: "no identity"),
    BadCase(name: "duplicate service identity", text: doc(svc() + ",\n" + svc().replacingName("s2")),
            path: "services[1]", fragment: "declared twice (first as services[0] 's')", line: 5),
    BadCase(name: "duplicate service names",
            text: doc(svc() + ",\n" + svc(port: 81)), path: "services[1].name", fragment: "duplicate service name 's'", line: 5),
    BadCase(name: "duplicate real servers", text: doc(svc(rs: rsDR + ", " + rsDR)),
            path: "services[0].realServers[1]", fragment: "duplicate real server 10.0.0.2:80"),
    BadCase(name: "mixed family without tunnel", text: doc(svc(rs: #"{"address": "2001:db8::2"}"#)),
            path: "services[0].realServers[0].address", fragment: "needs tunnel forwarding"),
    BadCase(name: "sh flag with wrr", text: doc(svc(#""scheduler": "wrr", "schedulerFlags": ["sh-fallback"]"#)),
            path: "services[0].schedulerFlags[0]", fragment: "flag of the sh scheduler"),
    BadCase(name: "unknown scheduler flag", text: doc(svc(#""scheduler": "sh", "schedulerFlags": ["sh-fallbak"]"#)),
            path: "services[0].schedulerFlags[0]", fragment: "did you mean 'sh-fallback'"),
    BadCase(name: "scheduler flag twice", text: doc(svc(#""scheduler": "sh", "schedulerFlags": ["sh-fallback", "flag-1"]"#)),
            path: "services[0].schedulerFlags[1]", fragment: "given twice"),
    BadCase(name: "GUE without port",
            text: doc(svc(#""forwarding": "tunnel", "tunnel": {"type": "gue"}"#)),
            path: "services[0].tunnel.port", fragment: "GUE needs"),
    BadCase(name: "IPIP with a checksum",
            text: doc(svc(#""forwarding": "tunnel", "tunnel": {"type": "ipip", "checksum": "csum"}"#)),
            path: "services[0].tunnel.checksum", fragment: "no checksum option"),
    BadCase(name: "GRE with remcsum",
            text: doc(svc(#""forwarding": "tunnel", "tunnel": {"type": "gre", "checksum": "remcsum"}"#)),
            path: "services[0].tunnel.checksum", fragment: "unknown GRE checksum mode"),
    BadCase(name: "tunnel block with DR", text: doc(svc(#""tunnel": {"type": "ipip"}"#)),
            path: "services[0].tunnel", fragment: "needs \"forwarding\": \"tunnel\""),
    BadCase(name: "GRE with a port",
            text: doc(svc(#""forwarding": "tunnel", "tunnel": {"type": "gre", "port": 6080}"#)),
            path: "services[0].tunnel.port", fragment: "only for GUE tunnels"),
    BadCase(name: "lower threshold above upper",
            text: doc(svc(rs: #"{"address": "10.0.0.2", "upperThreshold": 10, "lowerThreshold": 20}"#)),
            path: "services[0].realServers[0].lowerThreshold", fragment: "above upperThreshold 10"),
    BadCase(name: "lower threshold without upper",
            text: doc(svc(rs: #"{"address": "10.0.0.2", "lowerThreshold": 20}"#)),
            path: "services[0].realServers[0].lowerThreshold", fragment: "needs an upperThreshold"),
    BadCase(name: "port 0 without persistence", text: doc(svc(port: 0)), path: "services[0].port", fragment: "needs persistence"),
    BadCase(name: "prefixLength on IPv4", text: doc(svc(#""persistence": {"timeout": 60, "prefixLength": 24}"#)),
            path: "services[0].persistence.prefixLength", fragment: "use \"netmask\""),
    BadCase(name: "netmask on IPv6",
            text: doc(#"{"name": "s", "protocol": "tcp", "address": "2001:db8::1", "port": 80, "persistence": {"netmask": "255.255.255.0"}, "realServers": []}"#),
            path: "services[0].persistence.netmask", fragment: "prefixLength"),
    BadCase(name: "non-contiguous netmask", text: doc(svc(#""persistence": {"netmask": "255.0.255.0"}"#)),
            path: "services[0].persistence.netmask", fragment: "not contiguous"),
    BadCase(name: "prefixLength 129",
            text: doc(#"{"name": "s", "protocol": "tcp", "address": "2001:db8::1", "port": 80, "persistence": {"prefixLength": 129}, "realServers": []}"#),
            path: "services[0].persistence.prefixLength", fragment: "from 1 to 128"),
    BadCase(name: "onePacket on TCP", text: doc(svc(#""onePacket": true"#)), path: "services[0].onePacket", fragment: "only for UDP and fwmark"),
    BadCase(name: "unknown persistence engine", text: doc(svc(#""persistence": {}, "persistenceEngine": "http""#)),
            path: "services[0].persistenceEngine", fragment: "only persistence engine is \"sip\""),
    BadCase(name: "sip without persistence", text: doc(svc(#""persistenceEngine": "sip""#)),
            path: "services[0].persistenceEngine", fragment: "needs persistence"),
    BadCase(name: "timeout 0", text: doc("", settings: #"{"timeouts": {"tcp": 0}}"#),
            path: "settings.timeouts.tcp", fragment: "from 1 to 8589934"),
    BadCase(name: "timeout above the kernel limit", text: doc("", settings: #"{"timeouts": {"udp": 8589935}}"#),
            path: "settings.timeouts.udp", fragment: "out of range"),
    BadCase(name: "empty timeouts", text: doc("", settings: #"{"timeouts": {}}"#), path: "settings.timeouts", fragment: "is empty"),
    BadCase(name: "bad sync daemon state", text: doc("", settings: #"{"syncDaemons": [{"state": "primary", "interface": "eth0"}]}"#),
            path: "settings.syncDaemons[0].state", fragment: "unknown sync daemon state"),
    BadCase(name: "sync daemon interface too long",
            text: doc("", settings: #"{"syncDaemons": [{"state": "master", "interface": "averyveryverylongname0"}]}"#),
            path: "settings.syncDaemons[0].interface", fragment: "1 to 15 characters"),
    BadCase(name: "two master sync daemons",
            text: doc("", settings: #"{"syncDaemons": [{"state": "master", "interface": "eth0"}, {"state": "master", "interface": "eth1"}]}"#),
            path: "settings.syncDaemons[1].state", fragment: "second master"),
    BadCase(name: "sync group not multicast",
            text: doc("", settings: #"{"syncDaemons": [{"state": "backup", "interface": "eth0", "group": "10.0.0.1"}]}"#),
            path: "settings.syncDaemons[0].group", fragment: "not a multicast address"),
    BadCase(name: "sync daemon with a mixed-family real server",
            text: doc(svc(#""forwarding": "tunnel""#, rs: #"{"address": "2001:db8::2"}"#),
                      settings: #"{"syncDaemons": [{"state": "master", "interface": "eth0"}]}"#),
            path: "services[0].realServers[0].address", fragment: "sync daemon"),
    BadCase(name: "exec check without command", text: doc(svc(#""healthCheck": {"type": "exec"}"#)),
            path: "services[0].healthCheck.command", fragment: "missing required field"),
    BadCase(name: "http check without path", text: doc(svc(#""healthCheck": {"type": "http"}"#)),
            path: "services[0].healthCheck.path", fragment: "needs the URL path"),
    BadCase(name: "status code 600", text: doc(svc(#""healthCheck": {"type": "http", "path": "/", "statusCodes": [200, 600]}"#)),
            path: "services[0].healthCheck.statusCodes[1]", fragment: "from 100 to 599"),
    BadCase(name: "path on a tcp check", text: doc(svc(#""healthCheck": {"type": "tcp", "path": "/"}"#)),
            path: "services[0].healthCheck.path", fragment: "only for http and https"),
    BadCase(name: "insecureSkipVerify on http",
            text: doc(svc(#""healthCheck": {"type": "http", "path": "/", "insecureSkipVerify": true}"#)),
            path: "services[0].healthCheck.insecureSkipVerify", fragment: "only for https"),
    BadCase(name: "relative exec command", text: doc(svc(#""healthCheck": {"type": "exec", "command": ["check.sh"]}"#)),
            path: "services[0].healthCheck.command[0]", fragment: "absolute path"),
    BadCase(name: "bad digest", text: doc(svc(#""healthCheck": {"type": "http", "path": "/", "digest": "xyz"}"#)),
            path: "services[0].healthCheck.digest", fragment: "not an MD5 digest"),
    BadCase(name: "unknown health check type", text: doc(svc(#""healthCheck": {"type": "icmp"}"#)),
            path: "services[0].healthCheck.type", fragment: "unknown health check type"),
    BadCase(name: "interval 0", text: doc(svc(#""healthCheck": {"type": "tcp", "interval": 0}"#)),
            path: "services[0].healthCheck.interval", fragment: "out of range"),
    BadCase(name: "forwarding alias", text: doc(svc(#""forwarding": "masquerade""#)),
            path: "services[0].forwarding", fragment: "write 'nat'"),
    BadCase(name: "address with prefix length", text: doc(svc(rs: #"{"address": "10.0.0.2/24"}"#)),
            path: "services[0].realServers[0].address", fragment: "remove the prefix length"),
    BadCase(name: "unspecified VIP", text: doc(#"{"name": "s", "protocol": "tcp", "address": "0.0.0.0", "port": 80, "realServers": []}"#),
            path: "services[0].address", fragment: "unspecified address"),
    BadCase(name: "multicast real server", text: doc(svc(rs: #"{"address": "224.0.0.5"}"#)),
            path: "services[0].realServers[0].address", fragment: "multicast"),
    BadCase(name: "link-local real server",
            text: doc(#"{"name": "s", "protocol": "tcp", "address": "2001:db8::1", "port": 80, "realServers": [{"address": "fe80::1"}]}"#),
            path: "services[0].realServers[0].address", fragment: "link-local"),
    BadCase(name: "hysteresis without quorum", text: doc(svc(#""hysteresis": 1"#)),
            path: "services[0].hysteresis", fragment: "needs a quorum"),
    BadCase(name: "hysteresis not below quorum", text: doc(svc(#""quorum": 1, "hysteresis": 1"#)),
            path: "services[0].hysteresis", fragment: "must be below the quorum"),
    BadCase(name: "typo in a real server", text: doc(svc(rs: #"{"address": "10.0.0.2", "wieght": 2}"#)),
            path: "services[0].realServers[0].wieght", fragment: "did you mean 'weight'"),
    BadCase(name: "duplicate JSON key", text: doc(#"{"name": "s", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "port": 81, "realServers": []}"#),
            path: "services[0].port", fragment: "duplicate key 'port'", line: 4),
    BadCase(name: "sorry server port mapping with DR",
            text: doc(svc(#""sorryServer": {"address": "10.0.0.9", "port": 8080}"#)),
            path: "services[0].sorryServer.port", fragment: "cannot map ports"),
    BadCase(name: "fwmark check without a port",
            text: doc(#"{"name": "m", "fwmark": 5, "healthCheck": {"type": "tcp"}, "realServers": [{"address": "10.0.0.2"}]}"#),
            path: "services[0].healthCheck", fragment: "set healthCheck.port"),
    BadCase(name: "drain without timeout", text: doc(svc(#""drain": {}"#)), path: "services[0].drain.timeout", fragment: "missing required field"),
    BadCase(name: "unknown protocol", text: doc(#"{"name": "s", "protocol": "icmp", "address": "10.0.0.1", "port": 80, "realServers": []}"#),
            path: "services[0].protocol", fragment: "unknown protocol 'icmp'"),
    BadCase(name: "service not an object", text: doc("42"), path: "services[0]", fragment: "a service must be an object, not a number", line: 4),
    BadCase(name: "host name instead of an address", text: doc(svc(rs: #"{"address": "web1.example.com"}"#)),
            path: "services[0].realServers[0].address", fragment: "not an IPv4 or IPv6 address"),
]

extension String {
    /// Replaces the service name `"s"` produced by `svc()`.
    func replacingName(_ name: String) -> String {
        replacingOccurrences(of: #""name": "s""#, with: #""name": "\#(name)""#)
    }
}

@Suite("Bad manifests")
struct BadManifestTests {
    @Test("each bad manifest is rejected with the expected path, message and line", arguments: badCases)
    func rejected(_ c: BadCase) {
        let result = parse(c.text)
        #expect(result.state == nil, "\(c.name): should be rejected")
        let matching = result.diagnostics.errors.filter { d in
            d.path == c.path && (d.message + " " + (d.hint ?? "")).lowercased().contains(c.fragment.lowercased())
        }
        #expect(!matching.isEmpty, "\(c.name): no error at \(c.path) containing '\(c.fragment)'; got:\n\(result.diagnostics.map(\.description).joined(separator: "\n"))")
        if let line = c.line, let d = matching.first {
            #expect(d.line == line, "\(c.name): expected line \(line), got \(d.line.map(String.init) ?? "none")")
        }
        for d in result.diagnostics {
            #expect(d.file == "test.json")
        }
    }

    @Test func thereAreAtLeastFortyCases() {
        #expect(badCases.count >= 40)
        #expect(Set(badCases.map(\.name)).count == badCases.count)
    }

    @Test func collectsEveryProblemInsteadOfStoppingAtTheFirst() {
        let text = doc(
            svc(#""scheduler": "bogus", "onePacket": true"#, rs: #"{"address": "10.0.0.2", "weight": 70000, "port": 81}"#)
                + ",\n" + #"{"name": "s", "fwmark": 0, "realServers": [{"address": "nope"}]}"#,
            settings: #"{"timeouts": {"tcp": 0}}"#)
        let result = parse(text)
        let paths = Set(result.diagnostics.errors.map(\.path))
        for expected in [
            "services[0].scheduler", "services[0].onePacket", "services[0].realServers[0].weight",
            "services[0].realServers[0].port", "services[1].name", "services[1].fwmark",
            "services[1].realServers[0].address", "settings.timeouts.tcp",
        ] {
            #expect(paths.contains(expected), "missing \(expected) in \(paths.sorted())")
        }
        #expect(result.state == nil)
    }

    @Test func diagnosticsRenderWithFileLineColumnPathAndHint() throws {
        let result = parse(doc(svc(rs: #"{"address": "10.0.0.2", "weight": 70000}"#)))
        let d = try #require(result.diagnostics.errors.first)
        #expect(d.description == "test.json:4:119: error: services[0].realServers[0].weight: 70000 is out of range (0-65535); use a weight from 0 to 65535")
    }

    @Test func missingKernelModuleIsAnErrorOnlyWithCapabilities() {
        let text = doc(svc(#""scheduler": "mh""#))
        let caps = KernelCapabilities(availableSchedulers: [.rr, .wrr, .wlc], availablePersistenceEngines: [])
        let withCaps = parse(text, capabilities: caps)
        #expect(withCaps.state == nil)
        #expect(withCaps.diagnostics.errors.contains {
            $0.path == "services[0].scheduler"
                && $0.message == "scheduler 'mh' needs kernel module ip_vs_mh, which is neither loaded nor installed"
        })
        #expect(parse(text).state != nil, "offline validation skips the module check")
        let defaultScheduler = parse(doc(svc()), capabilities: KernelCapabilities(availableSchedulers: [.rr]))
        #expect(defaultScheduler.diagnostics.errors.contains { $0.message.contains("ip_vs_wlc") })
        let sip = parse(doc(svc(#""persistence": {}, "persistenceEngine": "sip""#)), capabilities: caps)
        #expect(sip.diagnostics.errors.contains { $0.message.contains("ip_vs_pe_sip") })
    }

    @Test func ownershipConflictNamesBothManifests() throws {
        let state = try #require(parse(doc(svc())).state)
        let id = state.services[0].service.id
        let conflicts = Manifest.ownershipConflicts(state, owners: [id: "other"], file: "t.json")
        #expect(conflicts.count == 1)
        let d = try #require(conflicts.first)
        #expect(d.severity == .error && d.path == "services[0]")
        #expect(d.message.contains("'other'") && d.message.contains("'t'") && d.message.contains("tcp/10.0.0.1:80"))
        #expect(Manifest.ownershipConflicts(state, owners: [id: "t"]).isEmpty)
        #expect(Manifest.ownershipConflicts(state, owners: [:]).isEmpty)
    }
}
