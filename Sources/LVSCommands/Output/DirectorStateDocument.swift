import Foundation
import LVSKernel
import LVSManifest
import LVSModel
import LVSReconciler
import LVSStore

/// What `lvsctl export -o state` writes and `lvsctl plan --against FILE` reads: everything a plan
/// depends on besides the manifests, captured on a director so that a CI job without root or
/// IPVS computes the plan the director would (`Manifests/lvsctl-directorState-v1.schema.json`).
///
/// What must stay true: the state holds every input of ``Reconciler/plan(_:against:now:scope:policy:fingerprint:overlay:)``
/// (``DirectorState``), and `plan --against` goes through that function exactly as `plan` does;
/// `Tests/LVSCommandsTests/OfflinePlanTests` compares the two over every manifest in `Manifests/`.
/// Times are kept to the millisecond (as in every machine format): a drain deadline less than
/// 1 ms from the moment of the plan is the only input that can round differently.
struct DirectorStateDocument: MachineDocument {
    static let kind = "directorState"
    static let formatVersion = 1

    var lvsctlVersion: String
    var capturedAt: Date
    var info: KernelInfo?
    var state: DirectorState
    /// The schedulers and persistence engines the director's kernel can load; nil when unknown.
    var capabilities: KernelCapabilities?
    /// The applied revision of each manifest (for the reader; the planner does not need them).
    var appliedRevisions: [AppliedRevision]

    struct AppliedRevision: Codable, Hashable {
        var manifest: String
        var number: Int
        var contentHash: String
        enum CodingKeys: String, CodingKey { case manifest, number, contentHash }
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case formatVersion, kind, lvsctlVersion, capturedAt, ipvsVersion, connectionTableSize, table, owners, drains,
            health, maintenance, reportedQuorum, capabilities, appliedRevisions
    }

    // MARK: Reading the director

    /// Captures the state of the director `store` and `kernel` describe.
    static func capture(store: Store, kernel: any IPVSKernel, probe: Bool, now: Date) throws -> DirectorStateDocument {
        let info = try? kernel.info()
        let live = try kernel.snapshot()
        let records = try PlanningRecords.read(from: store)
        var applied: [AppliedRevision] = []
        for name in try store.manifests() {
            if let r = try store.appliedRevision(manifest: name) {
                applied.append(AppliedRevision(manifest: name, number: r.number, contentHash: r.contentHash))
            }
        }
        return DirectorStateDocument(
            lvsctlVersion: LVSCommand.version, capturedAt: now, info: info,
            state: DirectorState(live: live, records: records),
            capabilities: probe ? KernelCapabilities.probe() : nil, appliedRevisions: applied)
    }

    // MARK: Encoding

    private struct Owner: Codable {
        var service: VirtualService.ID
        var manifest: String
        enum CodingKeys: String, CodingKey { case service, manifest }
    }

