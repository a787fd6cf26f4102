import LVSModel

/// Computes the minimal, safely ordered changes from the live table to the desired state.
///
/// A pure function of `PlanInput`: no I/O, no clock, no logging. The rules:
/// - Minimal: an attribute the kernel edits in place (scheduler, flags, timeout, netmask,
///   persistence engine; weight, forwarding, thresholds, tunnel) is one update. Only an identity
///   change deletes and re-creates; for a real server that is a port change, shown as delete + add.
/// - Graceful: a real server leaving the manifest is drained (weight 0) and deleted by a later
///   plan once it has no connections or its drain deadline has passed. UDP services, and services
///   with a drain timeout of 0, delete at once. A whole service leaving the manifest is deleted at
///   once (guarded by `allowDelete`): IPVS has no way to drain a service as a unit, and an operator
///   who wants a gentle exit removes its real servers first.
/// - Safe order: global settings, then additions and edits, then drains and removals, then
///   stopping sync daemons; sorted by identity within each group.
/// - Owned only: live services nobody owns are listed in `Plan.foreign` and never touched;
///   services owned by manifests out of scope are left alone.
public enum Planner {
    public static func plan(_ input: PlanInput) -> Plan {
        var b = Builder(input: input)
        b.run()
        return b.result()
    }
}

/// The working state of one planning pass.
private struct Builder {
    let input: PlanInput
    let liveByID: [VirtualService.ID: LiveService]
    let drainByKey: [ServiceRealServerKey: DrainState]
    /// The drain records of each service (so that a service's drains are found without a scan).
    let drainKeysByService: [VirtualService.ID: [ServiceRealServerKey]]

    /// The changes in emission order, and the rank of each (kept apart, so that `result` can
    /// put the changes in order where they are, without a second array of them).
    var changes: [Change] = []
    var ranks: [Int] = []
    var violations: [GuardViolation] = []
    var foreign: [VirtualService.ID] = []
    var pending: [PendingDrain] = []
    var drainsToStart: [DrainState] = []
    /// Drain records of services this plan looked at; those not kept are finished.
    var drainsSeen: Set<ServiceRealServerKey> = []
    var drainsKept: Set<ServiceRealServerKey> = []
    var claims: [Claim] = []
    var releases: [VirtualService.ID] = []

    init(input: PlanInput) {
        self.input = input
        var live: [VirtualService.ID: LiveService] = [:]
        for s in input.live.services { live[s.service.id] = s }
        liveByID = live
        var drains: [ServiceRealServerKey: DrainState] = [:]
        for d in input.drains { drains[d.key] = d }
        drainByKey = drains
        var byService: [VirtualService.ID: [ServiceRealServerKey]] = [:]
        for key in drains.keys { byService[key.service, default: []].append(key) }
        drainKeysByService = byService
    }

    /// One declared service: which manifest, where in it.
    struct Declared {
        var manifest: String
        var index: Int
        var spec: ServiceSpec
    }

    // MARK: - Ranks (the safe order)

    static func rank(_ a: Change.Action, restart: Bool = false) -> Int {
        switch a {
        case .setTimeouts, .setSysctls: 0
        case .stopSyncDaemon: restart ? 1 : 10
        case .startSyncDaemon: 2
        case .createService: 3
        case .updateService: 4
        case .addRealServer: 5
        case .updateRealServer: 6
        case .drainRealServer: 7
        case .deleteRealServer: 8
        case .deleteService: 9
        // Files last: the reconciler writes them after every kernel write succeeded.
        case .createKeepalivedConfig, .updateKeepalivedConfig: 11
        }
    }

    mutating func emit(_ c: Change, restart: Bool = false) {
        ranks.append(Builder.rank(c.action, restart: restart))
        changes.append(c)
    }

    // MARK: - The pass

