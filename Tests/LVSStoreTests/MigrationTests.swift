import Foundation
import LVSModel
import Testing

import LVSStore

/// A shipped migration file and the SHA-256 of its bytes when it shipped.
struct ShippedMigration: CustomStringConvertible {
    var id: String
    var sha256: String
    var description: String { id }
}

/// Every shipped migration. Append a line when adding `Migrations/NNNN_name.sql`; never edit one.
let shippedMigrations: [ShippedMigration] = [
    ShippedMigration(id: "0001_revisions", sha256: "d9970376c5dfe30868bf9444730ce09ecb04f067377ca9bd2eae5bef0a41493f"),
    ShippedMigration(id: "0002_audit", sha256: "a936d9b9a0a23373618342aebc78540a42ea1649dd21c604801869adf6b8ac9f"),
    ShippedMigration(id: "0003_drains_health", sha256: "b4c8136b6daf59bb5560c939d2d7a8c350da2b31a8a79652f2fb162134906c48"),
    ShippedMigration(id: "0004_notify_state", sha256: "695787156b44c6e2acaf859634130f0ef78dc2e594e096563776944dc7608f00"),
    ShippedMigration(id: "0005_revision_chunks", sha256: "ca140460f36109b5325cf436d2c434466275e989b79a9d0a4ad0cf8ed1ceb7db"),
    ShippedMigration(id: "0006_audit_object_format", sha256: "8924ba97bcff67aa3496f662bfdb8db244839918234e3d8130494cbfb2a221a0"),
    ShippedMigration(id: "0007_revision_failed", sha256: "bdecd51e70c98f20acfc2fe4cbe35393c99ee5258e5ab9cc8fa68a8d04001183"),
    ShippedMigration(id: "0008_drain_original_weight", sha256: "237089e0de54181165782c07795e9b42d2279df4cf31c4cce466f22016383996"),
    ShippedMigration(id: "0009_director_state", sha256: "58fdb943cda2d3fc8c55ecd6fe1963f23f9f6326acbeac5f1ac5e9f4433efa22"),
    ShippedMigration(id: "0010_audit_intent", sha256: "bf41442762aaa255ad0103bfd0a6265aef8de9cc1a7117a27029f869ccb2d68b"),
    ShippedMigration(id: "0011_bgp_routes", sha256: "fae52c1d10bb29830387e63c70ee297776a92409a3258d015d001107929d403f"),
]

