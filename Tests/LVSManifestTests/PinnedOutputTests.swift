import Foundation
import LVSManifest
import LVSModel
import Testing

/// Everything `Manifest.parse` tells a caller, as one text: the canonical form, the content hash,
/// and every diagnostic with all its fields. Two parsers that agree on this agree on everything.
private func fingerprint(_ r: ManifestResult) -> String {
    var s = "state: \(r.state == nil ? "nil" : "set")\nhash: \(r.contentHash)\n"
    for d in r.diagnostics {
        s += "\(d.severity)|\(d.file ?? "-")|\(d.path)|\(d.line.map(String.init) ?? "-")|\(d.column.map(String.init) ?? "-")"
        s += "|\(d.message)|\(d.hint ?? "-")\n"
    }
    return s + r.canonicalJSON
}

private func digest(_ texts: [String]) -> String {
    SHA256.hex(Array(texts.joined(separator: "\n\u{1}\n").utf8))
}

/// A manifest in the shape of Tests/Bench/gen.py (schedulers, forwarding methods, TCP and UDP,
/// persistence on every seventh service) plus the rarer features every few services: fwmark,
/// IPv6, tunnels of each type, health checks of each type, sorry servers, drain, quorum,
/// descriptions, escapes, and settings. Unless `valid`, it keeps a few cross-field mistakes
/// (sorry-server ports and health checks without a port on fwmark services, IPv4 sorry servers
/// behind IPv6 services), which the tests of invalid input rely on.
func generatedManifest(services: Int, realServers: Int, valid: Bool = false) -> String {
    let schedulers = ["rr", "wrr", "wlc", "sh", "mh"]
    let forwarding = ["dr", "nat", "tunnel"]
    var s = #"{"apiVersion":"lvsctl/v1","name":"bench","description":"caf\u00e9 \"quoted\" \ud83d\ude00","services":["#
    for i in 0..<services {
        if i > 0 { s += "," }
        let proto = i % 4 == 3 ? "udp" : "tcp"
        let port = 80 + (i % 3) * 363
        let sched = schedulers[i % schedulers.count]
        let fwd = forwarding[(i / 5) % forwarding.count]
        let v6 = i % 11 == 5
        s += #"{"name":"svc\#(i)","#
        if i % 13 == 6 {
            s += #""fwmark":\#(i + 1),"family":"\#(v6 ? "ipv6" : "ipv4")","#
        } else if v6 {
            s += #""protocol":"\#(proto)","address":"2001:db8:\#(String(i, radix: 16))::1","port":\#(port),"#
        } else {
            s += #""protocol":"\#(proto)","address":"10.\#(100 + i / 65536).\#((i / 256) % 256).\#(i % 256)","port":\#(port),"#
        }
        s += #""scheduler":"\#(sched)","forwarding":"\#(fwd)","#
        if sched == "sh" && i % 2 == 0 { s += #""schedulerFlags":["sh-fallback","sh-port"],"# }
        if sched == "mh" && i % 2 == 1 { s += #""schedulerFlags":["mh-port"],"# }
        if i % 7 == 0 { s += v6 ? #""persistence":{"timeout":300,"prefixLength":64},"# : #""persistence":{"timeout":300},"# }
        if i % 7 == 1 { s += v6 ? #""persistence":{},"# : #""persistence":{"timeout":60,"netmask":"255.255.255.0"},"# }
        if valid && i % 28 == 7 { s += #""persistenceEngine":"sip","# }
        if fwd == "tunnel" {
            s += [#""tunnel":{"type":"gue","port":6080,"checksum":"remcsum"},"#, #""tunnel":{"type":"gre","checksum":"csum"},"#,
                  #""tunnel":{"type":"ipip"},"#][i % 3]
        }
        if i % 9 == 2 && proto == "tcp" { s += #""drain":{"timeout":\#(i % 600)},"# }
        let checkPort = valid && i % 13 == 6 ? #","port":8080"# : ""
        switch i % 6 {
        case 0: s += #""healthCheck":{"type":"tcp","port":443,"connectTimeout":1.5,"interval":2.25,"alpha":true},"#
        case 1: s += #""healthCheck":{"type":"http","path":"/h\/z?a=1\u0026b","statusCodes":[200,301,200],"host":"www.example.com","digest":"0123456789ABCDEF0123456789abcdef","retry":3,"rise":2,"fall":4\#(checkPort)},"#
        case 2: s += #""healthCheck":{"type":"https","path":"/","insecureSkipVerify":true,"delayBeforeRetry":0.5e1\#(checkPort)},"#
        case 3: s += #""healthCheck":{"type":"exec","command":["/usr/bin/check","--svc=\#(i)","\t"],"connectTimeout":10,"interval":5},"#
        default: break
        }
        if i % 8 == 3 {
            let sorry = valid && v6 ? "2001:db8:200::\(String(i, radix: 16))" : "10.200.\(i % 256).1"
            let sorryPort = fwd == "nat" ? 8080 : (valid && i % 13 == 6 ? 0 : port)
            s += #""sorryServer":{"address":"\#(sorry)","port":\#(sorryPort)},"#
        }
        if i % 10 == 4 { s += #""quorum":\#(realServers),"hysteresis":1,"inhibitOnFailure":true,"# }
        if i % 12 == 0 { s += #""onePacket":\#(proto == "udp"),"description":"line\nbreak","# }
        s += #""realServers":["#
        for j in 0..<realServers {
            if j > 0 { s += "," }
            let k = i * realServers + j
            let address = v6 ? "2001:db8:\(String(i, radix: 16)):1::\(String(j + 1, radix: 16))"
                : "172.\(16 + k / 65536 % 16).\((k / 254) % 256).\(k % 254 + 1)"
            s += #"{"address":"\#(address)","port":\#(fwd == "nat" ? 8000 + j : (i % 13 == 6 ? 0 : port)),"weight":\#(1 + k % 5)"#
            if k % 17 == 0 { s += #","upperThreshold":\#(k + 10),"lowerThreshold":\#(k % 10)"# }
            if k % 19 == 0 && fwd == "tunnel" { s += #","tunnel":{"type":"gre","checksum":"nocsum"}"# }
            if k % 23 == 0 && i % 13 != 6 { s += #","healthCheck":{"type":"tcp","rise":1}"# }
            if k % 29 == 0 { s += #","description":"rs \#(k)""# }
            s += "}"
        }
        s += "]}"
    }
    s += #"],"settings":{"timeouts":{"tcp":900,"tcpFin":120,"udp":300},"#
    s += #""syncDaemons":[{"state":"master","interface":"eth1","syncId":7,"group":"224.0.0.81","port":8848,"ttl":1},"#
    s += #"{"state":"backup","interface":"eth2","maxLength":1400}]}}"#
    return s
}

/// Pins what manifest loading produces today, so that work on the parser, the decoder, the
/// canonical writer or SHA-256 can prove it changed nothing: canonical forms and content hashes
/// byte for byte, and every diagnostic with its file, path, line, column, message and hint.
@Suite("Pinned output of manifest loading")
struct PinnedOutputTests {
    @Test func generatedManifestCanonicalFormAndHash() throws {
        let text = generatedManifest(services: 300, realServers: 4, valid: true)
        let r = Manifest.parse(Array(text.utf8), file: "gen.json")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics.prefix(5).map(\.description))")
        #expect(r.state?.services.count == 300)
        #expect(r.contentHash == "c0433ea204f267802604aa2503fc23fb3d0b3487bc3fc6d3d09d40066ac69bbe")
        #expect(SHA256.hex(Array(r.canonicalJSON.utf8)) == r.contentHash)
        #expect(digest([fingerprint(r)]) == "44d741d0af3d3bb2f237afb7d0b902dd5072087786c222178064a54577ec27a0")
        #expect(try Manifest.decode(canonicalJSON: r.canonicalJSON) == r.state)
    }

    @Test func shippedManifests() throws {
        // The files that have no vrrp section keep their digest from before the section existed;
        // the pair example (the first with one) is pinned on its own.
        let files = manifestFiles()
        let all = files.filter { $0 != "director-pair.json" }.map { fingerprint(Manifest.load(path: manifestsDirectory + "/" + $0)) }
        #expect(all.count >= 5)
        #expect(digest(all) == "56f76cda489c55ec293a77ff61fb826b49a3df95818b15def8f486240d3601d0")
        #expect(files.contains("director-pair.json"))
        let pair = fingerprint(Manifest.load(path: manifestsDirectory + "/director-pair.json"))
        #expect(digest([pair]) == "0651592352309ecf436c9e409e2bcb60b48d68a65ce54e609c3d4b15560e0537")
    }

    @Test func badAndHostileManifestDiagnostics() {
        var all = badCases.map { fingerprint(parse($0.text)) }
        all += robustCases.map { fingerprint(Manifest.parse($0.bytes, file: "x.json")) }
        #expect(digest(all) == "7227f01850a2d1a733f41e55bcb39d5e2d2d09e2259a3a7e081d0208659faf9a")
    }

    /// Errors everywhere at once: every diagnostic and the normalised text of the invalid input.
    @Test func generatedManifestWithErrors() {
        var text = generatedManifest(services: 40, realServers: 3)
        for (from, to) in [(#""weight":2"#, #""weight":70000"#), (#""scheduler":"rr""#, #""scheduler":"rrr""#),
                           (#""port":443,"#, #""port":1e400,"#), (#""address":"172.16.0.3""#, #""address":"172.16.0.300""#),
                           (#""tcp":900"#, #""tcp":-1.25E+2,"tcpFin":[1,{"x":null}],"extra":"\u0000""#),
                           (#""type":"gre""#, #""type":"gue""#), (#""name":"svc7""#, #""name":"svc 7""#)] {
            text = text.replacingOccurrences(of: from, with: to)
        }
        let r = Manifest.parse(Array(text.utf8), file: "bad.json")
        #expect(r.state == nil)
        #expect(r.diagnostics.count > 20)
        #expect(digest([fingerprint(r)]) == "9a586548028eac6834bf5e3275a3102585be707953d7b2dba754c061d611688c")
    }

    /// Every prefix of a small manifest and a thousand seeded mutations of a large one.
    @Test func truncationsAndMutations() throws {
        let demo = try #require(FileManager.default.contents(atPath: manifestsDirectory + "/demo.json")).map { $0 }
        var all: [String] = []
        for n in 0...demo.count { all.append(fingerprint(Manifest.parse(Array(demo[0..<n]), file: "demo.json"))) }
        let base = Array(generatedManifest(services: 12, realServers: 2).utf8)
        var rng = SplitMix64(state: 0xC0FFEE)
        let alphabet = Array("{}[]\",:0123456789-.eE truefalsn\\u\n/".utf8) + [0x00, 0xC3, 0xA9, 0xFF, 0x80, 0xEF, 0xBB, 0xBF]
        for _ in 0..<1000 {
            var b = base
            for _ in 0..<(1 + rng.below(3)) {
                let i = rng.below(b.count)
                switch rng.below(3) {
                case 0: b[i] = alphabet[rng.below(alphabet.count)]
                case 1: b.remove(at: i)
                default: b.insert(alphabet[rng.below(alphabet.count)], at: i)
                }
            }
            all.append(fingerprint(Manifest.parse(b, file: "m.json")))
        }
        // Changed when messages began quoting values as escaped excerpts (#17): a mutation that
        // makes `\r`, `\t`, `\b` or `\f` escapes in a value now reads `\u{D}` in the message.
        #expect(digest(all) == "e6c35d65ece7485d612f59395ac245f56825101089aefc1bb2c9ce9b727c8317")
    }
}
