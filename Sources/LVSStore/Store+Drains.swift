import Foundation
import GRDB
import LVSModel

extension Store {
    // MARK: Drains

    /// Inserts or replaces the drain of one real server.
    public func upsertDrain(_ drain: DrainRecord) throws {
        let now = Timestamp.micros(self.now)
        try write { db in
            try Self.ensureManifest(db, name: drain.manifest, at: now)
            try DrainRow(drain).upsert(db)
        }
    }

    /// Deletes the drain of one real server. - Returns: whether a drain existed.
    @discardableResult
    public func removeDrain(service: VirtualService.ID, realServer: RealServer.ID) throws -> Bool {
        try write { db in
            try db.execute(
                sql: "DELETE FROM drain WHERE service = ? AND real_server = ?",
                arguments: [service.description, realServer.description])
            return db.changesCount > 0
        }
    }

    /// The drain of one real server, or nil.
    public func drain(service: VirtualService.ID, realServer: RealServer.ID) throws -> DrainRecord? {
        try read { db in
            try DrainRow.fetchOne(
                db, sql: "SELECT * FROM drain WHERE service = ? AND real_server = ?",
                arguments: [service.description, realServer.description])?.model()
        }
    }

    /// Every drain, or only one manifest's, sorted by service then real server.
    public func drains(manifest: String? = nil) throws -> [DrainRecord] {
        try read { db in
            let rows =
                if let manifest {
                    try DrainRow.fetchAll(db, sql: "SELECT * FROM drain WHERE manifest = ?", arguments: [manifest])
                } else {
                    try DrainRow.fetchAll(db, sql: "SELECT * FROM drain")
                }
            return try rows.map { try $0.model() }.sorted {
                $0.service != $1.service ? $0.service < $1.service : $0.realServer < $1.realServer
            }
        }
    }

    // MARK: Health

    /// Inserts or replaces the health state of one real server.
    public func upsertHealth(_ health: HealthRecord) throws {
        try write { db in try HealthRow(health).upsert(db) }
    }

    /// The health state of one real server, or nil if never checked.
    public func health(service: VirtualService.ID, realServer: RealServer.ID) throws -> HealthRecord? {
        try read { db in
            try HealthRow.fetchOne(
                db, sql: "SELECT * FROM health WHERE service = ? AND real_server = ?",
                arguments: [service.description, realServer.description])?.model()
        }
    }

    /// Every health record, or only one service's, sorted by service then real server.
    public func healthRecords(service: VirtualService.ID? = nil) throws -> [HealthRecord] {
        try read { db in
            let rows =
                if let service {
                    try HealthRow.fetchAll(
                        db, sql: "SELECT * FROM health WHERE service = ?", arguments: [service.description])
                } else {
                    try HealthRow.fetchAll(db, sql: "SELECT * FROM health")
                }
            return try rows.map { try $0.model() }.sorted {
                $0.service != $1.service ? $0.service < $1.service : $0.realServer < $1.realServer
            }
        }
    }

    /// Forgets the health state of one real server. - Returns: whether a record existed.
    @discardableResult
    public func removeHealth(service: VirtualService.ID, realServer: RealServer.ID) throws -> Bool {
        try write { db in
            try db.execute(
                sql: "DELETE FROM health WHERE service = ? AND real_server = ?",
                arguments: [service.description, realServer.description])
            return db.changesCount > 0
        }
    }

    // MARK: Maintenance

    /// Sets (or replaces) a maintenance flag on a service or one of its real servers.
    public func setMaintenance(_ flag: MaintenanceFlag) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO maintenance (service, real_server, reason, author, since) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (service, ifnull(real_server, '')) DO UPDATE
                    SET reason = excluded.reason, author = excluded.author, since = excluded.since
                    """,
                arguments: [
                    flag.service.description, flag.realServer?.description, flag.reason, flag.author,
                    Timestamp.micros(flag.since),
                ])
        }
    }

    /// Clears the flag of a service (`realServer == nil`) or of one real server.
    /// - Returns: whether a flag existed.
    @discardableResult
    public func clearMaintenance(service: VirtualService.ID, realServer: RealServer.ID? = nil) throws -> Bool {
        try write { db in
            try db.execute(
                sql: "DELETE FROM maintenance WHERE service = ? AND real_server IS ?",
                arguments: [service.description, realServer?.description])
            return db.changesCount > 0
        }
    }

    /// Every maintenance flag, sorted by service (whole-service flags first), then real server.
    public func maintenanceFlags() throws -> [MaintenanceFlag] {
        try read { db in
            try MaintenanceRow.fetchAll(db, sql: "SELECT * FROM maintenance").map { try $0.model() }.sorted { a, b in
                if a.service != b.service { return a.service < b.service }
                switch (a.realServer, b.realServer) {
                case (nil, nil): return false
                case (nil, _): return true
                case (_, nil): return false
                case (let ra?, let rb?): return ra < rb
                }
            }
        }
    }

    /// Whether a real server is in maintenance, itself or through its whole service
    /// (`realServer == nil`: whether the whole service is).
    public func isInMaintenance(service: VirtualService.ID, realServer: RealServer.ID? = nil) throws -> Bool {
        try read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM maintenance
                    WHERE service = ? AND (real_server IS NULL OR real_server = ?))
                    """,
                arguments: [service.description, realServer?.description]) ?? false
        }
    }
}
