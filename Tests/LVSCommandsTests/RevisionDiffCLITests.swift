import Foundation
import LVSTestSupport
import Testing

@testable import LVSCommands

/// `lvsctl diff NAME@N NAME@M` and the `-m` message in `lvsctl history`, end to end against the
/// file-backed fake kernel.
@Suite struct RevisionDiffCLITests {
    let demo = CLIRunner.manifest("demo.json")

    /// demo@1 as shipped; demo@2 with web's first weight 3 → 7, a third real server, and a
    /// reordered realServers list (which is no change).
    func twoRevisions() throws -> CLIRunner {
        let cli = try CLIRunner(fakeKernel: true)
        var r = try cli.run(["apply", "-f", demo, "-m", "first cut"])
        #expect(r.status == 0, "\(r)")
        let text = try String(contentsOfFile: demo, encoding: .utf8)
            .replacingOccurrences(
                of: """
                        { "address": "10.10.0.11", "port": 80, "weight": 3 },
                        { "address": "10.10.0.12", "port": 80, "weight": 1 }
                """,
                with: """
                        { "address": "10.10.0.12", "port": 80, "weight": 1 },
                        { "address": "10.10.0.11", "port": 80, "weight": 7 },
                        { "address": "10.10.0.13", "port": 80 }
                """)
        #expect(text.contains("10.10.0.13"), "demo.json should list its real servers as this test expects")
        r = try cli.run(["apply", "-f", try cli.write("edited.json", text), "-m", "raise .11, add .13"])
        #expect(r.status == 0, "\(r)")
        return cli
    }

    @Test func diffNamesEachChangedFieldByKey() throws {
        let cli = try twoRevisions()
        let r = try cli.run(["diff", "demo@1", "demo@2"])
        #expect(r.status == 2, "differences exit 2: \(r)")
        #expect(r.stdout.contains("--- demo@1 ("), "\(r)")
        #expect(r.stdout.contains("\"first cut\""), "\(r)")
        #expect(r.stdout.contains("+++ demo@2 ("), "\(r)")
        #expect(r.stdout.contains("~ services[web].realServers[10.10.0.11:80].weight: 3 → 7"), "\(r)")
        #expect(r.stdout.contains("+ services[web].realServers[10.10.0.13:80]: {"), "\(r)")
        #expect(!r.stdout.contains("10.10.0.12"), "a moved, unchanged real server is no change: \(r)")
        #expect(r.stdout.contains("2 differences."), "\(r)")

        let json = try cli.run(["diff", "demo@1", "demo@2", "-o", "json"])
        #expect(json.status == 2, "\(json)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["kind"] as? String == "revisionDiff" && document["formatVersion"] as? Int == 1)
        let changes = try #require(document["changes"] as? [[String: Any]])
        #expect(changes.map { $0["change"] as? String ?? "" } == ["changed", "added"])
        #expect(changes.first?["before"] as? Int == 3 && changes.first?["after"] as? Int == 7)
        #expect((document["to"] as? [String: Any])?["message"] as? String == "raise .11, add .13")
    }

    @Test func sameRevisionsExitZeroAndLatestIsTheDefault() throws {
        let cli = try twoRevisions()
        let same = try cli.run(["diff", "demo@2", "demo"])
        #expect(same.status == 0, "\(same)")
        #expect(same.stdout.contains("No differences."), "\(same)")
        let toLatest = try cli.run(["diff", "demo@1"])
        #expect(toLatest.status == 2, "\(toLatest)")
        #expect(toLatest.stdout.contains("+++ demo@2"), "\(toLatest)")
    }

    @Test func unknownRevisionIsAnErrorNamingIt() throws {
        let cli = try twoRevisions()
        let r = try cli.run(["diff", "demo@1", "demo@9"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("no revision demo@9"), "\(r)")
        #expect(r.stderr.contains("lvsctl revisions"), "\(r)")
    }

    @Test func historyShowsEachRunsMessage() throws {
        let cli = try twoRevisions()
        let text = try cli.run(["history"])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("apply demo@2 by "), "\(text)")
        #expect(text.stdout.contains(": \"raise .11, add .13\""), "\(text)")
        #expect(text.stdout.contains(": \"first cut\""), "\(text)")

        let json = try cli.run(["history", "-o", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["formatVersion"] as? Int == 2)
        let runs = try #require(document["runs"] as? [[String: Any]])
        #expect(runs.compactMap { $0["message"] as? String } == ["first cut", "raise .11, add .13"])
        #expect(runs.compactMap { $0["revision"] as? Int } == [1, 2])
        let entries = try #require(document["entries"] as? [[String: Any]])
        let runIDs = Set(runs.compactMap { $0["id"] as? Int })
        #expect(entries.allSatisfy { runIDs.contains($0["run"] as? Int ?? -1) }, "every row's run is listed")
    }
}

/// The structural diff itself (pure).
@Suite struct ManifestDiffTests {
    func value(_ text: String) throws -> JSONValue { try #require(JSONValue(parsing: text)) }

    @Test func keyedListsIgnoreOrder() throws {
        let a = try value(#"{"services":[{"name":"a","port":1},{"name":"b","port":2}]}"#)
        let b = try value(#"{"services":[{"name":"b","port":2},{"name":"a","port":1}]}"#)
        #expect(ManifestDiff.changes(a, b).isEmpty)
    }

    @Test func unkeyedListsCompareWhole() throws {
        let a = try value(#"{"unicastPeers":["10.0.0.1","10.0.0.2"]}"#)
        let b = try value(#"{"unicastPeers":["10.0.0.2","10.0.0.1"]}"#)
        #expect(ManifestDiff.changes(a, b) == [.init(kind: .changed, path: "unicastPeers", before: a.member("unicastPeers"), after: b.member("unicastPeers"))])
    }

    @Test func duplicateKeysFallBackToWholeList() throws {
        let a = try value(#"{"services":[{"name":"a"},{"name":"a"}]}"#)
        let b = try value(#"{"services":[{"name":"a"}]}"#)
        #expect(ManifestDiff.changes(a, b).map(\.path) == ["services"])
    }

    @Test func ipv6RealServersAreBracketed() throws {
        let a = try value(#"{"services":[{"name":"w","realServers":[{"address":"2001:db8::1","port":80,"weight":1}]}]}"#)
        let b = try value(#"{"services":[{"name":"w","realServers":[{"address":"2001:db8::1","port":80,"weight":2}]}]}"#)
        #expect(ManifestDiff.changes(a, b).map(\.path) == ["services[w].realServers[[2001:db8::1]:80].weight"])
    }

    @Test func addedAndRemovedMembers() throws {
        let a = try value(#"{"description":"x","settings":{"tcpTimeout":900}}"#)
        let b = try value(#"{"settings":{"tcpTimeout":900,"udpTimeout":300}}"#)
        #expect(ManifestDiff.changes(a, b).map { "\($0.kind.rawValue) \($0.path)" } == ["removed description", "added settings.udpTimeout"])
    }
}

extension JSONValue {
    fileprivate func member(_ key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}
