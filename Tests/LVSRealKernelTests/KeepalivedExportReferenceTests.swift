import Foundation
import LVSTestSupport
import Testing

/// `lvsctl export --format keepalived` checked against keepalived itself: keepalived run on the
/// exported file programs the same `ipvsadm -Sn` as `lvsctl apply` of the manifest.
@Suite struct KeepalivedExportReferenceTests {
    /// DR with an HTTP check, TUN with persistence per /24, NAT with port mapping, sh flags,
    /// thresholds and quorum, and a fwmark service whose check needs a connect port.
    static let manifest = """
        {
          "apiVersion": "lvsctl/v1",
          "name": "exported",
          "services": [
            {
              "name": "web", "protocol": "tcp", "address": "10.98.0.100", "port": 80,
              "scheduler": "wrr", "forwarding": "dr",
              "healthCheck": { "type": "http", "path": "/", "statusCodes": [200], "connectTimeout": 2, "interval": 2 },
              "realServers": [
                { "address": "10.77.0.11", "port": 80, "weight": 3 },
                { "address": "10.77.0.12", "port": 80, "weight": 1 }
              ]
            },
            {
              "name": "tls", "protocol": "tcp", "address": "10.98.0.100", "port": 443,
              "scheduler": "rr", "forwarding": "tunnel",
              "persistence": { "timeout": 300, "netmask": "255.255.255.0" },
              "healthCheck": { "type": "tcp", "connectTimeout": 2, "interval": 2 },
              "realServers": [
                { "address": "10.77.0.13", "port": 443, "weight": 2 },
                { "address": "10.77.0.14", "port": 443, "weight": 2 }
              ]
            },
            {
              "name": "app", "protocol": "tcp", "address": "10.98.0.101", "port": 80,
              "scheduler": "sh", "schedulerFlags": ["sh-port"], "forwarding": "nat",
              "quorum": 1,
              "healthCheck": { "type": "tcp", "connectTimeout": 2, "interval": 2 },
              "realServers": [
                { "address": "10.77.0.11", "port": 8080, "weight": 1, "upperThreshold": 200, "lowerThreshold": 100 },
                { "address": "10.77.0.12", "port": 8080, "weight": 4 }
              ]
            },
            {
              "name": "marked", "fwmark": 9, "family": "ipv4",
              "scheduler": "wlc", "forwarding": "dr",
              "healthCheck": { "type": "tcp", "port": 80, "connectTimeout": 2, "interval": 2 },
              "realServers": [ { "address": "10.77.0.13", "weight": 7 } ]
            }
          ]
        }
        """

    @Test func keepalivedRunsTheExportedConfigIntoTheSameTable() throws {
        let cli = try CLIRunner(fakeKernel: false)
        let path = try cli.write("exported.json", Self.manifest)

        let lv = try NetworkNamespace(prefix: "lvkx")
        defer { lv.close() }
        let applied = try cli.run(["apply", "-f", path, "--netns", lv.name])
        #expect(applied.status == 0, "\(applied)")
        let expected = try lv.ipvsadmSave()
        #expect(expected.split(separator: "\n").count == 11, "four services, seven real servers:\n\(expected)")

        let exported = try cli.run(["export", "--format", "keepalived", "-f", path])
        #expect(exported.status == 0, "\(exported)")
        #expect(exported.stderr.isEmpty, "nothing lost: \(exported.stderr)")
        let conf = try cli.write("keepalived.conf", exported.stdout)

        let (live, log) = try KeepalivedLab.table(
            conf: conf, subnets: ["10.77.0.0/24"], addresses: ["10.77.0.11", "10.77.0.12", "10.77.0.13", "10.77.0.14"],
            expected: expected, scratch: cli.directory.path)
        #expect(live == expected, "keepalived:\n\(live)\nlvsctl:\n\(expected)\nexported:\n\(exported.stdout)\nkeepalived log:\n\(log.suffix(3000))")

        // The live table exports too (no health checks there), and keepalived.conf imports back.
        let fromLive = try cli.run(["export", "--format", "keepalived", "--netns", lv.name])
        #expect(fromLive.status == 0 && fromLive.stdout.contains("virtual_server fwmark 9 {"), "\(fromLive)")
        let back = try cli.run(["import", "keepalived", conf, "--name", "exported"])
        #expect(back.status == 0, "\(back)")
    }
}