    private struct Drain: Codable {
        var record: DrainRecord
        init(_ record: DrainRecord) { self.record = record }
        enum CodingKeys: String, CodingKey { case service, realServer, manifest, startedAt, deadline, reason }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(record.service, forKey: .service)
            try c.encode(record.realServer, forKey: .realServer)
            try c.encode(record.manifest, forKey: .manifest)
            try c.encode(record.startedAt, forKey: .startedAt)
            try c.encodeIfPresent(record.deadline, forKey: .deadline)
            try c.encode(record.reason.rawValue, forKey: .reason)
        }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let reasonText = try c.decode(String.self, forKey: .reason)
            guard let reason = DrainRecord.Reason(rawValue: reasonText) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .reason, in: c,
                    debugDescription: "\(reasonText) is not a drain reason (\(DrainRecord.Reason.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            record = DrainRecord(
                service: try c.decode(VirtualService.ID.self, forKey: .service),
                realServer: try c.decode(RealServer.ID.self, forKey: .realServer),
                manifest: try c.decode(String.self, forKey: .manifest), startedAt: try c.decode(Date.self, forKey: .startedAt),
                deadline: try c.decodeIfPresent(Date.self, forKey: .deadline), reason: reason)
        }
    }

    private struct Health: Codable {
        var record: HealthRecord
        init(_ record: HealthRecord) { self.record = record }
        enum CodingKeys: String, CodingKey { case service, realServer, healthy, changedAt }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(record.service, forKey: .service)
            try c.encode(record.realServer, forKey: .realServer)
            try c.encode(record.healthy, forKey: .healthy)
            try c.encode(record.changedAt, forKey: .changedAt)
        }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            record = HealthRecord(
                service: try c.decode(VirtualService.ID.self, forKey: .service),
                realServer: try c.decode(RealServer.ID.self, forKey: .realServer),
                healthy: try c.decode(Bool.self, forKey: .healthy), changedAt: try c.decode(Date.self, forKey: .changedAt))
        }
    }

    private struct Quorum: Codable {
        var service: VirtualService.ID
        var quorum: Bool
        enum CodingKeys: String, CodingKey { case service, quorum }
    }

    private struct Capabilities: Codable {
        var schedulers: [String]?
        var persistenceEngines: [String]?
        enum CodingKeys: String, CodingKey { case schedulers, persistenceEngines }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lvsctlVersion, forKey: .lvsctlVersion)
        try c.encode(capturedAt, forKey: .capturedAt)
        try c.encodeIfPresent(info?.versionString, forKey: .ipvsVersion)
        try c.encodeIfPresent(info?.connectionTableSize, forKey: .connectionTableSize)
        try c.encode(state.live, forKey: .table)
        let r = state.records
        try c.encode(r.owners.sorted { $0.key < $1.key }.map { Owner(service: $0.key, manifest: $0.value) }, forKey: .owners)
        try c.encode(r.drains.map(Drain.init), forKey: .drains)
        try c.encode(r.health.map(Health.init), forKey: .health)
        try c.encode(r.maintenance.map(MaintenanceFlagObject.init), forKey: .maintenance)
        try c.encode(r.reportedQuorum.sorted { $0.key < $1.key }.map { Quorum(service: $0.key, quorum: $0.value) }, forKey: .reportedQuorum)
        if let capabilities {
            try c.encode(
                Capabilities(
                    schedulers: capabilities.availableSchedulers.map { $0.map(\.rawValue).sorted() },
                    persistenceEngines: capabilities.availablePersistenceEngines.map { $0.sorted() }),
                forKey: .capabilities)
        }
        try c.encode(appliedRevisions.sorted { $0.manifest < $1.manifest }, forKey: .appliedRevisions)
    }

    /// Writes the state file (atomically), or prints it when `path` is nil or `-`.
    func write(to path: String?) throws {
        var data = try Output.json(self)
        data.append(UInt8(ascii: "\n"))
        guard let path, path != "-" else {
            FileHandle.standardOutput.write(data)
            return
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    // MARK: Decoding

    /// Reads and checks a state file: its kind, version and keys. Errors name the file, the JSON
    /// path and what to do.
    static func load(path: String) throws -> DirectorStateDocument {
        let data: Data
        switch InputFile.read(path) {
        case .success(let bytes): data = Data(bytes)
        case .failure(let f): throw CLIError("\(path): cannot read the state file: \(f.message); \(f.hint)")
        }
        let again = "capture it again with `lvsctl export -o state --out \(path)` on the director"
        struct Header: Decodable {
            var formatVersion: Int?
            var kind: String?
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw CLIError("\(path): not a JSON object; \(again)")
        }
        guard header.kind == kind else {
            throw CLIError("\(path): not a director state (kind \(header.kind.map { "\"\($0)\"" } ?? "missing"), expected \"\(kind)\"); \(again)")
        }
        guard header.formatVersion == formatVersion else {
            throw CLIError("\(path): director state format version \(header.formatVersion.map(String.init) ?? "missing"); this lvsctl reads version \(formatVersion); \(again)")
        }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            let known = Set(CodingKeys.allCases.map(\.stringValue))
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw CLIError("\(path): \(unknown): unknown key in a director state (known: \(known.sorted().joined(separator: ", "))); \(again)")
            }
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { d in
            let c = try d.singleValueContainer()
            let text = try c.decode(String.self)
            guard let t = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(text) is not an RFC 3339 time")
            }
            return Date(timeIntervalSince1970: t)
        }
        do {
            return try decoder.decode(DirectorStateDocument.self, from: data)
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError("\(path): not a valid director state: \(describe(error)); \(again)")
        }
    }
}

extension DirectorStateDocument: Decodable {
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lvsctlVersion = try c.decode(String.self, forKey: .lvsctlVersion)
        capturedAt = try c.decode(Date.self, forKey: .capturedAt)
        if let version = try c.decodeIfPresent(String.self, forKey: .ipvsVersion),
            let size = try c.decodeIfPresent(UInt32.self, forKey: .connectionTableSize)
        {
            let parts = version.split(separator: ".").compactMap { UInt32($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 < 256 }) else {
                throw DecodingError.dataCorruptedError(forKey: .ipvsVersion, in: c, debugDescription: "\(version) is not an IPVS version (1.2.1)")
            }
            info = KernelInfo(version: parts[0] << 16 | parts[1] << 8 | parts[2], connectionTableSize: size)
        } else {
            info = nil
        }
        let live = try c.decode(LiveTable.self, forKey: .table)
        var owners: [VirtualService.ID: String] = [:]
        for o in try c.decode([Owner].self, forKey: .owners) { owners[o.service] = o.manifest }
        var quorum: [VirtualService.ID: Bool] = [:]
        for q in try c.decode([Quorum].self, forKey: .reportedQuorum) { quorum[q.service] = q.quorum }
        let records = PlanningRecords(
            owners: owners, drains: try c.decode([Drain].self, forKey: .drains).map(\.record),
            health: try c.decode([Health].self, forKey: .health).map(\.record),
            maintenance: try c.decode([MaintenanceFlagObject].self, forKey: .maintenance).map(\.flag), reportedQuorum: quorum)
        state = DirectorState(live: live, records: records)
        if let caps = try c.decodeIfPresent(Capabilities.self, forKey: .capabilities) {
            var schedulers: Set<Scheduler>?
            if let names = caps.schedulers {
                schedulers = Set(names.map(Scheduler.init(rawValue:)))
            }
            capabilities = KernelCapabilities(
                availableSchedulers: schedulers, availablePersistenceEngines: caps.persistenceEngines.map(Set.init))
        } else {
            capabilities = nil
        }
        appliedRevisions = try c.decode([AppliedRevision].self, forKey: .appliedRevisions)
    }
}
