import Foundation
import GRDB
import LVSModel

// Internal row types, one per table. Model types never conform to GRDB protocols: these records
// are mapped to the public value types at the edge of the store.

/// Shared coding conventions: snake_case columns.
protocol StoreRecord: Codable, FetchableRecord, PersistableRecord {}

extension StoreRecord {
    static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// A row of `manifest`.
struct ManifestRecord: StoreRecord {
    static let databaseTableName = "manifest"
    var name: String
    var createdAt: Int64
}

/// A row of `revision`. The content is in `revision_chunk` (see `Store.content(ofRevision:)`).
struct RevisionRecord: StoreRecord {
    static let databaseTableName = "revision"
    var id: Int64?
    var manifest: String
    var number: Int
    var contentHash: String
    var author: String
    var message: String?
    var createdAt: Int64
    var sourcePath: String?
    var kind: String
    var basedOn: Int?
    var failedAt: Int64?

    /// The model, with `content` (read separately).
    func model(content: String) throws -> Revision {
        guard let id else { throw StoreError.notFound("revision id") }
        guard let kind = Revision.Kind(rawValue: kind) else {
            throw StoreError.invalidStoredValue(table: "revision", column: "kind", value: self.kind)
        }
        return Revision(
            id: id, manifest: manifest, number: number, contentHash: contentHash, content: content,
            author: author, message: message, createdAt: Timestamp.date(createdAt), sourcePath: sourcePath,
            kind: kind, basedOn: basedOn, failed: failedAt != nil)
    }
}

/// A row of `ownership`.
struct OwnershipRecord: StoreRecord {
    static let databaseTableName = "ownership"
    var service: String
    var manifest: String
    var revisionId: Int64
    var claimedAt: Int64

    func model() throws -> Ownership {
        Ownership(
            service: try parseService(service, table: "ownership"), manifest: manifest, revisionID: revisionId,
            claimedAt: Timestamp.date(claimedAt))
    }
}

/// A row of `apply_run`.
struct ApplyRunRecord: StoreRecord {
    static let databaseTableName = "apply_run"
    var id: Int64?
    var startedAt: Int64
    var finishedAt: Int64?
    var manifest: String?
    var revisionId: Int64?
    var origin: String
    var author: String
    var status: String
    var error: String?

    func model() throws -> ApplyRun {
        guard let id else { throw StoreError.notFound("apply run id") }
        guard let origin = ChangeOrigin(rawValue: origin) else {
            throw StoreError.invalidStoredValue(table: "apply_run", column: "origin", value: self.origin)
        }
        guard let status = ApplyRun.Status(rawValue: status) else {
            throw StoreError.invalidStoredValue(table: "apply_run", column: "status", value: self.status)
        }
        return ApplyRun(
            id: id, startedAt: Timestamp.date(startedAt), finishedAt: finishedAt.map(Timestamp.date),
            manifest: manifest, revisionID: revisionId, origin: origin, author: author, status: status, error: error)
    }
}

/// A row of `audit`.
struct AuditRecord: StoreRecord {
    static let databaseTableName = "audit"
    var id: Int64?
    var runId: Int64
    var revisionId: Int64?
    var manifest: String
    var at: Int64
    var action: String
    var service: String?
    var realServer: String?
    var beforeJson: String?
    var afterJson: String?
    var result: String
    var errno: Int32?
    var kernelError: String?
    var durationUs: Int64
    var origin: String

    init(_ e: AuditEntry) {
        id = e.id
        runId = e.runID
        revisionId = e.revisionID
        manifest = e.manifest
        at = Timestamp.micros(e.at)
        action = e.action
        service = e.service?.description
        realServer = e.realServer?.description
        beforeJson = e.before
        afterJson = e.after
        result = e.result.rawValue
        errno = e.errno
        kernelError = e.kernelError
        durationUs = e.durationMicroseconds
        origin = e.origin.rawValue
    }

