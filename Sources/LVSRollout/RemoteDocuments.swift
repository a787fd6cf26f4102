import Foundation
import LVSModel
import LVSPlan

// What a director's own lvsctl prints with `-o json`, as the rollout reads it. Only the members
// the rollout uses are decoded; each document's `kind` and `formatVersion` are checked first, so
// a director running an lvsctl of another format version is reported as a version skew, never
// misread.

/// The machine formats a rollout reads from a director, at the versions this lvsctl reads.
/// `LVSCommandsTests` checks these are the versions this lvsctl writes.
public enum RemoteFormats {
    public static let expected: [String: Int] = [
        "plan": Plan.currentFormatVersion, "apply": 1, "status": 3, "drift": 1, "revisions": 1, "rollback": 1,
    ]

    /// Decodes a document of `kind` printed by a remote lvsctl.
    public static func decode<T: Decodable>(_ type: T.Type, kind: String, from data: Data) throws(RemoteDocumentError) -> T {
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data)
        } catch {
            let text = String(decoding: data.prefix(200), as: UTF8.self)
            throw .malformed(kind: kind, detail: "not a machine document (\(Escaped.excerpt(text)))")
        }
        guard header.kind == kind else {
            throw .malformed(kind: kind, detail: "printed a \(Escaped.excerpt(header.kind)) document where a \(kind) document was expected")
        }
        let expected = expected[kind] ?? 1
        guard header.formatVersion == expected else {
            throw .versionSkew(kind: kind, remote: header.formatVersion, local: expected)
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .malformed(kind: kind, detail: "\(error)")
        }
    }

    struct Header: Decodable {
        var kind: String
        var formatVersion: Int
        enum CodingKeys: String, CodingKey { case kind, formatVersion }
    }
}

/// A remote document the rollout cannot use.
public enum RemoteDocumentError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The remote lvsctl writes another version of a format this one reads.
    case versionSkew(kind: String, remote: Int, local: Int)
    case malformed(kind: String, detail: String)

    public var description: String {
        switch self {
        case .versionSkew(let kind, let remote, let local):
            "version skew: the director's lvsctl prints \(kind) format \(remote), this lvsctl reads format \(local); "
                + "install the same lvsctl release on the director and here"
        case .malformed(let kind, let detail): "unreadable \(kind) output: \(detail)"
        }
    }
}

/// A stored revision as `apply`, `rollback` and `revisions` print it.
public struct RemoteRevision: Decodable, Hashable, Sendable {
    public var manifest: String
    public var number: Int
    public var contentHash: String
    public var author: String
    public var message: String?
    public var kind: String
    public var basedOn: Int?
    /// RFC 3339 as printed.
    public var createdAt: String

    public init(manifest: String, number: Int, contentHash: String, author: String, message: String? = nil, kind: String = "apply", basedOn: Int? = nil, createdAt: String) {
        self.manifest = manifest
        self.number = number
        self.contentHash = contentHash
        self.author = author
        self.message = message
        self.kind = kind
        self.basedOn = basedOn
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey { case manifest, number, contentHash, author, message, kind, basedOn, createdAt }

    /// Seconds since the epoch of `createdAt` (the director's clock).
    public var createdAtSeconds: Double? { RFC3339.parse(createdAt) }
}

/// `lvsctl revisions NAME -o json`.
public struct RemoteRevisions: Decodable, Hashable, Sendable {
    public var revisions: [RemoteRevision]
    enum CodingKeys: String, CodingKey { case revisions }
    public init(revisions: [RemoteRevision]) { self.revisions = revisions }
}

/// `lvsctl apply -o json`.
public struct RemoteApply: Decodable, Sendable {
    public var plan: Plan
    public var revision: RemoteRevision?
    public var applied: Int
    public var auditRows: Int
    enum CodingKeys: String, CodingKey { case plan, revision, applied, auditRows }
    public init(plan: Plan, revision: RemoteRevision?, applied: Int, auditRows: Int) {
        self.plan = plan
        self.revision = revision
        self.applied = applied
        self.auditRows = auditRows
    }
}

/// `lvsctl rollback NAME --to N -o json`.
public struct RemoteRollback: Decodable, Sendable {
    public var to: Int
    public var plan: Plan
    public var revision: RemoteRevision?
    public var applied: Int
    enum CodingKeys: String, CodingKey { case to, plan, revision, applied }
    public init(to: Int, plan: Plan, revision: RemoteRevision?, applied: Int) {
        self.to = to
        self.plan = plan
        self.revision = revision
        self.applied = applied
    }
}

/// `lvsctl drift -o json`.
public struct RemoteDrift: Decodable, Hashable, Sendable {
    public struct Item: Decodable, Hashable, Sendable {
        public var kind: String
        public var manifest: String
        public var service: String?
        public var realServer: String?
        public var field: String
        public var expected: String?
        public var live: String?
        enum CodingKeys: String, CodingKey { case kind, manifest, service, realServer, field, expected, live }
        public init(kind: String, manifest: String, service: String? = nil, realServer: String? = nil, field: String, expected: String? = nil, live: String? = nil) {
            self.kind = kind
            self.manifest = manifest
            self.service = service
            self.realServer = realServer
            self.field = field
            self.expected = expected
            self.live = live
        }

