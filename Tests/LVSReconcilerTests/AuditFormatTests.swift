import Foundation
import LVSModel
import LVSPlan
import LVSStore
import Testing

@testable import LVSReconciler

/// The audit's stored before/after values: the object format of `Model+Codable.swift`, written
/// the same by the fast writer and by `JSONEncoder`, and rows stored before migration 0006 (in
/// the shape Swift synthesised, with `_0`/`_1` keys and numbers for enumerations) still read.
@Suite struct AuditFormatTests {
    static let v4 = VirtualService(
        id: .address(.tcp, IPAddress("10.0.0.100")!, port: 80), scheduler: .sh, flags: [.persistent, .sched1],
        timeout: 300, persistenceEngine: "sip")
    static let fwmark6 = VirtualService(id: .fwmark(7, .ipv6), scheduler: .wlc, flags: ServiceFlags(rawValue: 0x40))
    static let direct = RealServer(id: .init(address: IPAddress("10.0.0.1")!, port: 80), forwarding: .directRoute, weight: 1)
    static let nat = RealServer(id: .init(address: IPAddress("10.0.0.2")!, port: 81), forwarding: .masquerade, weight: 2)
    static let gue6 = RealServer(
        id: .init(address: IPAddress("2001:db8::1")!, port: 80), forwarding: .tunnel, weight: 5,
        tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .remoteChecksum))
    static let daemon = SyncDaemon(state: .master, interface: "eth0")

    /// Each value with the text lvsctl stored for it before migration 0006 (`%0`, `%1` stand
    /// for the synthesised keys, so that no source file spells them).
    static let oldRows: [(Change.Value, String)] = oldShapes.map { ($0.0, $0.1.replacingOccurrences(of: "%", with: "_")) }

    static let oldShapes: [(Change.Value, String)] = [
        (.realServer(direct),
         #"{"realServer":{"forwarding":3,"id":{"address":"10.0.0.1","port":80},"lowerThreshold":0,"tunnel":{"checksum":0,"port":0,"type":0},"upperThreshold":0,"weight":1}}"#),
        (.realServer(gue6),
         #"{"realServer":{"forwarding":2,"id":{"address":"2001:db8::1","port":80},"lowerThreshold":0,"tunnel":{"checksum":2,"port":6080,"type":1},"upperThreshold":0,"weight":5}}"#),
        (.service(v4),
         #"{"service":{"flags":9,"id":{"address":{"%0":"tcp","%1":"10.0.0.100","port":80}},"netmask":4294967295,"persistenceEngine":"sip","scheduler":"sh","timeout":300}}"#),
        (.entry(IPVSTable.Entry(service: fwmark6, realServers: [direct, nat])),
         #"{"entry":{"realServers":[{"forwarding":3,"id":{"address":"10.0.0.1","port":80},"lowerThreshold":0,"tunnel":{"checksum":0,"port":0,"type":0},"upperThreshold":0,"weight":1},{"forwarding":0,"id":{"address":"10.0.0.2","port":81},"lowerThreshold":0,"tunnel":{"checksum":0,"port":0,"type":0},"upperThreshold":0,"weight":2}],"service":{"flags":64,"id":{"fwmark":{"%0":7,"%1":"ipv6"}},"netmask":128,"scheduler":"wlc","timeout":0}}}"#),
        (.syncDaemon(daemon),
         #"{"syncDaemon":{"interface":"eth0","maxLength":0,"port":0,"state":1,"syncID":0,"ttl":0}}"#),
        (.timeouts(Timeouts(tcp: 60, tcpFin: 10, udp: 5)), #"{"timeouts":{"tcp":60,"tcpFin":10,"udp":5}}"#),
    ]

    @Test func anAuditRowWrittenInTheOldShapeStillReads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsaudit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/old.db"
        do {
            let old = try Store(path: path, migrateUpTo: "0005_revision_chunks")
            try old.executeForTesting("INSERT INTO manifest (name, created_at) VALUES ('web', 1000)")
            try old.executeForTesting("""
                INSERT INTO apply_run (id, started_at, finished_at, manifest, origin, author, status)
                VALUES (1, 2000, 2100, 'web', 'apply', 'alice', 'succeeded')
                """)
            for (i, row) in Self.oldRows.enumerated() {
                // The old text as `before` and `after`, so that both columns are rewritten.
                try old.executeForTesting(
                    """
                    INSERT INTO audit (run_id, manifest, at, action, service, before_json, after_json, result, duration_us, origin)
                    VALUES (1, 'web', ?, 'update-service', 'tcp/10.0.0.100:80', ?, ?, 'applied', 1, 'apply')
                    """, arguments: [2000 + i, row.1, row.1])
            }
        }
        let store = try Store(path: path)
        let rows = try store.audit(AuditFilter(manifest: "web", order: .oldestFirst))
        try #require(rows.count == Self.oldRows.count)
        let writer = AuditJSON()
        for (row, (value, old)) in zip(rows, Self.oldRows) {
            for text in [row.before, row.after] {
                let stored = try #require(text)
                #expect(!stored.contains("\"_"), "no synthesised keys: \(stored)")
                let read = try JSONDecoder().decode(Change.Value.self, from: Data(stored.utf8))
                #expect(read == value, "old text: \(old)")
                // Rewritten to exactly what lvsctl writes today for the same value.
                #expect(stored == writer.text(value), "\(stored)")
            }
        }
    }

    @Test(arguments: [
        Change.Value.service(v4), .service(fwmark6), .realServer(direct), .realServer(nat), .realServer(gue6),
        .service(VirtualService(id: .address(.udp, IPAddress("2001:db8::53")!, port: 53), scheduler: .rr)),
    ])
    func theFastWriterWritesWhatTheEncoderWrites(_ value: Change.Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let slow = String(decoding: try encoder.encode(value), as: UTF8.self)
        if let fast = AuditJSON.fastText(value) { #expect(fast == slow) }
        #expect(AuditJSON().text(value) == slow)
        #expect(try JSONDecoder().decode(Change.Value.self, from: Data(slow.utf8)) == value)
    }
}
