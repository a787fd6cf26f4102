import Foundation
import LVSManifest
import LVSModel
import Testing

/// Hostile input: nothing may crash, and every rejected input yields at least one error.
struct RobustCase: CustomStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var fragment: String
    var line: Int? = nil
    var description: String { name }
}

let robustCases: [RobustCase] = [
    RobustCase(name: "empty file", bytes: [], fragment: "the input is empty"),
    RobustCase(name: "only whitespace", bytes: Array(" \n\t\n".utf8), fragment: "the input is empty"),
    RobustCase(name: "lone brace", bytes: Array("{".utf8), fragment: "expected a key"),
    RobustCase(name: "truncated inside services", bytes: Array(#"{"apiVersion": "lvsctl/v1", "name": "t", "services": ["#.utf8), fragment: "truncated"),
    RobustCase(name: "truncated string", bytes: Array("{\"apiVersion\": \"lvsc".utf8), fragment: "unterminated string"),
    RobustCase(name: "1e400", bytes: Array(doc(svc(rs: #"{"address": "10.0.0.2", "weight": 1e400}"#)).utf8), fragment: "not a whole number"),
    RobustCase(name: "1e400 seconds", bytes: Array(doc(svc(#""healthCheck": {"type": "tcp", "interval": 1e400}"#)).utf8), fragment: "out of range"),
    RobustCase(name: "20-digit number", bytes: Array(doc(svc(#""fwmark": 99999999999999999999"#)).utf8), fragment: "out of range"),
    RobustCase(name: "invalid UTF-8", bytes: Array("{\"name\": \"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8), fragment: "invalid UTF-8", line: 1),
    RobustCase(name: "overlong UTF-8", bytes: Array("{\n\"a\": \"".utf8) + [0xC0, 0x80] + Array("\"}".utf8), fragment: "invalid UTF-8", line: 2),
    RobustCase(name: "UTF-16 surrogate bytes", bytes: Array("\"".utf8) + [0xED, 0xA0, 0x80] + Array("\"".utf8), fragment: "invalid UTF-8"),
    RobustCase(name: "10,000 brackets", bytes: [UInt8](repeating: UInt8(ascii: "["), count: 10_000), fragment: "nesting deeper than 64"),
    RobustCase(name: "deep objects", bytes: Array(String(repeating: "{\"a\":", count: 5000).utf8), fragment: "nesting deeper"),
    RobustCase(name: "trailing garbage", bytes: Array((doc(svc()) + "x").utf8), fragment: "after the end of the JSON document"),
    RobustCase(name: "two documents", bytes: Array((doc(svc()) + "{}").utf8), fragment: "after the end"),
    RobustCase(name: "single quotes", bytes: Array("{'a': 1}".utf8), fragment: "expected a key"),
    RobustCase(name: "comment", bytes: Array("// hi\n{}".utf8), fragment: "no comments"),
    RobustCase(name: "trailing comma", bytes: Array(#"{"a": 1,}"#.utf8), fragment: "trailing comma"),
    RobustCase(name: "NUL in a string", bytes: Array("{\"a\": \"".utf8) + [0] + Array("\"}".utf8), fragment: "control character"),
    RobustCase(name: "lone surrogate escape", bytes: Array(#"{"name": "\ud800"}"#.utf8), fragment: "unpaired UTF-16 surrogate"),
    RobustCase(name: "leading zero", bytes: Array(#"{"a": 012}"#.utf8), fragment: "leading zeros"),
    RobustCase(name: "bare word", bytes: Array(#"{"a": True}"#.utf8), fragment: "unexpected 'T'"),
    RobustCase(name: "null manifest", bytes: Array("null".utf8), fragment: "must be an object"),
    RobustCase(name: "wrong types everywhere", bytes: Array(#"{"apiVersion": 1, "name": [], "services": [{"name": {}, "protocol": 6, "address": 10, "port": "80", "realServers": "none"}], "settings": []}"#.utf8), fragment: "must be"),
]

@Suite("Robustness")
struct RobustnessTests {
    @Test("hostile input gives a diagnostic, not a crash", arguments: robustCases)
    func hostile(_ c: RobustCase) {
        let r = Manifest.parse(c.bytes, file: "x.json")
        #expect(r.state == nil)
        let hit = r.diagnostics.errors.first { ($0.message + " " + ($0.hint ?? "")).contains(c.fragment) }
        #expect(hit != nil, "\(c.name): \(r.diagnostics.map(\.description))")
        if let line = c.line { #expect(hit?.line == line) }
    }

    @Test func byteOrderMarkIsAWarningOnly() throws {
        let r = Manifest.parse([0xEF, 0xBB, 0xBF] + Array(doc(svc()).utf8), file: "bom.json")
        #expect(r.state != nil)
        #expect(r.diagnostics.warnings.contains { $0.message.contains("byte order mark") && $0.line == 1 })
        #expect(r.contentHash == parse(doc(svc())).contentHash)
    }

    @Test func everyTruncationOfTheDemoIsRejected() throws {
        let bytes = try #require(FileManager.default.contents(atPath: manifestsDirectory + "/demo.json")).map { $0 }
        let end = bytes.lastIndex(of: UInt8(ascii: "}")) ?? bytes.count
        for n in 0..<end {
            let r = Manifest.parse(Array(bytes[0..<n]), file: "demo.json")
            #expect(r.state == nil && r.diagnostics.hasErrors, "prefix of \(n) bytes")
        }
    }

    @Test func randomMutationsNeverCrash() throws {
        let base = try #require(FileManager.default.contents(atPath: manifestsDirectory + "/full-featured.json")).map { $0 }
        var rng = SplitMix64(state: 0x5EED)
        let alphabet = Array("{}[]\",:0123456789-.eE truefalsn\\u\n".utf8) + [0x00, 0xC3, 0xFF, 0x80]
        var accepted = 0
        for _ in 0..<400 {
            var b = base
            for _ in 0..<(1 + rng.below(4)) {
                guard !b.isEmpty else { break }
                let i = rng.below(b.count)
                switch rng.below(4) {
                case 0: b[i] = alphabet[rng.below(alphabet.count)]
                case 1: b.remove(at: i)
                case 2: b.insert(alphabet[rng.below(alphabet.count)], at: i)
                default: b = Array(b[0..<i])
                }
            }
            let r = Manifest.parse(b, file: "fuzz.json")
            if r.state == nil {
                #expect(r.diagnostics.hasErrors)
            } else {
                accepted += 1
                #expect(!r.diagnostics.hasErrors)
            }
            #expect(r.contentHash.count == 64)
        }
        #expect(accepted < 400, "mutations must be rejected sometimes")
    }
}
