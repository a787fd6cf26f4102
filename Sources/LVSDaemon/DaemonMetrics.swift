public import Foundation
public import LVSHealth
public import LVSModel
public import LVSReconciler
public import Prometheus

/// The daemon's Prometheus metrics, rendered in the text exposition format 0.0.4.
///
/// Reconciler metrics live in a swift-prometheus registry and are updated after every pass.
/// IPVS counters and health states are rendered at scrape time from the latest kernel snapshot
/// and health map (``render(snapshot:health:manifests:)``), so series of services that are gone
/// disappear with them.
///
/// Label cardinality is bounded: the only labels are `service` (`tcp/10.0.0.1:80`),
/// `real_server` (`10.0.0.11:80`) and `manifest`, so the number of series is at most a small
/// constant times the number of services plus real servers in the kernel. Nothing per
/// connection, per client or per pass id is ever a label.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let lastSuccess: Gauge
    let driftObjects: Gauge
    let planSize: Gauge
    let kernelWrites: Counter
    let errors: Counter
    let passes: Counter
    let duration: DurationHistogram

    public init() {
        lastSuccess = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "lvsctl_reconcile_last_success_timestamp_seconds", unitName: "", helpText: "Unix time of the last reconcile pass that succeeded."))
        driftObjects = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "lvsctl_drift_objects", unitName: "", helpText: "Differences between the applied revisions and the kernel at the last pass."))
        planSize = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "lvsctl_plan_changes", unitName: "", helpText: "Changes planned by the last reconcile pass."))
        kernelWrites = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "lvsctl_kernel_writes_total", unitName: "", helpText: "Kernel writes made by the daemon."))
        errors = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "lvsctl_reconcile_errors_total", unitName: "", helpText: "Reconcile passes that failed."))
        passes = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "lvsctl_reconcile_passes_total", unitName: "", helpText: "Reconcile passes run."))
        duration = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "lvsctl_reconcile_duration_seconds", unitName: "",
                helpText: "Duration of reconcile passes (plan and apply)."),
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)])
    }

    /// Records a pass.
    public func record(_ result: ReconcileEngine.PassResult?, failed: Bool, duration d: Duration, at: Date) {
        passes.increment()
        duration.record(d)
        if let result {
            driftObjects.set(Double(result.drift.count))
            planSize.set(Double(result.planSize))
            if result.kernelWrites > 0 { kernelWrites.increment(by: Int64(result.kernelWrites)) }
        }
        if failed { errors.increment() } else { lastSuccess.set(at.timeIntervalSince1970) }
    }

    /// The whole exposition: the registry's metrics, then IPVS and health series.
    public func exposition(snapshot: LiveTable?, health: [ServiceRealServerKey: HealthState], manifests: [VirtualService.ID: String]) -> String {
        registry.emitToString() + Self.render(snapshot: snapshot, health: health, manifests: manifests)
    }

    /// IPVS counters per service and real server, and health per real server.
    public static func render(
        snapshot: LiveTable?, health: [ServiceRealServerKey: HealthState], manifests: [VirtualService.ID: String]
    ) -> String {
        var families: [(name: String, type: String, help: String, samples: [String])] = []
        func family(_ name: String, _ type: String, _ help: String) -> Int {
            families.append((name, type, help, []))
            return families.count - 1
        }
        let svcFamilies: [(Int, (IPVSStats) -> UInt64)] = [
            (family("lvsctl_ipvs_service_connections_total", "counter", "Connections scheduled by the virtual service."), \.connections),
            (family("lvsctl_ipvs_service_in_packets_total", "counter", "Packets received by the virtual service."), \.inPackets),
            (family("lvsctl_ipvs_service_out_packets_total", "counter", "Packets sent by the virtual service."), \.outPackets),
            (family("lvsctl_ipvs_service_in_bytes_total", "counter", "Bytes received by the virtual service."), \.inBytes),
            (family("lvsctl_ipvs_service_out_bytes_total", "counter", "Bytes sent by the virtual service."), \.outBytes),
        ]
        let rsFamilies: [(Int, (LiveRealServer) -> UInt64)] = [
            (family("lvsctl_ipvs_real_server_connections_total", "counter", "Connections scheduled to the real server."), { $0.stats.connections }),
            (family("lvsctl_ipvs_real_server_in_packets_total", "counter", "Packets received for the real server."), { $0.stats.inPackets }),
            (family("lvsctl_ipvs_real_server_out_packets_total", "counter", "Packets sent by the real server."), { $0.stats.outPackets }),
            (family("lvsctl_ipvs_real_server_in_bytes_total", "counter", "Bytes received for the real server."), { $0.stats.inBytes }),
            (family("lvsctl_ipvs_real_server_out_bytes_total", "counter", "Bytes sent by the real server."), { $0.stats.outBytes }),
            (family("lvsctl_ipvs_real_server_active_connections", "gauge", "Active connections of the real server."), { UInt64($0.activeConnections) }),
            (family("lvsctl_ipvs_real_server_inactive_connections", "gauge", "Inactive connections of the real server."), { UInt64($0.inactiveConnections) }),
            (family("lvsctl_ipvs_real_server_weight", "gauge", "Weight of the real server in the kernel."), { UInt64($0.server.weight) }),
        ]
        let healthFamily = family(
            "lvsctl_real_server_health_up", "gauge", "Health of the real server: 1 up, 0 down (only checked servers).")
        for s in (snapshot?.services ?? []).sorted(by: { $0.service.id < $1.service.id }) {
            let id = s.service.id
            let m = manifests[id] ?? ""
            let labels = "service=\"\(escape("\(id)"))\",manifest=\"\(escape(m))\""
            for (i, value) in svcFamilies { families[i].samples.append("{\(labels)} \(value(s.stats))") }
            for r in s.realServers.sorted(by: { $0.server.id < $1.server.id }) {
                let rl = "service=\"\(escape("\(id)"))\",real_server=\"\(escape("\(r.server.id)"))\",manifest=\"\(escape(m))\""
                for (i, value) in rsFamilies { families[i].samples.append("{\(rl)} \(value(r))") }
            }
        }
        for (key, state) in health.sorted(by: { $0.key < $1.key }) {
            let m = manifests[key.service] ?? ""
            let rl = "service=\"\(escape("\(key.service)"))\",real_server=\"\(escape("\(key.realServer)"))\",manifest=\"\(escape(m))\""
            families[healthFamily].samples.append("{\(rl)} \(state == .up ? 1 : 0)")
        }
        var out = ""
        for f in families where !f.samples.isEmpty {
            out += "# HELP \(f.name) \(f.help)\n# TYPE \(f.name) \(f.type)\n"
            for s in f.samples { out += f.name + s + "\n" }
        }
        return out
    }

    /// Escapes a label value: backslash, double quote and newline.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}