    mutating func run() {
        let desired = input.desired.sorted { $0.manifest < $1.manifest }
        var declared: [VirtualService.ID: Declared] = [:]
        for ds in desired {
            for (i, spec) in ds.services.enumerated() {
                let id = spec.service.id
                if let other = declared[id] {
                    violations.append(GuardViolation(
                        kind: .ownershipConflict, service: id, manifest: ds.manifest,
                        message: "also declared by manifest \(other.manifest) (services[\(other.index)]); declare it in one manifest only"))
                    continue
                }
                declared[id] = Declared(manifest: ds.manifest, index: i, spec: spec)
            }
        }

        for id in declared.keys.sorted() {
            guard let d = declared[id] else { continue }
            planDeclared(d)
        }

        for s in input.live.services where declared[s.service.id] == nil {
            let id = s.service.id
            guard let owner = input.owners[id] else {
                foreign.append(id)
                continue
            }
            guard input.scope.contains(owner) else { continue }
            planDelete(s, owner: owner)
        }

        // Ownership of services that are gone from both the manifest and the kernel.
        for (id, owner) in input.owners where input.scope.contains(owner) && liveByID[id] == nil && declared[id] == nil {
            releases.append(id)
        }

        // Drain records of services no longer in the kernel are stale.
        for d in input.drains where liveByID[d.service] == nil {
            drainsSeen.insert(d.key)
        }

        planSettings(desired)

        for file in input.files {
            if let c = ConfigFile.change(for: file) { emit(c) }
        }
    }

    mutating func planDeclared(_ d: Declared) {
        let id = d.spec.service.id
        let owner = input.owners[id]
        if let owner, owner != d.manifest {
            violations.append(GuardViolation(
                kind: .ownershipConflict, service: id, manifest: d.manifest,
                message: { let c = OwnershipConflict(service: id, owner: owner, claimant: d.manifest); return "\(c.problem); \(c.remedy)" }()))
            return
        }
        guard let live = liveByID[id] else {
            if owner == nil { claims.append(Claim(service: id, manifest: d.manifest)) }
            planCreate(d)
            return
        }
        if owner == nil {
            guard input.policy.adoptForeign else {
                foreign.append(id)
                violations.append(GuardViolation(
                    kind: .foreignService, service: id, manifest: d.manifest,
                    message: { let c = OwnershipConflict(service: id, owner: nil, claimant: d.manifest); return "\(c.problem); \(c.remedy)" }()))
                return
            }
            claims.append(Claim(service: id, manifest: d.manifest))
        }
        planUpdate(d, live: live)
    }

    /// The declared real servers with weight overrides applied (a duplicate, which validation
    /// reports, counts once: the first wins).
    func effective(_ d: Declared) -> [(index: Int, server: RealServer)] {
        var seen = IDLookup<RealServer.ID, Void>(capacity: d.spec.realServers.count)
        let overrides = input.policy.weightOverrides
        return d.spec.realServers.enumerated().compactMap { i, r in
            guard seen.insert(r.server.id) else { return nil }
            var s = r.server
            if !overrides.isEmpty, let w = overrides[ServiceRealServerKey(service: d.spec.service.id, realServer: s.id)] {
                s.weight = w
            }
            return (i, s)
        }
    }

    static func path(_ service: Int, _ realServer: Int? = nil) -> Change.Place {
        Change.Place(service: service, realServer: realServer)
    }

    mutating func planCreate(_ d: Declared) {
        let svc = d.spec.service.normalized
        emit(Change(
            action: .createService, manifest: d.manifest, service: svc.id, after: .service(svc),
            place: Builder.path(d.index), reason: .newService))
        for (i, r) in effective(d) {
            emit(Change(
                action: .addRealServer, manifest: d.manifest, service: svc.id, realServer: r.id,
                after: .realServer(r), place: Builder.path(d.index, i), reason: .newRealServer))
        }
        // Drain records for a service that is not in the kernel are stale.
        for key in drainKeysByService[svc.id] ?? [] { drainsSeen.insert(key) }
    }