/// Rows each migration's tables can hold, inserted into a database created at that migration.
let seedRows: [String: [String]] = [
    "0001_revisions": [
        "INSERT INTO manifest (name, created_at) VALUES ('web', 1000)",
        """
        INSERT INTO revision (id, manifest, number, content_hash, content, author, message, created_at, source_path, kind)
        VALUES (1, 'web', 1, '\(String(repeating: "a", count: 64))', '{"name":"web"}', 'alice', 'first', 1000, '/etc/lvsctl/web.json', 'apply')
        """,
        "INSERT INTO ownership (service, manifest, revision_id, claimed_at) VALUES ('tcp/10.0.0.1:80', 'web', 1, 1000)",
    ],
    "0002_audit": [
        """
        INSERT INTO apply_run (id, started_at, finished_at, manifest, revision_id, origin, author, status)
        VALUES (1, 2000, 2100, 'web', 1, 'apply', 'alice', 'succeeded')
        """,
        """
        INSERT INTO audit (run_id, revision_id, manifest, at, action, service, real_server, after_json, result, duration_us, origin)
        VALUES (1, 1, 'web', 2050, 'add-real-server', 'tcp/10.0.0.1:80', '192.168.1.10:80', '{"weight":1}', 'applied', 42, 'apply')
        """,
    ],
    "0003_drains_health": [
        """
        INSERT INTO drain (service, real_server, manifest, started_at, deadline, original_weight, reason)
        VALUES ('tcp/10.0.0.1:80', '192.168.1.11:80', 'web', 3000, 4000, 5, 'removed-from-manifest')
        """,
        """
        INSERT INTO health (service, real_server, healthy, checked_at, consecutive_successes, changed_at)
        VALUES ('tcp/10.0.0.1:80', '192.168.1.10:80', 1, 3000, 3, 2000)
        """,
        "INSERT INTO maintenance (service, real_server, author, since) VALUES ('tcp/10.0.0.1:80', NULL, 'bob', 3500)",
    ],
    "0004_notify_state": [
        "INSERT INTO notify_state (subject, state, sent_at) VALUES ('REALSERVER tcp/10.0.0.1:80/192.168.1.10:80', 'DOWN', 4000)",
    ],
    // Only moves existing content; every older database is upgraded through it.
    "0005_revision_chunks": [],
    // Only rewrites audit values in their old shape (a value in no known shape, as 0002's seed
    // row, is kept); LVSReconcilerTests.AuditFormatTests reads rows written in the old shape.
    "0006_audit_object_format": [],
    // Adds a nullable column: every older revision reads as not failed.
    "0007_revision_failed": [],
    // Drops a column nothing read; 0003's drain row keeps its other columns.
    "0008_drain_original_weight": [],
    // Rebuilds apply_run and audit (origin 'vrrp'); adds the VRRP roles and director maintenance.
    "0009_director_state": [
        """
        INSERT INTO apply_run (id, started_at, finished_at, manifest, revision_id, origin, author, status)
        VALUES (2, 9000, 9000, 'web', NULL, 'vrrp', 'keepalived', 'succeeded')
        """,
        """
        INSERT INTO audit (run_id, manifest, at, action, after_json, result, duration_us, origin)
        VALUES (2, 'web', 9000, 'vrrp-instance', '{"vrrp":{"kind":"instance","name":"VI_1","state":"master"}}', 'applied', 0, 'vrrp')
        """,
        "INSERT INTO vrrp_role (kind, name, state, priority, changed_at) VALUES ('instance', 'VI_1', 'MASTER', 150, 9000)",
        "INSERT INTO director_maintenance (id, author, reason, since) VALUES (1, 'carol', 'kernel upgrade', 9500)",
    ],
    // Rebuilds `audit` to allow `planned` (an intent row): a run left `running` with one.
    "0010_audit_intent": [
        """
        INSERT INTO apply_run (id, started_at, finished_at, manifest, revision_id, origin, author, status)
        VALUES (3, 10000, NULL, 'web', 1, 'apply', 'carol', 'running')
        """,
        """
        INSERT INTO audit (run_id, revision_id, manifest, at, action, service, real_server, after_json, result, duration_us, origin)
        VALUES (3, 1, 'web', 10000, 'add-real-server', 'tcp/10.0.0.1:80', '192.168.1.12:80', '{"weight":1}', 'planned', 0, 'apply')
        """,
    ],
    // Adds the BGP routes of an ECMP director; a route change is audited with origin 'bgp'.
    "0011_bgp_routes": [
        """
        INSERT INTO apply_run (id, started_at, finished_at, manifest, revision_id, origin, author, status)
        VALUES (4, 11000, 11000, 'web', NULL, 'bgp', 'lvsctl-daemon@d1', 'succeeded')
        """,
        """
        INSERT INTO audit (run_id, manifest, at, action, after_json, result, duration_us, origin)
        VALUES (4, 'web', 11000, 'bgp-announce', '{"bgpRoute":{"reason":"ready","state":"announced","vip":"10.0.0.1"}}', 'applied', 0, 'bgp')
        """,
        "INSERT INTO bgp_route (address, state, reason, changed_at) VALUES ('10.0.0.1', 'announced', 'ready', 11000)",
    ],
]

