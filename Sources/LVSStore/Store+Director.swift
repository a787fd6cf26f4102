import Foundation
import GRDB

/// The role of one VRRP instance or sync group as the daemon last learnt it from keepalived.
public struct VRRPRoleRecord: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case instance
        case group
    }

    public var kind: Kind
    public var name: String
    /// keepalived's word: `MASTER`, `BACKUP`, `FAULT`, `STOP` (or one lvsctl does not know).
    public var state: String
    /// The instance's last reported priority; nil for a group.
    public var priority: Int?
    /// When the role last changed.
    public var changedAt: Date

    public init(kind: Kind, name: String, state: String, priority: Int? = nil, changedAt: Date) {
        self.kind = kind
        self.name = name
        self.state = state
        self.priority = priority
        self.changedAt = changedAt
    }
}

/// This director's maintenance (`lvsctl maintenance on`): who put it there, why and since when.
public struct DirectorMaintenance: Hashable, Sendable {
    public var author: String
    public var reason: String?
    public var since: Date

    public init(author: String, reason: String? = nil, since: Date) {
        self.author = author
        self.reason = reason
        self.since = since
    }
}

extension Store {
    // MARK: VRRP roles

    /// Every recorded role, groups first, each kind sorted by name.
    public func vrrpRoles() throws -> [VRRPRoleRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT kind, name, state, priority, changed_at FROM vrrp_role ORDER BY kind DESC, name")
                .map { row in
                    let raw: String = row[0]
                    guard let kind = VRRPRoleRecord.Kind(rawValue: raw) else {
                        throw StoreError.invalidStoredValue(table: "vrrp_role", column: "kind", value: raw)
                    }
                    return VRRPRoleRecord(
                        kind: kind, name: row[1], state: row[2], priority: row[3], changedAt: Timestamp.date(row[4]))
                }
        }
    }

    /// Records roles, each replacing the stored one of its instance or group, in one transaction.
    public func setVRRPRoles(_ roles: [VRRPRoleRecord]) throws {
        try write { db in
            for r in roles {
                try db.execute(
                    sql: """
                        INSERT INTO vrrp_role (kind, name, state, priority, changed_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (kind, name) DO UPDATE
                        SET state = excluded.state, priority = excluded.priority, changed_at = excluded.changed_at
                        """,
                    arguments: [r.kind.rawValue, r.name, r.state, r.priority, Timestamp.micros(r.changedAt)])
            }
        }
    }

    /// Forgets the roles of instances and groups not in `keep` (gone from the manifest).
    public func removeVRRPRoles(except keep: Set<String>, kind: VRRPRoleRecord.Kind) throws {
        try write { db in
            let names = try String.fetchAll(db, sql: "SELECT name FROM vrrp_role WHERE kind = ?", arguments: [kind.rawValue])
            for n in names where !keep.contains(n) {
                try db.execute(sql: "DELETE FROM vrrp_role WHERE kind = ? AND name = ?", arguments: [kind.rawValue, n])
            }
        }
    }

    /// Records VRRP transitions as one run of origin `vrrp` with one audit row each, in one
    /// transaction with the roles they lead to: a role is never stored without its audit row.
    ///
    /// - Parameters:
    ///   - manifest: the manifest that declares the `vrrp` section.
    ///   - rows: `action` (`vrrp-instance`, `vrrp-group`), before and after values (JSON text).
    /// - Returns: the stored audit rows.
    @discardableResult
    public func recordVRRPTransitions(
        manifest: String, author: String, roles: [VRRPRoleRecord],
        rows: [(action: String, before: String?, after: String?)]
    ) throws -> [AuditEntry] {
        let at = self.now
        let micros = Timestamp.micros(at)
        return try write { db in
            let out = try Self.recordEventRun(db, manifest: manifest, author: author, origin: .vrrp, at: micros, rows: rows)
            for r in roles {
                try db.execute(
                    sql: """
                        INSERT INTO vrrp_role (kind, name, state, priority, changed_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (kind, name) DO UPDATE
                        SET state = excluded.state, priority = excluded.priority, changed_at = excluded.changed_at
                        """,
                    arguments: [r.kind.rawValue, r.name, r.state, r.priority, Timestamp.micros(r.changedAt)])
            }
            return out
        }
    }

    // MARK: Director maintenance

    /// This director's maintenance, or nil when it is not in maintenance.
    public func directorMaintenance() throws -> DirectorMaintenance? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT author, reason, since FROM director_maintenance WHERE id = 1").map {
                DirectorMaintenance(author: $0[0], reason: $0[1], since: Timestamp.date($0[2]))
            }
        }
    }

    /// Puts the director into maintenance (`on` non-nil) or takes it out (nil), with one audit
    /// row (origin `maintenance`, action `director-maintenance-on` / `-off`) in the same
    /// transaction. `manifest` names the manifest with the `vrrp` section (the audit needs one).
    ///
    /// - Returns: the state before, and the audit row; no row when nothing changed (on while on
    ///   with the same reason, off while off).
    @discardableResult
    public func setDirectorMaintenance(
        _ on: DirectorMaintenance?, manifest: String, author: String,
        values: (DirectorMaintenance?) -> String?
    ) throws -> (before: DirectorMaintenance?, audit: AuditEntry?) {
        let micros = Timestamp.micros(self.now)
        return try write { db in
            let before = try Row.fetchOne(db, sql: "SELECT author, reason, since FROM director_maintenance WHERE id = 1").map {
                DirectorMaintenance(author: $0[0], reason: $0[1], since: Timestamp.date($0[2]))
            }
            if before == nil && on == nil { return (before, nil) }
            if let b = before, let on, b.reason == on.reason { return (before, nil) }
            if let on {
                try db.execute(
                    sql: """
                        INSERT INTO director_maintenance (id, author, reason, since) VALUES (1, ?, ?, ?)
                        ON CONFLICT (id) DO UPDATE SET author = excluded.author, reason = excluded.reason, since = excluded.since
                        """,
                    arguments: [on.author, on.reason, Timestamp.micros(on.since)])
            } else {
                try db.execute(sql: "DELETE FROM director_maintenance")
            }
            let action = on == nil ? "director-maintenance-off" : "director-maintenance-on"
            let entry = try Self.recordEventRun(
                db, manifest: manifest, author: author, origin: .maintenance, at: micros,
                rows: [(action: action, before: values(before), after: values(on))]
            ).first
            return (before, entry)
        }
    }
}
