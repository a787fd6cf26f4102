import LVSModel
import Testing

@testable import LVSRollout

@Suite struct InventoryTests {
    func decode(_ text: String) -> Result<Inventory, InventoryError> {
        Inventory.decode(Array(text.utf8), file: "inv.json")
    }

    @Test func theIssueExampleDecodes() throws {
        let inv = try decode("""
            { "apiVersion": "lvsctl/v1", "kind": "Inventory",
              "directors": [
                { "name": "d1", "ssh": "root@10.30.0.11", "node": "d1", "pair": "p1" },
                { "name": "d2", "ssh": "root@10.30.0.12", "node": "d2", "pair": "p1", "role": "backup" },
                { "name": "d3", "ssh": "root@10.30.0.13", "sshPort": 2222, "labels": { "site": "b" },
                  "remoteLvsctl": "/usr/local/sbin/lvsctl", "remoteDb": "/var/lib/lvsctl/x.db" }
              ] }
            """).get()
        #expect(inv.directors.map(\.name) == ["d1", "d2", "d3"])
        #expect(inv.directors[0].pair == "p1" && inv.directors[0].node == "d1" && inv.directors[0].role == nil)
        #expect(inv.directors[1].role == .backup)
        #expect(inv.directors[2].sshPort == 2222 && inv.directors[2].labels == ["site": "b"])
        #expect(inv.directors[2].remoteLvsctl == "/usr/local/sbin/lvsctl" && inv.directors[2].remoteDB == "/var/lib/lvsctl/x.db")
    }

    /// Each bad inventory: the JSON path and line of the problem, and words of the message.
    @Test(arguments: [
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "d1"}]}"#, "directors[0].ssh", 1, "missing ssh"),
        (#"{"apiVersion": "lvsctl/v2", "kind": "Inventory", "directors": []}"#, "apiVersion", 1, "lvsctl/v1"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Manifest", "directors": []}"#, "kind", 1, "Inventory"),
        ("{\"apiVersion\": \"lvsctl/v1\", \"kind\": \"Inventory\",\n \"directors\": [\n {\"name\": \"d1\", \"ssh\": \"h\", \"sshPort\": 70000}]}", "directors[0].sshPort", 3, "1 to 65535"),
        ("{\"apiVersion\": \"lvsctl/v1\", \"kind\": \"Inventory\",\n \"directors\": [\n {\"name\": \"d1\", \"ssh\": \"h\", \"sshport\": 22}]}", "directors[0].sshport", 3, "did you mean sshPort"),
        ("{\"apiVersion\": \"lvsctl/v1\", \"kind\": \"Inventory\", \"directors\": [\n{\"name\": \"d1\", \"ssh\": \"h\"},\n{\"name\": \"d1\", \"ssh\": \"g\"}]}", "directors[1].name", 3, "used twice"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "d1", "ssh": "-oProxyCommand=x"}]}"#, "directors[0].ssh", 1, "not a destination"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "d 1", "ssh": "h"}]}"#, "directors[0].name", 1, "characters"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "d1", "ssh": "h", "role": "master"}]}"#, "directors[0].role", 1, "role without pair"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "d1", "ssh": "h", "remoteDb": "x.db"}]}"#, "directors[0].remoteDb", 1, "absolute"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "d1", "ssh": "h", "labels": {"a": 1}}]}"#, "directors[0].labels.a", 1, "string"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": []}"#, "directors", 1, "empty"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "a", "ssh": "h", "pair": "p"}, {"name": "b", "ssh": "h", "pair": "p"}, {"name": "c", "ssh": "h", "pair": "p"}]}"#, "directors", nil, "3 members"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "a", "ssh": "h", "pair": "p", "role": "master"}, {"name": "b", "ssh": "h", "pair": "p", "role": "master"}]}"#, "directors", nil, "two masters"),
        (#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [}"#, "", 1, ""),
    ] as [(String, String, Int?, String)])
    func badInventory(_ text: String, _ path: String, _ line: Int?, _ words: String) throws {
        guard case .failure(let e) = decode(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        let d = try #require(e.diagnostics.first { $0.severity == .error })
        #expect(d.file == "inv.json")
        #expect(d.path == path, "\(d)")
        if let line { #expect(d.line == line, "\(d)") }
        #expect(d.description.contains(words), "\(d)")
    }

    @Test func everyProblemIsReportedNotOnlyTheFirst() {
        guard case .failure(let e) = decode(#"{"apiVersion": "lvsctl/v1", "kind": "Inventory", "directors": [{"name": "d1"}, {"ssh": "h"}, 7]}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(e.diagnostics.map(\.path) == ["directors[0].ssh", "directors[1].name", "directors[2]"])
    }

    @Test func theExampleInventoryFileIsValid() throws {
        let path = CLIPaths.root + "/Manifests/inventories/example.json"
        let inv = try Inventory.load(path: path).get()
        #expect(inv.directors.count >= 3)
    }
}

enum CLIPaths {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()
}
