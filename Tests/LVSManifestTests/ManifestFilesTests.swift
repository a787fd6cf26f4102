import Foundation
import LVSManifest
import LVSModel
import Testing

@Suite("Manifests/ directory, canonical form and schema")
struct ManifestFilesTests {
    @Test("every file in Manifests/ validates and round-trips", arguments: manifestFiles())
    func validates(_ name: String) throws {
        let r = Manifest.load(path: manifestsDirectory + "/" + name)
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics.map(\.description))")
        #expect(r.diagnostics.isEmpty, "shipped manifests should have no warnings either")
        let state = try #require(r.state)
        #expect(try Manifest.decode(canonicalJSON: r.canonicalJSON) == state)
        #expect(Manifest.encode(state) == r.canonicalJSON)
        let again = Manifest.parse(Array(r.canonicalJSON.utf8), file: "canonical")
        #expect(again.canonicalJSON == r.canonicalJSON && again.contentHash == r.contentHash)
        #expect(r.contentHash == SHA256.hex(Array(r.canonicalJSON.utf8)))
        // In pieces (how a revision is stored): the same bytes and hash at every piece size,
        // each piece but the last full.
        #expect(Manifest.contentHash(state) == r.contentHash)
        for size in [1, 7, 64, 100, 4096, 1 << 20] {
            var pieces: [[UInt8]] = []
            Manifest.encode(state, chunkSize: size) { pieces.append(Array($0)) }
            #expect(String(decoding: pieces.joined(), as: UTF8.self) == r.canonicalJSON, "pieces of \(size)")
            #expect(pieces.dropLast().allSatisfy { $0.count == max(size, 64) }, "pieces of \(size)")
        }
    }

    @Test func manifestsDirectoryHasTheExamples() {
        let files = Set(manifestFiles())
        for f in ["demo.json", "seed-dr-director.json", "seed-mixed-dr-tun.json", "seed-persistence.json", "full-featured.json"] {
            #expect(files.contains(f))
        }
    }

    @Test func demoIsExactlyTheAgreedContent() throws {
        let state = try #require(Manifest.load(path: manifestsDirectory + "/demo.json").state)
        #expect(state.manifest == "demo")
        #expect(state.settings == GlobalSettings())
        let spec = try #require(state.services.first)
        #expect(state.services.count == 1 && spec.name == "web")
        #expect(spec.service == VirtualService(id: .address(.tcp, .v4(0x0A0A_0064), port: 80), scheduler: .wrr))
        #expect(spec.healthCheck == HealthCheck(type: .tcp, port: 80))
        #expect(spec.realServers.map(\.server) == [
            RealServer(id: RealServer.ID(address: .v4(0x0A0A_000B), port: 80), forwarding: .directRoute, weight: 3),
            RealServer(id: RealServer.ID(address: .v4(0x0A0A_000C), port: 80), forwarding: .directRoute, weight: 1),
        ])
    }

    @Test func seedDirectorFixesThePortMistake() throws {
        let state = try #require(Manifest.load(path: manifestsDirectory + "/seed-dr-director.json").state)
        #expect(state.services.count == 4)
        for spec in state.services {
            #expect(spec.service.scheduler == .rr)
            for rs in spec.realServers {
                #expect(rs.server.id.port == spec.service.id.port && rs.server.weight == 100 && rs.server.forwarding == .directRoute)
            }
            #expect(spec.healthCheck?.connectTimeout == 3 && spec.healthCheck?.retry == 3)
            #expect(spec.healthCheck?.delayBeforeRetry == 3 && spec.healthCheck?.interval == 6)
        }
        // The original mistake is rejected with a pointed message.
        let original = doc(svc(rs: #"{"address": "10.65.32.13", "port": 443}, {"address": "10.65.32.14", "port": 80}"#, port: 443))
        #expect(parse(original).diagnostics.errors.contains { $0.path == "services[0].realServers[1].port" })
    }

    @Test func seedMixedAndPersistence() throws {
        let mixed = try #require(Manifest.load(path: manifestsDirectory + "/seed-mixed-dr-tun.json").state)
        #expect(mixed.services[0].realServers.map(\.server.forwarding) == [.directRoute, .tunnel])
        let sticky = try #require(Manifest.load(path: manifestsDirectory + "/seed-persistence.json").state)
        let v = sticky.services[0].service
        #expect(v.id == .address(.tcp, .v4(0xC0A8_0A0A), port: 80) && v.scheduler == .wrr)
        #expect(v.flags == .persistent && v.timeout == 3600 && v.netmask == 0xFFFF_FFFF)
    }

    @Test func hashIgnoresWhitespaceKeyOrderAndDescriptions() throws {
        let text = try String(contentsOfFile: manifestsDirectory + "/demo.json", encoding: .utf8)
        let base = parse(text)
        var minified = ""
        var inString = false, escaped = false
        for ch in text {
            if inString {
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                minified.append(ch)
            } else if ch == "\"" {
                inString = true
                minified.append(ch)
            } else if !ch.isWhitespace {
                minified.append(ch)
            }
        }
        let spread = minified.replacingOccurrences(of: ",", with: " ,\n\t ").replacingOccurrences(of: ":", with: " :  ")
        let reordered = #"{"services": [{"realServers": [{"weight": 3, "port": 80, "address": "10.10.0.11"}, {"address": "10.10.0.12", "weight": 1, "port": 80}], "healthCheck": {"port": 80, "type": "tcp"}, "forwarding": "dr", "scheduler": "wrr", "port": 80, "address": "10.10.0.100", "protocol": "tcp", "name": "web", "description": "comments do not count"}], "name": "demo", "apiVersion": "lvsctl/v1"}"#
        let explicitDefaults = text.replacingOccurrences(of: #""weight": 1 }"#, with: #""weight": 1, "upperThreshold": 0 }"#)
        #expect(explicitDefaults != text)
        for variant in [minified, spread, reordered, explicitDefaults] {
            let r = parse(variant)
            #expect(r.state != nil)
            #expect(r.contentHash == base.contentHash)
        }
        let changed = parse(text.replacingOccurrences(of: #""weight": 3"#, with: #""weight": 4"#))
        #expect(changed.state != nil && changed.contentHash != base.contentHash)
    }

    @Test func decodeOfInvalidCanonicalTextThrowsWithDiagnostics() {
        #expect(throws: ManifestError.self) { try Manifest.decode(canonicalJSON: "{") }
    }

    @Test func loadReportsMissingFiles() {
        let r = Manifest.load(path: "/nonexistent/manifest.json")
        #expect(r.state == nil && r.diagnostics.errors.first?.file == "/nonexistent/manifest.json")
    }

    // MARK: - Schema

    private func schema() throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: manifestsDirectory + "/lvsctl-v1.schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func schemaListsExactlyTheDecoderFields() throws {
        let s = try schema()
        #expect(s["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let defs = try #require(s["$defs"] as? [String: Any])
        #expect(Set(defs.keys) == Set(ManifestFields.byDefinition.keys))
        for (name, fields) in ManifestFields.byDefinition {
            let def = try #require(defs[name] as? [String: Any], "missing $defs/\(name)")
            #expect(def["additionalProperties"] as? Bool == false, "\(name) must forbid additional properties")
            let props = try #require(def["properties"] as? [String: Any])
            #expect(Set(props.keys) == Set(fields), "\(name): schema \(props.keys.sorted()) vs decoder \(fields.sorted())")
        }
    }

    @Test func everyManifestValidatesAgainstTheSchemaWithPythonJsonschema() throws {
        let script = """
            import json, sys, glob, os
            try:
                import jsonschema
            except ImportError:
                print("MISSING: python3 module jsonschema is not installed; install python3-jsonschema to run this check")
                sys.exit(3)
            d = sys.argv[1]
            schema = json.load(open(os.path.join(d, "lvsctl-v1.schema.json")))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            bad = 0
            files = sorted(f for f in glob.glob(os.path.join(d, "*.json")) if not f.endswith(".schema.json"))
            for f in files:
                for e in v.iter_errors(json.load(open(f))):
                    bad += 1
                    print(f, list(e.path), e.message)
            # The schema must also reject typos and wrong types.
            for doc in [{"apiVersion": "lvsctl/v1", "name": "t", "services": [], "servics": []},
                        {"apiVersion": "lvsctl/v1", "name": "t", "services": [{"name": "s", "fwmark": 1, "realServers": [{"address": "10.0.0.1", "weight": 70000}]}]}]:
                if v.is_valid(doc):
                    bad += 1
                    print("schema accepted a bad document", doc)
            print("checked", len(files))
            sys.exit(1 if bad else 0)
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, manifestsDirectory]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 3, "\(text)")
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("checked \(manifestFiles().count)"), "\(text)")
    }
}
