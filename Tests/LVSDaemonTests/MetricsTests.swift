import Foundation
import LVSDaemon
import LVSReconciler
import LVSHealth
import LVSModel
import Testing

/// A parser of the Prometheus text exposition format 0.0.4, strict enough to catch mistakes.
struct Exposition {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }
    var types: [String: String] = [:]
    var samples: [Sample] = []

    struct ParseError: Error, CustomStringConvertible { var description: String }

    init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else { throw ParseError(description: "no final newline") }
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw ParseError(description: "line \(n + 1): bad TYPE: \(line)")
                }
                guard types[String(parts[2])] == nil else { throw ParseError(description: "line \(n + 1): TYPE twice") }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try Self.sample(String(line), n + 1))
        }
        for s in samples {
            let base = ["_bucket", "_sum", "_count"].reduce(s.name) { name, suffix in
                name.hasSuffix(suffix) && types[String(name.dropLast(suffix.count))] == "histogram"
                    ? String(name.dropLast(suffix.count)) : name
            }
            guard types[base] != nil else { throw ParseError(description: "sample \(s.name) has no TYPE") }
        }
    }

    static func sample(_ line: String, _ n: Int) throws -> Sample {
        var i = line.startIndex
        var name = ""
        while i < line.endIndex, line[i].isLetter || line[i].isNumber || line[i] == "_" || line[i] == ":" {
            name.append(line[i])
            i = line.index(after: i)
        }
        guard !name.isEmpty, name.first?.isNumber == false else { throw ParseError(description: "line \(n): bad name") }
        var labels: [String: String] = [:]
        if i < line.endIndex, line[i] == "{" {
            i = line.index(after: i)
            while i < line.endIndex, line[i] != "}" {
                var key = ""
                while i < line.endIndex, line[i] != "=" {
                    key.append(line[i])
                    i = line.index(after: i)
                }
                i = line.index(after: i)
                guard i < line.endIndex, line[i] == "\"" else { throw ParseError(description: "line \(n): unquoted value") }
                i = line.index(after: i)
                var value = ""
                while i < line.endIndex, line[i] != "\"" {
                    if line[i] == "\\" {
                        i = line.index(after: i)
                        value.append(line[i] == "n" ? "\n" : line[i])
                    } else {
                        value.append(line[i])
                    }
                    i = line.index(after: i)
                }
                guard i < line.endIndex else { throw ParseError(description: "line \(n): unterminated value") }
                i = line.index(after: i)
                labels[key] = value
                if i < line.endIndex, line[i] == "," { i = line.index(after: i) }
            }
            guard i < line.endIndex else { throw ParseError(description: "line \(n): unterminated labels") }
            i = line.index(after: i)
        }
        let rest = line[i...].split(separator: " ")
        guard let first = rest.first, let value = Double(first == "+Inf" ? "inf" : String(first)) else {
            throw ParseError(description: "line \(n): bad value in \(line)")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { s in s.name == name && labels.allSatisfy { k, v in s.labels[k] == v } }?.value
    }
}

@Suite struct MetricsTests {
    let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.100")!, port: 80)
    let rs = RealServer.ID(address: IPAddress("10.0.0.11")!, port: 80)

    func table() -> LiveTable {
        var stats = IPVSStats()
        stats.connections = 12
        stats.inBytes = 3400
        var rsStats = IPVSStats()
        rsStats.connections = 7
        rsStats.outPackets = 99
        return LiveTable(services: [
            LiveService(
                service: VirtualService(id: vip, scheduler: .wrr), stats: stats,
                realServers: [LiveRealServer(
                    server: RealServer(id: rs, weight: 3), activeConnections: 2, inactiveConnections: 5,
                    persistentConnections: 0, stats: rsStats)])
        ])
    }

    @Test func expositionParsesAndHasTheSeries() throws {
        let metrics = DaemonMetrics()
        var result = ReconcileEngine.PassResult(reconcileID: "x")
        result.kernelWrites = 4
        result.planSize = 4
        metrics.record(result, failed: false, duration: .milliseconds(12), at: Date(timeIntervalSince1970: 1_700_000_000))
        metrics.record(nil, failed: true, duration: .milliseconds(3), at: Date())
        let text = metrics.exposition(
            snapshot: table(), health: [ServiceRealServerKey(service: vip, realServer: rs): .down], manifests: [vip: "web"])
        let e = try Exposition(text)
        let svc = ["service": "tcp/10.0.0.100:80", "manifest": "web"]
        let r = svc.merging(["real_server": "10.0.0.11:80"]) { a, _ in a }
        #expect(e.value("lvsctl_ipvs_service_connections_total", svc) == 12)
        #expect(e.value("lvsctl_ipvs_service_in_bytes_total", svc) == 3400)
        #expect(e.value("lvsctl_ipvs_real_server_connections_total", r) == 7)
        #expect(e.value("lvsctl_ipvs_real_server_out_packets_total", r) == 99)
        #expect(e.value("lvsctl_ipvs_real_server_active_connections", r) == 2)
        #expect(e.value("lvsctl_ipvs_real_server_inactive_connections", r) == 5)
        #expect(e.value("lvsctl_ipvs_real_server_weight", r) == 3)
        #expect(e.value("lvsctl_real_server_health_up", r) == 0)
        #expect(e.types["lvsctl_ipvs_service_connections_total"] == "counter")
        #expect(e.value("lvsctl_reconcile_last_success_timestamp_seconds") == 1_700_000_000)
        #expect(e.value("lvsctl_kernel_writes_total") == 4)
        #expect(e.value("lvsctl_reconcile_errors_total") == 1)
        #expect(e.value("lvsctl_plan_changes") == 4)
        #expect(e.value("lvsctl_reconcile_duration_seconds_count") == 2)
        #expect(e.types["lvsctl_reconcile_duration_seconds"] == "histogram")
        // Only the three bounded labels (plus histogram buckets' le).
        let labelNames = Set(e.samples.flatMap(\.labels.keys))
        #expect(labelNames.isSubset(of: ["service", "real_server", "manifest", "le"]), "\(labelNames)")
    }

    @Test func labelValuesAreEscaped() throws {
        let text = DaemonMetrics.render(
            snapshot: table(), health: [:], manifests: [vip: "we\"ird\\name\nx"])
        let e = try Exposition(text)
        #expect(e.samples.first?.labels["manifest"] == "we\"ird\\name\nx")
    }

    @Test func noSnapshotMeansNoIPVSSeries() throws {
        let e = try Exposition(DaemonMetrics.render(snapshot: nil, health: [:], manifests: [:]))
        #expect(e.samples.isEmpty)
    }
}