    mutating func planUpdate(_ d: Declared, live: LiveService) {
        let id = d.spec.service.id
        let svc = d.spec.service.normalized
        let diffs = FieldDifference.service(desired: svc, live: live.service)
        if !diffs.isEmpty {
            emit(Change(
                action: .updateService, manifest: d.manifest, service: id, before: .service(live.service),
                after: .service(svc), place: Builder.path(d.index), reason: .attributesChanged(diffs)))
        }
        for key in drainKeysByService[id] ?? [] { drainsSeen.insert(key) }

        let wanted = effective(d)
        let wantedIDs = IDLookup(wanted.map(\.server.id))
        let liveRS = IDLookup(live.realServers, id: \.server.id)

        // Real servers that only changed port: pair them per address, in port order.
        let added = wanted.filter { liveRS[$0.server.id] == nil }
        let healthRemovals = input.policy.healthRemovals
        let removed = live.realServers.filter { !wantedIDs.contains($0.server.id) }
        let paired = healthRemovals.isEmpty
            ? removed : removed.filter { !healthRemovals.contains(ServiceRealServerKey(service: id, realServer: $0.server.id)) }
        var movedFrom: [RealServer.ID: UInt16] = [:]  // new id → old port
        var movedTo: [RealServer.ID: UInt16] = [:]  // old id → new port
        for address in (paired.isEmpty ? [] : Set(added.map(\.server.id.address))) {
            let new = added.map(\.server.id).filter { $0.address == address }.sorted()
            let old = paired.map(\.server.id).filter { $0.address == address }.sorted()
            for (n, o) in zip(new, old) {
                movedFrom[n] = o.port
                movedTo[o] = n.port
            }
        }

        for (i, r) in wanted {
            let key = ServiceRealServerKey(service: id, realServer: r.id)
            guard let l = liveRS[r.id] else {
                let reason: Change.Reason = movedFrom[r.id].map { .portChanged(from: $0, to: r.id.port) } ?? .newRealServer
                emit(Change(
                    action: .addRealServer, manifest: d.manifest, service: id, realServer: r.id,
                    after: .realServer(r), place: Builder.path(d.index, i), reason: reason))
                continue
            }
            let draining = drainByKey[key] != nil
            let rdiffs = FieldDifference.realServer(desired: r, live: l.server)
            if !rdiffs.isEmpty {
                let reason: Change.Reason = draining ? .drainCancelled(rdiffs) : .attributesChanged(rdiffs)
                emit(Change(
                    action: .updateRealServer, manifest: d.manifest, service: id, realServer: r.id,
                    before: .realServer(l.server), after: .realServer(r), place: Builder.path(d.index, i), reason: reason))
            }
            // A drain of a server that is back in the manifest is cancelled (not kept).
        }

        let protocolIsUDP = id.ipProtocol == .udp
        let timeout = d.spec.drainTimeout ?? input.policy.defaultDrainTimeout
        var removals = 0
        for l in removed {
            let rid = l.server.id
            let key = ServiceRealServerKey(service: id, realServer: rid)
            let connections = UInt64(l.activeConnections) + UInt64(l.inactiveConnections)
            func delete(_ reason: Change.Reason) {
                emit(Change(
                    action: .deleteRealServer, manifest: d.manifest, service: id, realServer: rid,
                    before: .realServer(l.server), place: Builder.path(d.index), reason: reason))
            }
            /// Keeps (or starts) a drain: weight 0 if it is not already, and a pending-drain entry.
            func drainPending(_ drain: DrainState, reason: Change.Reason) {
                if l.server.weight != 0 {
                    var after = l.server
                    after.weight = 0
                    emit(Change(
                        action: .drainRealServer, manifest: d.manifest, service: id, realServer: rid,
                        before: .realServer(l.server), after: .realServer(after), place: Builder.path(d.index),
                        reason: reason))
                }
                pending.append(PendingDrain(
                    service: id, realServer: rid, manifest: drain.manifest, activeConnections: l.activeConnections,
                    inactiveConnections: l.inactiveConnections, startedAt: drain.startedAt, deadline: drain.deadline))
            }
            if !healthRemovals.isEmpty && healthRemovals.contains(key) {
                // Health removes it until it recovers: at once, as keepalived does.
                delete(.healthCheckDown)
                continue
            }
            if let newPort = movedTo[rid] {
                delete(.portChanged(from: rid.port, to: newPort))
                if drainByKey[key] == nil { removals += 1 }
                continue
            }
            if protocolIsUDP || timeout == 0 {
                delete(protocolIsUDP ? .removedWithoutDrainUDP : .removedWithoutDrainTimeout)
                if drainByKey[key] == nil { removals += 1 }
                continue
            }
            if let drain = drainByKey[key] {
                if connections == 0 {
                    delete(.drainFinished)
                } else if input.now >= drain.deadline {
                    delete(.drainTimedOut(afterSeconds: drain.deadline - drain.startedAt, connectionsLeft: connections))
                } else {
                    drainsKept.insert(key)
                    drainPending(drain, reason: .drainResumed)
                }
                continue
            }
            removals += 1
            if connections == 0 {
                // Nothing to wait for: deleted by this apply, not left at weight 0 for a later one.
                delete(.removedIdle)
                continue
            }
            let state = DrainState(
                service: id, realServer: rid, manifest: d.manifest, startedAt: input.now,
                deadline: input.now + Double(timeout))
            drainsToStart.append(state)
            drainPending(state, reason: .drainStarted(timeout: timeout))
        }

        let total = live.realServers.count
        if removals > 0 && total > 0 && !input.policy.allowRemoval {
            let fraction = Double(removals) / Double(total)
            if fraction > input.policy.maxRemovalFraction {
                violations.append(GuardViolation(
                    kind: .removalFraction, service: id, manifest: d.manifest,
                    message: "would remove \(removals) of \(total) real servers (\(Builder.percent(fraction)) > \(Builder.percent(input.policy.maxRemovalFraction))); pass --allow-removal"))
            }
        }
    }