    func model() throws -> AuditEntry {
        guard let result = AuditEntry.Result(rawValue: result) else {
            throw StoreError.invalidStoredValue(table: "audit", column: "result", value: self.result)
        }
        guard let origin = ChangeOrigin(rawValue: origin) else {
            throw StoreError.invalidStoredValue(table: "audit", column: "origin", value: self.origin)
        }
        return AuditEntry(
            id: id, runID: runId, revisionID: revisionId, manifest: manifest, at: Timestamp.date(at),
            action: action, service: try service.map { try parseService($0, table: "audit") },
            realServer: try realServer.map { try parseRealServer($0, table: "audit") },
            before: beforeJson, after: afterJson, result: result, errno: errno, kernelError: kernelError,
            durationMicroseconds: durationUs, origin: origin)
    }
}

/// A row of `drain`.
struct DrainRow: StoreRecord {
    static let databaseTableName = "drain"
    var service: String
    var realServer: String
    var manifest: String
    var startedAt: Int64
    var deadline: Int64?
    var reason: String

    init(_ d: DrainRecord) {
        service = d.service.description
        realServer = d.realServer.description
        manifest = d.manifest
        startedAt = Timestamp.micros(d.startedAt)
        deadline = d.deadline.map(Timestamp.micros)
        reason = d.reason.rawValue
    }

    func model() throws -> DrainRecord {
        guard let reason = DrainRecord.Reason(rawValue: reason) else {
            throw StoreError.invalidStoredValue(table: "drain", column: "reason", value: self.reason)
        }
        return DrainRecord(
            service: try parseService(service, table: "drain"),
            realServer: try parseRealServer(realServer, table: "drain"), manifest: manifest,
            startedAt: Timestamp.date(startedAt), deadline: deadline.map(Timestamp.date),
            reason: reason)
    }
}

/// A row of `health`.
struct HealthRow: StoreRecord {
    static let databaseTableName = "health"
    var service: String
    var realServer: String
    var healthy: Bool
    var checkedAt: Int64?
    var lastError: String?
    var consecutiveSuccesses: Int
    var consecutiveFailures: Int
    var changedAt: Int64

    init(_ h: HealthRecord) {
        service = h.service.description
        realServer = h.realServer.description
        healthy = h.healthy
        checkedAt = h.lastCheck.map(Timestamp.micros)
        lastError = h.lastError
        consecutiveSuccesses = h.consecutiveSuccesses
        consecutiveFailures = h.consecutiveFailures
        changedAt = Timestamp.micros(h.changedAt)
    }

    func model() throws -> HealthRecord {
        HealthRecord(
            service: try parseService(service, table: "health"),
            realServer: try parseRealServer(realServer, table: "health"), healthy: healthy,
            lastCheck: checkedAt.map(Timestamp.date), lastError: lastError,
            consecutiveSuccesses: consecutiveSuccesses, consecutiveFailures: consecutiveFailures,
            changedAt: Timestamp.date(changedAt))
    }
}

/// A row of `maintenance`.
struct MaintenanceRow: StoreRecord {
    static let databaseTableName = "maintenance"
    var id: Int64?
    var service: String
    var realServer: String?
    var reason: String?
    var author: String
    var since: Int64

    func model() throws -> MaintenanceFlag {
        MaintenanceFlag(
            service: try parseService(service, table: "maintenance"),
            realServer: try realServer.map { try parseRealServer($0, table: "maintenance") }, reason: reason,
            author: author, since: Timestamp.date(since))
    }
}

func parseService(_ text: String, table: String) throws -> VirtualService.ID {
    guard let id = VirtualService.ID(text) else {
        throw StoreError.invalidStoredValue(table: table, column: "service", value: text)
    }
    return id
}

func parseRealServer(_ text: String, table: String) throws -> RealServer.ID {
    guard let id = RealServer.ID(text) else {
        throw StoreError.invalidStoredValue(table: table, column: "real_server", value: text)
    }
    return id
}