@Suite("Migrations")
struct MigrationTests {
    @Test("the shipped migration files are exactly the ones listed, in order")
    func shippedList() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: migrationsDirectory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.map { String($0.dropLast(4)) } == shippedMigrations.map(\.id))
        #expect(Store.migrationIDs == shippedMigrations.map(\.id))
        #expect(Set(seedRows.keys) == Set(shippedMigrations.map(\.id)), "every migration needs seed rows for the upgrade test")
    }

    @Test("a shipped migration file never changes", arguments: shippedMigrations)
    func appendOnly(_ migration: ShippedMigration) throws {
        let url = migrationsDirectory.appendingPathComponent(migration.id + ".sql")
        let bytes = try [UInt8](Data(contentsOf: url))
        #expect(SHA256.hex(bytes) == migration.sha256, "\(migration.id).sql changed after shipping; add a new migration instead")
        let embedded = Store.migrations.first { $0.id == migration.id }
        #expect(embedded?.sql == String(decoding: bytes, as: UTF8.self), "the embedded SQL matches the file")
    }

    @Test("a fresh database reaches the latest schema")
    func fresh() throws {
        let dir = try TempDir()
        let store = try Store(path: dir.file("lvsctl.db"))
        #expect(try store.appliedMigrations() == shippedMigrations.map(\.id))
        let tables = try store.queryForTesting(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' ORDER BY name"
        ).compactMap { $0.first ?? nil }
        #expect(tables == ["apply_run", "audit", "bgp_route", "director_maintenance", "drain", "health", "maintenance", "manifest", "notify_state", "ownership", "revision", "revision_chunk", "vrrp_role"])
        #expect(try store.queryForTesting("PRAGMA foreign_keys") == [["1"]])
        #expect(try store.queryForTesting("PRAGMA foreign_key_check").isEmpty)
    }

    @Test("a database created at an earlier migration upgrades and keeps its data",
          arguments: shippedMigrations.indices.dropLast())
    func upgrade(from index: Int) throws {
        let dir = try TempDir()
        let path = dir.file("old.db")
        let upTo = shippedMigrations[index].id
        // Each migration's rows are inserted at its own schema (a later one may reshape the
        // table they go to), then the database is left at `upTo`.
        for migration in shippedMigrations[...index] {
            let old = try Store(path: path, migrateUpTo: migration.id)
            for sql in seedRows[migration.id] ?? [] { try old.executeForTesting(sql) }
        }
        do {
            let old = try Store(path: path, migrateUpTo: upTo)
            #expect(try old.appliedMigrations() == shippedMigrations[...index].map(\.id))
        }
        let store = try Store(path: path)
        #expect(try store.appliedMigrations() == shippedMigrations.map(\.id))
        #expect(try store.queryForTesting("PRAGMA foreign_key_check").isEmpty)

        // 0001: revisions and ownership survive.
        let revision = try #require(try store.latestRevision(manifest: "web"))
        #expect(revision.number == 1 && revision.author == "alice" && revision.message == "first")
        #expect(revision.sourcePath == "/etc/lvsctl/web.json" && revision.kind == .apply)
        #expect(revision.content == #"{"name":"web"}"#, "0005 moved the content into revision_chunk")
        #expect(try store.owner(of: vs("tcp/10.0.0.1:80"))?.manifest == "web")
        // The upgraded database takes new rows.
        let next = try store.saveRevision(manifest: "web", content: #"{"name":"web","v":2}"#, author: "bob")
        #expect(next.number == 2)

        let hasAudit = index >= 1
        #expect(try store.run(1)?.status == (hasAudit ? .succeeded : nil))
        // Newest first: 0009's VRRP row (0010's `planned` row is not listed by default).
        let audit = try store.audit(AuditFilter(manifest: "web"))
        let hasVRRP = index >= shippedMigrations.firstIndex { $0.id == "0009_director_state" }!
        #expect(audit.map(\.action) == (hasVRRP ? ["vrrp-instance"] : []) + (hasAudit ? ["add-real-server"] : []))
        if hasAudit { #expect(audit.last?.realServer == (try rs("192.168.1.10:80"))) }

        let hasDrains = index >= 2
        #expect(try store.drains().count == (hasDrains ? 1 : 0))
        #expect(try store.isInMaintenance(service: vs("tcp/10.0.0.1:80")) == hasDrains)
    }

    @Test("a database from a newer lvsctl is refused")
    func newerSchema() throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        do {
            let store = try Store(path: path)
            try store.executeForTesting("INSERT INTO grdb_migrations (identifier) VALUES ('0099_future')")
        }
        let error = try #require(throws: StoreError.self) { try Store(path: path) }
        #expect(error == .newerSchema(path: path, unknownMigrations: ["0099_future"]))
        #expect(error.description.contains("newer lvsctl") && error.description.contains("0099_future"))
        #expect(error.description.contains(path))
    }
}
