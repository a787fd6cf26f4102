import LVSModel
import Testing

@testable import LVSInterop

/// One malformed keepalived.conf and the diagnostic it must produce.
struct MalformedCase: CustomStringConvertible, Sendable {
    var name: String
    var text: String
    var severity: Diagnostic.Severity
    var line: Int
    var fragment: String
    var description: String { name }
}

let vsHead = "virtual_server 192.0.2.1 80 {\nprotocol TCP\nlb_kind DR\n"

@Suite struct KeepalivedMalformedTests {
    static let cases: [MalformedCase] = [
        MalformedCase(name: "unclosed block", text: "virtual_server 192.0.2.1 80 {\nprotocol TCP\n", severity: .error, line: 1, fragment: "never closed"),
        MalformedCase(name: "extra close", text: "}\n", severity: .error, line: 1, fragment: "extra '}'"),
        MalformedCase(name: "stray open", text: "\n{\n}\n", severity: .error, line: 2, fragment: "without a keyword"),
        MalformedCase(name: "unterminated quote", text: vsHead + "real_server 10.0.0.1 80 {\nMISC_CHECK {\nmisc_path \"/bin/x\n}\n}\n}\n", severity: .error, line: 6, fragment: "unterminated quote"),
        MalformedCase(name: "bad vs address", text: "virtual_server web.example 80 {\n}\n", severity: .error, line: 1, fragment: "invalid virtual server address"),
        MalformedCase(name: "bad vs port", text: "virtual_server 192.0.2.1 http {\n}\n", severity: .error, line: 1, fragment: "invalid virtual server port"),
        MalformedCase(name: "missing vs args", text: "virtual_server {\n}\n", severity: .error, line: 1, fragment: "needs an address"),
        MalformedCase(name: "bad weight", text: vsHead + "real_server 10.0.0.1 80 {\nweight heavy\n}\n}\n", severity: .error, line: 5, fragment: "not a valid number"),
        MalformedCase(name: "weight out of range", text: vsHead + "real_server 10.0.0.1 80 {\nweight 4294967296\n}\n}\n", severity: .error, line: 5, fragment: "not a valid number"),
        MalformedCase(name: "missing argument", text: vsHead + "lb_algo\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .error, line: 4, fragment: "needs a value"),
        // keepalived ignores an invalid lb_algo and runs wlc: a warning, imported as wlc (KeepalivedDayTwoTests).
        MalformedCase(name: "bad scheduler", text: vsHead + "lb_algo fastest\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .warning, line: 4, fragment: "invalid scheduler"),
        MalformedCase(name: "bad lb_kind", text: "virtual_server 192.0.2.1 80 {\nlb_kind dr\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .error, line: 2, fragment: "unknown forwarding method"),
        MalformedCase(name: "gue without port", text: vsHead + "real_server 10.0.0.1 80 {\nlvs_method TUN type gue\n}\n}\n", severity: .error, line: 5, fragment: "gue tunnels require a port"),
        MalformedCase(name: "ipip with csum", text: vsHead + "real_server 10.0.0.1 80 {\nlvs_method TUN type ipip csum\n}\n}\n", severity: .error, line: 5, fragment: "ipip tunnels do not support"),
        MalformedCase(name: "bad timer", text: vsHead + "delay_loop -3\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .error, line: 4, fragment: "not a valid time"),
        MalformedCase(name: "bad digest", text: vsHead + "real_server 10.0.0.1 80 {\nHTTP_GET {\nurl {\npath /\ndigest xyz\n}\n}\n}\n}\n", severity: .error, line: 8, fragment: "not 32 hex digits"),
        MalformedCase(name: "bad status code", text: vsHead + "real_server 10.0.0.1 80 {\nHTTP_GET {\nurl {\npath /\nstatus_code 2000\n}\n}\n}\n}\n", severity: .error, line: 8, fragment: "invalid HTTP status code"),
        MalformedCase(name: "unknown keyword with block", text: vsHead + "health {\nx 1\n}\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .error, line: 4, fragment: "does not skip unknown blocks"),
        MalformedCase(name: "unknown keyword", text: vsHead + "colour blue\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .warning, line: 4, fragment: "unknown keyword 'colour'"),
        MalformedCase(name: "undefined group", text: "virtual_server group NOPE {\nprotocol TCP\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .error, line: 1, fragment: "is not defined"),
        MalformedCase(name: "bad group range", text: "virtual_server_group G {\n192.0.2.10-5 80\n}\n", severity: .error, line: 2, fragment: "not greater than the start"),
        MalformedCase(name: "huge group range", text: "virtual_server_group G {\n10.0.0.0/8 80\n}\n", severity: .error, line: 2, fragment: "more than 4096"),
        MalformedCase(name: "family mismatch", text: vsHead + "real_server 2001:db8::1 80 {\n}\n}\n", severity: .error, line: 4, fragment: "address families"),
        MalformedCase(name: "no real servers", text: vsHead + "}\n", severity: .warning, line: 1, fragment: "has no real servers"),
        MalformedCase(name: "duplicate real server", text: vsHead + "real_server 10.0.0.1 80 {\n}\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .warning, line: 6, fragment: "listed twice"),
        MalformedCase(name: "parameter definition", text: "$VIP=192.0.2.1\n", severity: .error, line: 1, fragment: "parameter definitions"),
        MalformedCase(name: "include without file", text: "include   \n", severity: .error, line: 1, fragment: "include without a file name"),
        MalformedCase(name: "ops on TCP", text: vsHead + "ops\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .warning, line: 1, fragment: "requires UDP"),
        MalformedCase(name: "zero port not persistent", text: "virtual_server 192.0.2.1 0 {\nprotocol TCP\nlb_kind NAT\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .warning, line: 1, fragment: "port 0 is only valid"),
        MalformedCase(name: "fwmark zero", text: "virtual_server fwmark 0 {\nreal_server 10.0.0.1 80 {\n}\n}\n", severity: .error, line: 1, fragment: "fwmark 0"),
        MalformedCase(name: "binary garbage", text: "virtual_server \u{1}\u{2} {{ }}} \"\n\u{7f}", severity: .error, line: 1, fragment: ""),
    ]

    @Test(arguments: cases) func malformedInputGivesDiagnosticWithLine(_ c: MalformedCase) {
        let r = kaImport(c.text)
        let hits = r.diagnostics.filter {
            $0.severity == c.severity && $0.line == c.line && (c.fragment.isEmpty || $0.message.contains(c.fragment))
        }
        #expect(!hits.isEmpty, "\(c.name): \(r.diagnostics.map(\.description))")
        #expect(hits.allSatisfy { $0.file == "/virtual/keepalived.conf" })
        if c.severity == .error { #expect(r.state == nil) }
    }
}