    mutating func planDelete(_ s: LiveService, owner: String) {
        let id = s.service.id
        let entry = IPVSTable.Entry(service: s.service, realServers: s.realServers.map(\.server))
        emit(Change(
            action: .deleteService, manifest: owner, service: id, before: .entry(entry), path: "",
            reason: .removedFromManifest))
        releases.append(id)
        for key in drainKeysByService[id] ?? [] { drainsSeen.insert(key) }
        if !input.policy.allowDelete {
            violations.append(GuardViolation(
                kind: .serviceDeletion, service: id, manifest: owner,
                message: "would delete the service and its \(s.realServers.count) real servers (not in manifest \(owner)); pass --allow-delete"))
        }
    }

    // MARK: - Kernel-wide settings

    mutating func planSettings(_ desired: [DesiredState]) {
        let inScope = desired.filter { input.scope.contains($0.manifest) }

        let withTimeouts = inScope.filter { $0.settings.timeouts != nil }
        if let first = withTimeouts.first, let t = first.settings.timeouts {
            for other in withTimeouts.dropFirst() where other.settings.timeouts != t {
                violations.append(GuardViolation(
                    kind: .settingsConflict, service: nil, manifest: other.manifest,
                    message: "declares timeouts different from manifest \(first.manifest); declare kernel-wide settings in one manifest only"))
            }
            let diffs = FieldDifference.timeouts(desired: t, live: input.live.timeouts)
            if !diffs.isEmpty {
                emit(Change(
                    action: .setTimeouts, manifest: first.manifest, before: .timeouts(input.live.timeouts),
                    after: .timeouts(t), path: "settings.timeouts", reason: .attributesChanged(diffs)))
            }
        }

        // Sysctls are compared field by field: two manifests may each declare some, but not the
        // same one with different values.
        var sysctls = IPVSSysctls()
        var declaredBy: [IPVSSysctls.Field: String] = [:]
        var sysctlsOwner: String?
        for ds in inScope where !ds.settings.sysctls.isEmpty {
            for f in ds.settings.sysctls.fields {
                guard let value = ds.settings.sysctls.text(f) else { continue }
                if let first = declaredBy[f] {
                    if sysctls.text(f) != value {
                        violations.append(GuardViolation(
                            kind: .settingsConflict, service: nil, manifest: ds.manifest,
                            message: "declares settings.\(f.rawValue) different from manifest \(first); declare kernel-wide settings in one manifest only"))
                    }
                    continue
                }
                declaredBy[f] = ds.manifest
                sysctls.set(f, text: value)
            }
            if sysctlsOwner == nil { sysctlsOwner = ds.manifest }
        }
        if let owner = sysctlsOwner {
            let diffs = FieldDifference.sysctls(desired: sysctls, live: input.live.sysctls)
            if !diffs.isEmpty {
                let fields = diffs.compactMap { IPVSSysctls.Field(rawValue: $0.field) }
                emit(Change(
                    action: .setSysctls, manifest: owner, before: .sysctls(input.live.sysctls.restricted(to: fields)),
                    after: .sysctls(sysctls.restricted(to: fields)), path: "settings",
                    reason: .attributesChanged(diffs)))
            }
        }

        // The director pair's VRRP is one configuration per director: one manifest owns it.
        let withVRRP = inScope.filter { $0.vrrp != nil }
        for other in withVRRP.dropFirst() {
            violations.append(GuardViolation(
                kind: .settingsConflict, service: nil, manifest: other.manifest,
                message: "declares a vrrp section, as does manifest \(withVRRP[0].manifest); declare the director pair's VRRP in one manifest only"))
        }

        // So is the BGP speaker's: one router id, one set of peers per director.
        let withBGP = inScope.filter { $0.bgp != nil }
        for other in withBGP.dropFirst() {
            violations.append(GuardViolation(
                kind: .settingsConflict, service: nil, manifest: other.manifest,
                message: "declares a bgp section, as does manifest \(withBGP[0].manifest); declare the director's BGP in one manifest only"))
        }

        let withDaemons = inScope.filter { $0.settings.syncDaemons != nil }
        if let first = withDaemons.first, let wanted = first.settings.syncDaemons {
            for other in withDaemons.dropFirst() where other.settings.syncDaemons != wanted {
                violations.append(GuardViolation(
                    kind: .settingsConflict, service: nil, manifest: other.manifest,
                    message: "declares sync daemons different from manifest \(first.manifest); declare kernel-wide settings in one manifest only"))
            }
            for state in [SyncDaemon.State.master, .backup] {
                let index = wanted.firstIndex { $0.state == state }
                let live = input.live.syncDaemons.first { $0.state == state }
                let path = index.map { "settings.syncDaemons[\($0)]" } ?? "settings.syncDaemons"
                switch (index.map { wanted[$0] }, live) {
                case (let d?, nil):
                    emit(Change(
                        action: .startSyncDaemon, manifest: first.manifest, after: .syncDaemon(d), path: path,
                        reason: .syncDaemonNotRunning))
                case (nil, let l?):
                    emit(Change(
                        action: .stopSyncDaemon, manifest: first.manifest, before: .syncDaemon(l), path: path,
                        reason: .removedFromManifest))
                case (let d?, let l?):
                    let diffs = FieldDifference.syncDaemon(desired: d, live: l)
                    if !diffs.isEmpty {
                        emit(Change(
                            action: .stopSyncDaemon, manifest: first.manifest, before: .syncDaemon(l), path: path,
                            reason: .syncDaemonChanged(diffs)), restart: true)
                        emit(Change(
                            action: .startSyncDaemon, manifest: first.manifest, after: .syncDaemon(d), path: path,
                            reason: .syncDaemonChanged(diffs)))
                    }
                case (nil, nil):
                    break
                }
            }
        }
    }

