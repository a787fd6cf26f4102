import Foundation
import GRDB

/// One virtual address's BGP route as the daemon last decided it.
public struct BGPRouteRecord: Hashable, Sendable {
    /// The address as `IPAddress` prints it.
    public var address: String
    /// `announced`, `draining` or `withdrawn`.
    public var state: String
    /// Why (the announcement verdict: `ready`, `director in maintenance`, …).
    public var reason: String
    public var changedAt: Date

    public init(address: String, state: String, reason: String, changedAt: Date) {
        self.address = address
        self.state = state
        self.reason = reason
        self.changedAt = changedAt
    }
}

extension Store {
    /// Every address's route, by address.
    public func bgpRoutes() throws -> [BGPRouteRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT address, state, reason, changed_at FROM bgp_route ORDER BY address").map {
                BGPRouteRecord(address: $0[0], state: $0[1], reason: $0[2], changedAt: Timestamp.date($0[3]))
            }
        }
    }

    /// Records route transitions: one run (origin `bgp`) with one audit row per transition
    /// (`action` `bgp-announce`, `bgp-drain`, `bgp-withdraw`), and the routes they lead to, in
    /// one transaction: a route is never stored without its audit row. `forget`: addresses no
    /// manifest declares any more, removed once withdrawn.
    @discardableResult
    public func recordBGPTransitions(
        manifest: String, author: String, routes: [BGPRouteRecord], forget: [String] = [],
        rows: [(action: String, before: String?, after: String?)]
    ) throws -> [AuditEntry] {
        let micros = Timestamp.micros(self.now)
        return try write { db in
            let out = rows.isEmpty
                ? [] : try Self.recordEventRun(db, manifest: manifest, author: author, origin: .bgp, at: micros, rows: rows)
            for r in routes {
                try db.execute(
                    sql: """
                        INSERT INTO bgp_route (address, state, reason, changed_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (address) DO UPDATE
                        SET state = excluded.state, reason = excluded.reason, changed_at = excluded.changed_at
                        """,
                    arguments: [r.address, r.state, r.reason, Timestamp.micros(r.changedAt)])
            }
            for a in forget { try db.execute(sql: "DELETE FROM bgp_route WHERE address = ?", arguments: [a]) }
            return out
        }
    }
}
