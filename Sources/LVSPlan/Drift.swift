public import LVSModel

/// One difference between what a manifest declares and what the kernel has.
public struct DriftItem: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Declared but not in the kernel.
        case missing
        /// In the kernel (in a service a manifest owns) but not declared.
        case unexpected
        /// In both, with a different value.
        case changed
    }

    public var kind: Kind
    /// The manifest that declares or owns it.
    public var manifest: String
    /// nil for kernel-wide settings.
    public var service: VirtualService.ID?
    public var realServer: RealServer.ID?
    /// The field: `scheduler`, `weight`, `tunnel.port`, `timeouts.tcp`, `syncDaemons[master].syncID`;
    /// `service`, `realServer` or `syncDaemon` for a whole object that is missing or unexpected.
    public var field: String
    /// The declared value as text; nil when not declared.
    public var expected: String?
    /// The live value as text; nil when not in the kernel.
    public var live: String?

    public init(
        kind: Kind, manifest: String, service: VirtualService.ID?, realServer: RealServer.ID? = nil,
        field: String, expected: String?, live: String?
    ) {
        self.kind = kind
        self.manifest = manifest
        self.service = service
        self.realServer = realServer
        self.field = field
        self.expected = expected
        self.live = live
    }

    /// `changed tcp/10.0.0.100:80 10.0.0.1:80 weight: expected 100, live 50 (web)`.
    public var description: String {
        var s = kind.rawValue
        if let service { s += " \(service)" }
        if let realServer { s += " \(realServer)" }
        s += " \(field): expected \(expected ?? "absent"), live \(live ?? "absent") (\(manifest))"
        return s
    }
}

/// Drift between the declared and the live table, for `lvsctl drift`.
///
/// Pure: attribution ("last set by lvsctl at …") is added by the CLI from the audit.
public enum Drift {
    /// Every difference in services the manifests declare or own, in a stable order.
    ///
    /// - Parameters:
    ///   - desired: the applied desired states.
    ///   - live: the live table.
    ///   - owners: which manifest owns which service; owned services absent from their manifest's
    ///     desired state are reported as unexpected.
    ///   - weightOverrides: weights in force instead of the declared ones (health, maintenance),
    ///     so a server taken down by a health check is not reported as drift.
    public static func compute(
        desired: [DesiredState], live: LiveTable, owners: [VirtualService.ID: String],
        weightOverrides: [ServiceRealServerKey: UInt32] = [:]
    ) -> [DriftItem] {
        var items: [DriftItem] = []
        var declared: Set<VirtualService.ID> = []
        var liveByID: [VirtualService.ID: LiveService] = [:]
        for s in live.services { liveByID[s.service.id] = s }

        for ds in desired.sorted(by: { $0.manifest < $1.manifest }) {
            let m = ds.manifest
            for spec in ds.services.sorted(by: { $0.service.id < $1.service.id }) {
                let id = spec.service.id
                guard declared.insert(id).inserted else { continue }
                guard let l = liveByID[id] else {
                    items.append(DriftItem(kind: .missing, manifest: m, service: id, field: "service", expected: "\(id)", live: nil))
                    continue
                }
                for f in FieldDifference.service(desired: spec.service.normalized, live: l.service) {
                    items.append(DriftItem(kind: .changed, manifest: m, service: id, field: f.field, expected: f.expected, live: f.live))
                }
                var liveRS: [RealServer.ID: RealServer] = [:]
                for r in l.realServers { liveRS[r.server.id] = r.server }
                var wanted: Set<RealServer.ID> = []
                for rs in spec.realServers.sorted(by: { $0.server.id < $1.server.id }) {
                    var r = rs.server
                    if let w = weightOverrides[ServiceRealServerKey(service: id, realServer: r.id)] { r.weight = w }
                    wanted.insert(r.id)
                    guard let lr = liveRS[r.id] else {
                        items.append(DriftItem(kind: .missing, manifest: m, service: id, realServer: r.id, field: "realServer", expected: "\(r.id)", live: nil))
                        continue
                    }
                    for f in FieldDifference.realServer(desired: r, live: lr) {
                        items.append(DriftItem(kind: .changed, manifest: m, service: id, realServer: r.id, field: f.field, expected: f.expected, live: f.live))
                    }
                }
                for r in l.realServers where !wanted.contains(r.server.id) {
                    items.append(DriftItem(
                        kind: .unexpected, manifest: m, service: id, realServer: r.server.id, field: "realServer",
                        expected: nil, live: "\(r.server.id) weight \(r.server.weight)"))
                }
            }
            items += settingsDrift(ds, live: live)
        }

        let manifests = Set(desired.map(\.manifest))
        for s in live.services where !declared.contains(s.service.id) {
            guard let owner = owners[s.service.id], manifests.contains(owner) else { continue }
            items.append(DriftItem(
                kind: .unexpected, manifest: owner, service: s.service.id, field: "service", expected: nil,
                live: "\(s.service.id) with \(s.realServers.count) real servers"))
        }
        return items
    }