    // MARK: - Result

    mutating func result() -> Plan {
        // The sort keys are extracted once and indices are sorted, not the (large) changes
        // themselves: moving and copying changes dominated planning a big table. Ties keep
        // emission order (the index).
        struct Key {
            var rank: Int
            var service: VirtualService.ID?
            var realServer: RealServer.ID?
            var daemon: UInt32
        }
        let keys = changes.indices.map { i in
            let c = changes[i]
            return Key(rank: ranks[i], service: c.service, realServer: c.realServer,
                       daemon: (c.after ?? c.before)?.syncDaemon?.state.rawValue ?? 0)
        }
        var order = keys.indices.sorted { xi, yi in
            let (a, b) = (keys[xi], keys[yi])
            if a.rank != b.rank { return a.rank < b.rank }
            if a.service != b.service {
                switch (a.service, b.service) {
                case (let s?, let t?): return s < t
                case (nil, _): return true
                default: return false
                }
            }
            if a.realServer != b.realServer {
                switch (a.realServer, b.realServer) {
                case (let s?, let t?): return s < t
                case (nil, _): return true
                default: return false
                }
            }
            if a.daemon != b.daemon { return a.daemon < b.daemon }
            return xi < yi
        }
        Builder.permute(&changes, by: &order)
        let finish = drainsSeen.subtracting(drainsKept)
        return Plan(
            baseFingerprint: input.fingerprint ? input.live.fingerprint : "",
            computedAt: input.now,
            changes: changes,
            foreign: foreign.sorted(),
            pendingDrains: pending.sorted { ($0.service, $0.realServer) < ($1.service, $1.realServer) },
            violations: violations,
            drainsToStart: drainsToStart.sorted { $0.key < $1.key },
            drainsToFinish: finish.sorted(),
            claims: claims.sorted { $0.service < $1.service },
            releases: Array(Set(releases)).sorted())
    }

