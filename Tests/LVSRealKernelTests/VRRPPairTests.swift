import Foundation
import LVSManifest
import LVSModel
import LVSTestSupport
import LVSVRRP
import Testing

/// The rendered VRRP-only config run by keepalived 2.2.7 (`keepalived -P`) on two directors in
/// namespaces on one bridge (the lab kit's `LabNetwork`): d1 (priority 150) becomes master of the sync group, writing
/// 1 to its maintenance track file moves both addresses to d2, writing 0 brings them back
/// (preempt), every line keepalived wrote to the notify FIFO parses, and the JSON state dump
/// (SIGJSON) shows d1 master and d2 backup. The configs come from a
/// manifest through the manifest decoder and `KeepalivedConfig.render`. Real keepalived, real
/// VRRP; in the lab guest, as root.
@Suite("VRRP pair from the rendered config (keepalived -P)")
struct VRRPPairTests {
    static let manifest = """
        {"apiVersion": "lvsctl/v1", "name": "pair",
         "services": [
           {"name": "a", "protocol": "tcp", "address": "10.77.0.100", "port": 80, "realServers": [{"address": "10.77.0.11"}]},
           {"name": "b", "protocol": "tcp", "address": "10.77.0.101", "port": 80, "realServers": [{"address": "10.77.0.11"}]}],
         "vrrp": {
           "instances": [
             {"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.77.0.100/24"], "priority": {"d1": 150, "d2": 100}},
             {"name": "VI_2", "interface": "eth0", "virtualRouterId": 52, "addresses": ["10.77.0.101/24"], "priority": {"d1": 150, "d2": 100}}],
           "syncGroups": [{"name": "G1", "instances": ["VI_1", "VI_2"]}],
           "maintenanceInstances": ["VI_1"]}}
        """

    /// The VIPs on `host`'s eth0.
    private static func vips(_ host: LabHost) throws -> Set<String> {
        let out = try host.check(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
        return Set(["10.77.0.100", "10.77.0.101"].filter { out.contains(" \($0)/") })
    }

    @Test func masterMaintenanceAndBack() throws {
        let r = Manifest.parse(Array(Self.manifest.utf8), file: "pair.json")
        let vrrp = try #require(r.state?.vrrp, "\(r.diagnostics.map(\.description))")
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")

        let lab = try LabNetwork(prefix: "vrrp")
        defer { lab.close() }
        let lan = try lab.bridge("lan")
        let hosts = ["d1": try lab.host("d1", lan.port("10.77.0.2/24")), "d2": try lab.host("d2", lan.port("10.77.0.3/24"))]
        let (d1, d2) = (hosts["d1"]!, hosts["d2"]!)
        let scratch = lab.directory.path

        func log() -> String {
            ["d1", "d2"].map { n in
                "--- \(n) keepalived:\n" + ((try? String(contentsOfFile: "\(scratch)/ka-\(n).log", encoding: .utf8)) ?? "")
                    + "--- \(n) fifo:\n" + ((try? String(contentsOfFile: "\(scratch)/fifo-\(n).log", encoding: .utf8)) ?? "")
            }.joined(separator: "\n")
        }

        for node in ["d1", "d2"] {
            let paths = KeepalivedConfig.Paths(notifyFIFO: "\(scratch)/fifo-\(node)", trackFile: "\(scratch)/maint-\(node)")
            let conf = try KeepalivedConfig.render(vrrp, node: node, paths: paths, manifest: "pair")
            try conf.write(toFile: "\(scratch)/\(node).conf", atomically: true, encoding: .utf8)
            // lvsctl creates the FIFO (keepalived unlinks one it created itself on close).
            try ProcessRunner.check(["mkfifo", "\(scratch)/fifo-\(node)"])
            _ = try lab.spawn("fifo-\(node)", in: nil, ["cat", "\(scratch)/fifo-\(node)"])
            _ = try hosts[node]!.spawn("ka-\(node)", [
                "keepalived", "-P", "-n", "-l", "-D", "-f", "\(scratch)/\(node).conf", "-p", "\(scratch)/ka-\(node).pid",
                "-r", "\(scratch)/ka-\(node)-vrrp.pid",
            ])
        }

        try waitFor("d1 to hold both VIPs and d2 none", timeout: 90, diagnostics: log()) {
            try Self.vips(d1).count == 2 && Self.vips(d2).isEmpty
        }
        // Maintenance on d1: FAULT through the track file of VI_1; the sync group takes VI_2 along.
        try "1\n".write(toFile: "\(scratch)/maint-d1", atomically: false, encoding: .utf8)
        try waitFor("both VIPs to move to d2", timeout: 60, diagnostics: log()) {
            try Self.vips(d2).count == 2 && Self.vips(d1).isEmpty
        }
        try "0\n".write(toFile: "\(scratch)/maint-d1", atomically: false, encoding: .utf8)
        try waitFor("both VIPs back on d1 (preempt)", timeout: 60, diagnostics: log()) {
            try Self.vips(d1).count == 2 && Self.vips(d2).isEmpty
        }

        // keepalived's JSON state dump (SIGJSON) tells the same roles: what lvsctl asks after an
        // EOF on the FIFO. Both keepalived processes write the same file: one at a time.
        for (node, expected) in [("d1", VRRPNotification.State.master), ("d2", .backup)] {
            let dump = "/tmp/keepalived.json"
            try? FileManager.default.removeItem(atPath: dump)
            try ProcessRunner.check(["sh", "-c", "kill -36 $(cat \(scratch)/ka-\(node).pid)"])
            var instances: [KeepalivedStateDump.Instance] = []
            try waitFor("\(node)'s JSON state dump", timeout: 30, diagnostics: log()) {
                guard let bytes = FileManager.default.contents(atPath: dump) else { return false }
                instances = (try? KeepalivedStateDump.parse(Array(bytes))) ?? []
                return instances.count == 2
            }
            #expect(instances.map(\.name).sorted() == ["VI_1", "VI_2"])
            #expect(instances.allSatisfy { $0.state == expected }, "\(node): \(instances)")
            try? FileManager.default.removeItem(atPath: dump)
        }

        // Every FIFO line parses; d1 reported its group going to MASTER, to FAULT, out of FAULT
        // as BACKUP, and to MASTER again (seen: the group line after its instances' lines).
        try waitFor("d1's FIFO to show the way back to MASTER", timeout: 30, diagnostics: log()) {
            let text = (try? String(contentsOfFile: "\(scratch)/fifo-d1.log", encoding: .utf8)) ?? ""
            return text.components(separatedBy: "GROUP \"G1\" MASTER").count >= 3
        }
        for node in ["d1", "d2"] {
            let text = try String(contentsOfFile: "\(scratch)/fifo-\(node).log", encoding: .utf8)
            let lines = text.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                #expect(throws: Never.self, "\(node): \(line)") { try VRRPNotification.parse(line) }
            }
        }
        let d1Lines = try String(contentsOfFile: "\(scratch)/fifo-d1.log", encoding: .utf8).split(separator: "\n")
        let group = try d1Lines.map { try VRRPNotification.parse($0) }.filter { $0.kind == .group && $0.state.isTransition }.map(\.state)
        let roles = group.reduce(into: [VRRPNotification.State]()) { if $0.last != $1 { $0.append($1) } }
        #expect(Array(roles.drop { $0 != .master }.prefix(4)) == [.master, .fault, .backup, .master], "\(d1Lines)")
        let vi1 = try d1Lines.map { try VRRPNotification.parse($0) }.filter { $0.kind == .instance && $0.name == "VI_1" }
        #expect(vi1.contains { $0.state == .fault && $0.priority == 150 })
    }
}