        /// `weight of 10.0.0.11:80 in tcp/10.0.0.100:80: expected 5, live 3`.
        public var summary: String {
            var s = field
            if let realServer { s += " of \(realServer)" }
            if let service { s += " in \(service)" }
            return s + ": " + "\(kind), expected \(expected ?? "none"), live \(live ?? "none")"
        }
    }
    public var drift: [Item]
    enum CodingKeys: String, CodingKey { case drift }
    public init(drift: [Item]) { self.drift = drift }
}

/// `lvsctl status -o json`: the live table, the daemon's health states and, when the director
/// reports them, its VRRP roles.
public struct RemoteStatus: Decodable, Sendable {
    public struct Health: Decodable, Hashable, Sendable {
        public var service: VirtualService.ID
        public var realServer: RealServer.ID
        public var healthy: Bool
        public var lastCheck: String?
        public var lastError: String?
        enum CodingKeys: String, CodingKey { case service, realServer, healthy, lastCheck, lastError }
        public init(service: VirtualService.ID, realServer: RealServer.ID, healthy: Bool, lastCheck: String? = nil, lastError: String? = nil) {
            self.service = service
            self.realServer = realServer
            self.healthy = healthy
            self.lastCheck = lastCheck
            self.lastError = lastError
        }
        public var lastCheckSeconds: Double? { lastCheck.flatMap(RFC3339.parse) }
    }

    public var table: LiveTable
    public var health: [Health]
    /// The VRRP instances the director reports (none when its lvsctl does not report roles).
    public var vrrp: [VRRPInstanceState]

    public init(table: LiveTable, health: [Health] = [], vrrp: [VRRPInstanceState] = []) {
        self.table = table
        self.health = health
        self.vrrp = vrrp
    }

    enum CodingKeys: String, CodingKey { case table, health, director }

    /// status's `director` (since format 2; null without a `vrrp` section): the instances' roles and this
    /// director's maintenance (`lvsctl-status-v3.schema.json`).
    private struct Director: Decodable {
        struct Instance: Decodable {
            var name: String
            var state: String
            enum CodingKeys: String, CodingKey { case name, state }
        }
        struct Maintenance: Decodable {
            var author: String
            enum CodingKeys: String, CodingKey { case author }
        }
        var instances: [Instance]
        var maintenance: Maintenance?
        enum CodingKeys: String, CodingKey { case instances, maintenance }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        table = try c.decode(LiveTable.self, forKey: .table)
        health = try c.decodeIfPresent([Health].self, forKey: .health) ?? []
        let director = try c.decodeIfPresent(Director.self, forKey: .director)
        vrrp = director.map { d in
            d.instances.map { VRRPInstanceState(name: $0.name, state: $0.state, maintenance: d.maintenance != nil) }
        } ?? []
    }

    /// The table's fingerprint (configuration only, no counters): what a saved rollout plan records.
    public var fingerprint: String { table.fingerprint }
}

/// One VRRP instance as a director reports it in `status` (`director.instances`; a state is
/// compared case-insensitively).
public struct VRRPInstanceState: Hashable, Sendable {
    public var name: String
    /// `master`, `backup`, `fault`…, lower case.
    public var state: String
    /// The director (or this instance) is in maintenance: a fault is then intended.
    public var maintenance: Bool

    public init(name: String, state: String, maintenance: Bool = false) {
        self.name = name
        self.state = state.lowercased()
        self.maintenance = maintenance
    }
}

