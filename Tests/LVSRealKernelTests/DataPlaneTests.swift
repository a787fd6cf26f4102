import Foundation
import LVSTestSupport
import Testing

/// Real traffic through a real director: what lvsctl's edits do to live connections.
@Suite(.serialized) struct DataPlaneTests {
    /// A DR service on the lab VIP with the given real servers (name, weight).
    func manifest(_ servers: [(String, Int)]) -> String {
        let rs = servers.map { "{ \"address\": \"\($0.0)\", \"port\": 80, \"weight\": \($0.1) }" }
        return """
            {
              "apiVersion": "lvsctl/v1",
              "name": "dataplane",
              "services": [
                {
                  "name": "echo", "protocol": "tcp", "address": "\(DataPlaneLab.vip)", "port": 80,
                  "scheduler": "wrr", "forwarding": "dr", "drain": { "timeout": 300 },
                  "realServers": [ \(rs.joined(separator: ", ")) ]
                }
              ],
              "settings": { "timeouts": { "tcp": 900, "tcpFin": 2, "udp": 300 } }
            }
            """
    }

    func auditRows(_ cli: CLIRunner) throws -> [[String: Any]] {
        let r = try cli.run(["history", "--output", "json", "--limit", "1000"])
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]] ?? []
    }

    @Test func aLiveConnectionSurvivesAWeightChange() throws {
        let lab = try DataPlaneLab()
        defer { lab.close() }
        let cli = try CLIRunner(fakeKernel: false)
        cli.commonArguments = ["--netns", lab.director]
        let first = try cli.run(["apply", "-f", try cli.write("w1.json", manifest([("10.10.0.11", 1)]))])
        #expect(first.status == 0, "\(first)")
        try lab.startClient()
        #expect(try lab.connectedTo() == "r1")
        try lab.waitFor("3 pongs", timeout: 30) { lab.pongs >= 3 }
        let rowsBefore = try auditRows(cli).count

        let edit = try cli.run(["apply", "-f", try cli.write("w5.json", manifest([("10.10.0.11", 5)]))])
        #expect(edit.status == 0, "\(edit)")
        let rows = try auditRows(cli)
        #expect(rows.count == rowsBefore + 1, "exactly one kernel write for one weight")
        #expect(rows.first?["action"] as? String == "update-real-server")

        let pongsAtEdit = lab.pongs
        try lab.waitFor("5 more pongs after the edit", timeout: 30) { lab.pongs >= pongsAtEdit + 5 }
        #expect(!lab.clientLog.contains("error"), "\(lab.clientLog)")
        let listing = try lab.ipvsadm("-Ln")
        let line = listing.split(separator: "\n").first { $0.contains("10.10.0.11:80") }.map(String.init) ?? ""
        let columns = line.split(separator: " ").map(String.init)
        // "-> 10.10.0.11:80  Route  5  1  0": forward, weight, active, inactive.
        #expect(columns.count >= 6 && columns[3] == "5" && columns[4] == "1", "weight 5, one active connection: \(listing)")
        try lab.stopClient()
    }

    @Test func aDrainWaitsForTheConnectionAndSurvivesAKilledLvsctl() throws {
        let lab = try DataPlaneLab()
        defer { lab.close() }
        let cli = try CLIRunner(fakeKernel: false)
        cli.commonArguments = ["--netns", lab.director]
        let onlyR1 = try cli.write("r1.json", manifest([("10.10.0.11", 1)]))
        let onlyR2 = try cli.write("r2.json", manifest([("10.10.0.12", 1)]))
        #expect(try cli.run(["apply", "-f", onlyR1]).status == 0)
        try lab.startClient()
        #expect(try lab.connectedTo() == "r1")

        // r1 leaves the manifest: it is drained (weight 0), not deleted, while its connection lives.
        let swap = try cli.run(["apply", "-f", onlyR2, "--allow-removal"])
        #expect(swap.status == 0, "\(swap)")
        #expect(swap.stdout.contains("drain real server 10.10.0.11:80"), "\(swap)")
        var table = try lab.ipvsadm("-Sn")
        #expect(table.contains("-r 10.10.0.11:80 -g -w 0"), "\(table)")
        #expect(table.contains("-r 10.10.0.12:80 -g -w 1"), "\(table)")
        #expect(try cli.run(["apply", "-f", onlyR2, "--allow-removal"]).status == 0)
        #expect(try lab.ipvsadm("-Sn").contains("10.10.0.11:80"), "not deleted while connected")
        // A draining real server is in the kernel on purpose: `drift` (from cron) is clean and
        // lists it as draining.
        let drift = try cli.run(["drift"])
        #expect(drift.status == 0, "\(drift)")
        #expect(drift.stdout.contains("No drift") && drift.stdout.contains("Draining"), "\(drift)")
        #expect(drift.stdout.contains("  10.10.0.11:80 of "), "\(drift)")
        let driftJSON = try cli.run(["drift", "--output", "json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(driftJSON.stdout.utf8)) as? [String: Any]
        let drainingJSON = parsed?["draining"] as? [[String: String]]
        #expect(driftJSON.status == 0 && (parsed?["drift"] as? [Any])?.isEmpty == true, "\(driftJSON)")
        #expect(drainingJSON?.map { $0["realServer"] } == ["10.10.0.11:80"], "\(driftJSON)")

        // An `apply --wait` killed while it waits leaves the drain in the store…
        let bin = CLIRunner.binary
        let pid = try lab.sh("""
            LVSCTL_DB=\(cli.databasePath) \(bin) apply -f \(onlyR2) --allow-removal --wait --netns \(lab.director) \
            >/dev/null 2>&1 & echo $!
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        Thread.sleep(forTimeInterval: 3)
        try lab.sh("kill -9 \(pid)")
        let status = try cli.run(["status"])
        #expect(status.stdout.contains("draining"), "\(status)")
        #expect(lab.pongs > 0 && !lab.clientLog.contains("error"), "\(lab.clientLog)")

        // …and the next run finishes it once the connection has closed.
        try lab.stopClient()
        let finish = try cli.run(["apply", "-f", onlyR2, "--allow-removal", "--wait", "--wait-timeout", "120"])
        #expect(finish.status == 0, "\(finish)")
        #expect(finish.stdout.contains("All drains finished"), "\(finish)")
        table = try lab.ipvsadm("-Sn")
        #expect(!table.contains("10.10.0.11:80"), "\(table)")
        let rows = try auditRows(cli)
        #expect(rows.contains { $0["action"] as? String == "delete-real-server" && $0["realServer"] as? String == "10.10.0.11:80" })
        #expect(try cli.run(["status"]).stdout.contains("draining") == false)
    }
}