    /// Live services nobody owns and no manifest declares (created by ipvsadm, keepalived…).
    public static func foreign(desired: [DesiredState], live: LiveTable, owners: [VirtualService.ID: String]) -> [VirtualService.ID] {
        let declared = Set(desired.flatMap { $0.services.map(\.service.id) })
        return live.services.map(\.service.id).filter { owners[$0] == nil && !declared.contains($0) }
    }

    static func settingsDrift(_ ds: DesiredState, live: LiveTable) -> [DriftItem] {
        var items: [DriftItem] = []
        let m = ds.manifest
        if let t = ds.settings.timeouts {
            for f in FieldDifference.timeouts(desired: t, live: live.timeouts) {
                items.append(DriftItem(kind: .changed, manifest: m, service: nil, field: f.field, expected: f.expected, live: f.live))
            }
        }
        for f in FieldDifference.sysctls(desired: ds.settings.sysctls, live: live.sysctls) {
            items.append(DriftItem(kind: .changed, manifest: m, service: nil, field: "settings.\(f.field)", expected: f.expected, live: f.live))
        }
        if let wanted = ds.settings.syncDaemons {
            for state in [SyncDaemon.State.master, .backup] {
                let d = wanted.first { $0.state == state }
                let l = live.syncDaemons.first { $0.state == state }
                switch (d, l) {
                case (let d?, nil):
                    items.append(DriftItem(kind: .missing, manifest: m, service: nil, field: "syncDaemon", expected: "\(state) on \(d.interface)", live: nil))
                case (nil, let l?):
                    items.append(DriftItem(kind: .unexpected, manifest: m, service: nil, field: "syncDaemon", expected: nil, live: "\(state) on \(l.interface)"))
                case (let d?, let l?):
                    for f in FieldDifference.syncDaemon(desired: d, live: l) {
                        items.append(DriftItem(kind: .changed, manifest: m, service: nil, field: "syncDaemons[\(state)].\(f.field)", expected: f.expected, live: f.live))
                    }
                case (nil, nil):
                    break
                }
            }
        }
        return items
    }
}

extension Drift {
    /// The drift of the rendered files: one item per difference of each file change a plan makes
    /// (``ConfigFile/change(for:)`` decided it): a missing file, or a hand edit (`field` names the
    /// file and the block, `expected` / `live` the values).
    public static func files(_ changes: [Change]) -> [DriftItem] {
        var items: [DriftItem] = []
        for c in changes where c.action.isFileWrite {
            let path = c.after?.file?.path ?? c.before?.file?.path ?? "?"
            let field = "keepalivedConfig \(path)"
            switch c.reason {
            case .configFileMissing:
                items.append(DriftItem(kind: .missing, manifest: c.manifest, service: nil, field: field, expected: "the rendered file", live: nil))
            case .configFileChanged(let diffs) where !diffs.isEmpty:
                for d in diffs {
                    items.append(DriftItem(
                        kind: .changed, manifest: c.manifest, service: nil, field: "\(field): \(d.field)",
                        expected: d.expected.isEmpty ? nil : d.expected, live: d.live.isEmpty ? nil : d.live))
                }
            default:
                items.append(DriftItem(
                    kind: .changed, manifest: c.manifest, service: nil, field: field, expected: "the rendered text",
                    live: "a different text (whitespace or order)"))
            }
        }
        return items
    }
}