    /// Reorders `items` in place so that position k holds what was at `order[k]`, one cycle of
    /// the permutation at a time (swaps, no second array). `order` is used up.
    static func permute<T>(_ items: inout [T], by order: inout [Int]) {
        for start in order.indices where order[start] != start {
            var j = start
            while order[j] != start {
                let next = order[j]
                items.swapAt(j, next)
                order[j] = j
                j = next
            }
            order[j] = j
        }
    }

    /// `75%`.
    static func percent(_ f: Double) -> String { "\(Int((f * 100).rounded()))%" }
}

/// A lookup by identity for the real servers of one service: a linear scan while there are few
/// (a service has a handful to a few dozen, where hashing every identity costs more than
/// comparing them), a dictionary beyond that.
struct IDLookup<ID: Hashable, Value> {
    private static var linearLimit: Int { 32 }
    private var pairs: [(ID, Value)] = []
    private var table: [ID: Value]? = nil

    init(capacity: Int) {
        pairs.reserveCapacity(min(capacity, Self.linearLimit))
    }

    init<S: Sequence>(_ values: S, id: (Value) -> ID) where S.Element == Value {
        for v in values { self[id(v)] = v }
    }

    subscript(_ key: ID) -> Value? {
        get {
            if let table { return table[key] }
            return pairs.first { $0.0 == key }?.1
        }
        set {
            guard let newValue else { return }
            if table != nil {
                table![key] = newValue
            } else if let i = pairs.firstIndex(where: { $0.0 == key }) {
                pairs[i].1 = newValue
            } else if pairs.count < Self.linearLimit {
                pairs.append((key, newValue))
            } else {
                var t = Dictionary(pairs, uniquingKeysWith: { _, b in b })
                t[key] = newValue
                table = t
                pairs = []
            }
        }
    }
}

extension IDLookup where Value == Void {
    init<S: Sequence>(_ ids: S) where S.Element == ID {
        for id in ids { _ = insert(id) }
    }

    func contains(_ key: ID) -> Bool { self[key] != nil }

    /// Adds `key`; false if it was there already.
    mutating func insert(_ key: ID) -> Bool {
        if contains(key) { return false }
        self[key] = ()
        return true
    }
}
