import ArgumentParser
import Foundation
import LVSBGP
import LVSManifest
import LVSModel
import LVSPlan
import LVSReconciler
import LVSRealServer
import LVSRollout
import LVSStore
import Testing

@testable import LVSCommands

/// Golden files pin every machine format, the plan text and the `--help` of every command.
///
/// A machine format's golden file is `Golden/<kind>.v<formatVersion>.json`: changing a format
/// without bumping its `formatVersion` fails here (the file for that version no longer matches);
/// bumping it fails until the new golden file exists, which is the moment to update the format's
/// schema (`Manifests/lvsctl-<kind>-v<N>.schema.json`) and README's "Machine output".
///
/// To regenerate every golden file after an intended change:
///
///     LVSCTL_UPDATE_GOLDEN=1 swift test --skip-build --filter GoldenTests
///
/// then review `git diff Tests/LVSCommandsTests/Golden` (and delete a superseded version's file).
@Suite struct GoldenTests {
    static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let updating = ProcessInfo.processInfo.environment["LVSCTL_UPDATE_GOLDEN"] == "1"

    /// Compares `text` with the golden file `name`, or writes it when regenerating.
    static func check(_ text: String, _ name: String, hint: String) throws {
        let url = directory.appendingPathComponent(name)
        if updating {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            return
        }
        guard let golden = FileManager.default.contents(atPath: url.path) else {
            Issue.record("no golden file \(name): \(hint); regenerate with LVSCTL_UPDATE_GOLDEN=1 (see GoldenTests)")
            return
        }
        let expected = String(decoding: golden, as: UTF8.self)
        if expected != text {
            let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record("""
                \(name) differs at line \(line + 1): \(hint)
                golden: \(line < a.count ? String(a[line]) : "<end>")
                now:    \(line < b.count ? String(b[line]) : "<end>")
                """)
        }
    }

    static func check<D: MachineDocument>(_ document: D) throws {
        let text = String(decoding: try Output.json(document), as: UTF8.self) + "\n"
        #expect(!text.contains("\"_0\"") && !text.contains("\"_1\""))
        try check(
            text, "\(D.kind).v\(D.formatVersion).json",
            hint: "the \(D.kind) format changed: bump \(D.self).formatVersion (a new golden file and schema), or undo the change")
    }

    // MARK: - Fixtures: fixed values, so that the files do not change from run to run

    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28T20:26:40Z
    static let vip = IPAddress("10.0.0.100")!
    static func sid(_ port: UInt16, _ p: IPProtocol = .tcp) -> VirtualService.ID { .address(p, vip, port: port) }
    static func rid(_ n: Int, _ port: UInt16 = 80) -> RealServer.ID { RealServer.ID(address: IPAddress("10.0.0.\(n)")!, port: port) }
    static func rs(_ n: Int, _ port: UInt16 = 80, weight: UInt32 = 1, fwd: ForwardingMethod = .directRoute) -> RealServer {
        RealServer(id: rid(n, port), forwarding: fwd, weight: weight)
    }

    /// A plan with one change of nearly every kind, a pending drain, a foreign service and a
    /// guard refusal.
    static let plan: Plan = {
        let web = VirtualService(id: sid(80), scheduler: .wrr)
        let api = VirtualService(id: sid(443), scheduler: .sh, flags: [.persistent, .sched1], timeout: 300)
        let dns = VirtualService(id: sid(53, .udp), scheduler: .rr)
        let fw6 = VirtualService(id: .fwmark(7, .ipv6), scheduler: .wlc)
        let desired = DesiredState(
            manifest: "web",
            services: [
                ServiceSpec(name: "web", service: web, realServers: [rs(11, weight: 5), rs(12), rs(14, 8080)].map { RealServerSpec(server: $0) }),
                ServiceSpec(name: "api", service: api, realServers: [RealServerSpec(server: rs(21, 443, fwd: .masquerade))]),
                ServiceSpec(name: "dns", service: dns, realServers: [RealServerSpec(server: rs(31, 53))]),
                ServiceSpec(name: "fw6", service: fw6, realServers: [
                    RealServerSpec(server: RealServer(
                        id: RealServer.ID(address: IPAddress("2001:db8::11")!, port: 80), forwarding: .tunnel, weight: 2,
                        tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .remoteChecksum)))
                ]),
            ],
            settings: GlobalSettings(timeouts: Timeouts(tcp: 600, tcpFin: 0, udp: 0), syncDaemons: [SyncDaemon(state: .master, interface: "eth0", syncID: 3)]))
        func live(_ s: VirtualService, _ servers: [(RealServer, UInt32)]) -> LiveService {
            LiveService(service: s, realServers: servers.map { LiveRealServer(server: $0.0, activeConnections: $0.1) })
        }
        let table = LiveTable(
            services: [
                live(web, [(rs(11, weight: 3), 0), (rs(12), 0), (rs(13, weight: 2), 4), (rs(14), 0)]),
                live(VirtualService(id: sid(443), scheduler: .wlc, flags: [.persistent], timeout: 300), [(rs(21, 443, fwd: .masquerade), 0)]),
                live(dns, [(rs(31, 53), 0), (rs(32, 53), 0)]),
                live(VirtualService(id: sid(8080), scheduler: .rr), [(rs(41, 8080), 0)]),
                live(VirtualService(id: sid(9000), scheduler: .rr), []),
            ],
            timeouts: .kernelDefault)
        return Planner.plan(PlanInput(
            desired: [desired], live: table, owners: [sid(80): "web", sid(443): "web", sid(53, .udp): "web", sid(8080): "web"],
            now: t0.timeIntervalSince1970, policy: PlanPolicy(maxRemovalFraction: 1)))
    }()

    static let manifestState = DesiredState(manifest: "web", services: [
        ServiceSpec(name: "web", service: VirtualService(id: sid(80), scheduler: .wrr), realServers: [RealServerSpec(server: rs(11, weight: 5))])
    ])

    static let revisionModel = Revision(
        id: 7, manifest: "web", number: 3, contentHash: String(repeating: "ab", count: 32), content: "", author: "alice",
        message: "raise web weights", createdAt: t0, sourcePath: "/etc/lvsctl/web.json", kind: .apply)

    static let revision = RevisionObject(Revision(
        id: 7, manifest: "web", number: 3, contentHash: String(repeating: "ab", count: 32), content: "", author: "alice",
        message: "raise web weights", createdAt: t0, sourcePath: "/etc/lvsctl/web.json", kind: .apply))

    static func valueText(_ v: Change.Value) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    // MARK: - Machine formats

    @Test func planFormat() throws {
        #expect(Set(Self.plan.changes.map(\.reason.code)).count >= 8, "the fixture covers the reason codes")
        try Self.check(PlanDocument(plan: Self.plan))
    }

    @Test func savedPlanFormat() throws {
        try Self.check(try SavedPlan(plan: Self.plan, manifests: [("web", Manifest.encode(Self.manifestState), "web.json")]))
    }

    @Test func applyFormat() throws {
        try Self.check(ApplyDocument(
            plan: Self.plan, revision: Self.revision, applied: 9, auditRows: 9, kernelWrites: 9, dryRun: false))
    }

    @Test func statusFormat() throws {
        let table = LiveTable(
            services: [
                LiveService(
                    service: VirtualService(id: Self.sid(80), scheduler: .wrr),
                    realServers: [
                        LiveRealServer(server: Self.rs(11, weight: 3), activeConnections: 2, inactiveConnections: 5),
                        LiveRealServer(server: Self.rs(12, weight: 0)),
                    ]),
                LiveService(service: VirtualService(id: .fwmark(7, .ipv4), scheduler: .rr)),
            ],
            syncDaemons: [SyncDaemon(state: .backup, interface: "eth1", group: IPAddress("224.0.0.81"))])
        var document = StatusDocument(
            info: KernelInfo(version: 0x010201, connectionTableSize: 4096), table: table, owners: [Self.sid(80): "web"],
            drains: [DrainRecord(
                service: Self.sid(80), realServer: Self.rid(12), manifest: "web", startedAt: Self.t0,
                deadline: Self.t0.addingTimeInterval(30.5), reason: .removedFromManifest)],
            health: [HealthRecord(
                service: Self.sid(80), realServer: Self.rid(11), healthy: false, lastCheck: Self.t0, lastError: "connect refused",
                changedAt: Self.t0)],
            maintenance: [
                MaintenanceFlag(service: Self.sid(80), realServer: Self.rid(11), reason: "disk swap", author: "alice", since: Self.t0),
                MaintenanceFlag(service: .fwmark(7, .ipv4), author: "bob", since: Self.t0.addingTimeInterval(60)),
            ],
            now: Self.t0)
        document.director = DirectorStatus(
            node: "d1", manifest: "web",
            instances: [
                ("VI_1", VRRPRoleRecord(kind: .instance, name: "VI_1", state: "MASTER", priority: 150, changedAt: Self.t0)),
                ("VI_2", nil),
            ],
            groups: [("G1", VRRPRoleRecord(kind: .group, name: "G1", state: "FAULT", changedAt: Self.t0.addingTimeInterval(0.25)))],
            maintenance: DirectorMaintenance(author: "alice", reason: "kernel upgrade", since: Self.t0),
            maintenanceFile: "/run/lvsctl/maintenance", maintenanceHeld: true, readinessFile: "/run/lvsctl/readiness",
            readinessHeld: nil)
        document.bgp = BGPStatus(
            node: "d1", manifest: "web", localAS: 65001, routerID: IPAddress("10.20.0.2"),
            routes: BGPStatus.routes(
                announced: [IPAddress("10.0.0.100")!, IPAddress("10.0.0.101")!],
                stored: [
                    BGPRouteRecord(address: "10.0.0.100", state: "announced", reason: "ready", changedAt: Self.t0),
                    BGPRouteRecord(address: "10.0.0.99", state: "withdrawn", reason: "not declared", changedAt: Self.t0),
                ]),
            sessions: [BirdProtocolStatus(name: "peer_10_20_0_1", proto: "BGP", state: "up", info: "Established")],
            sessionsError: nil)
        try Self.check(document)
    }

    /// Status text with a bgp section: each route with its reason, sessions up or DOWN, and a
    /// BIRD that does not answer said as such.
    @Test func statusTextShowsRoutesAndSessions() {
        var bgp = BGPStatus(
            node: "d2", manifest: "site", localAS: 65001, routerID: nil,
            routes: BGPStatus.routes(
                announced: [IPAddress("10.10.0.100")!],
                stored: [BGPRouteRecord(address: "10.10.0.100", state: "draining", reason: "director in maintenance", changedAt: Self.t0)]),
            sessions: [BirdProtocolStatus(name: "peer_10_20_0_1", proto: "BGP", state: "start", info: "Active Socket: Connection refused")],
            sessionsError: nil)
        var text = ""
        bgp.renderText { text += $0 }
        #expect(text.contains("no router id for this node: announcing nothing"), "\(text)")
        #expect(text.contains("route 10.10.0.100") && text.contains("draining since 2026-") && text.contains("(director in maintenance)"), "\(text)")
        #expect(text.contains("session peer_10_20_0_1") && text.contains("DOWN (start, Active Socket: Connection refused)"), "\(text)")
        bgp.sessions = nil
        bgp.sessionsError = "BIRD is not running on /run/bird/bird.ctl"
        text = ""
        bgp.renderText { text += $0 }
        #expect(text.contains("sessions unknown: BIRD is not running on /run/bird/bird.ctl"), "\(text)")
    }

    @Test func driftFormat() throws {
        let items = [
            DriftItem(kind: .changed, manifest: "web", service: Self.sid(80), realServer: Self.rid(11), field: "weight", expected: "5", live: "42"),
            DriftItem(kind: .missing, manifest: "web", service: Self.sid(443), field: "service", expected: "tcp/10.0.0.100:443", live: nil),
        ]
        try Self.check(DriftDocument(
            drift: [DriftReport(item: items[0], lastSetByLvsctl: Self.t0, lastSetAction: "update-real-server"), DriftReport(item: items[1])],
            draining: [ServiceRealServerKey(service: Self.sid(80), realServer: Self.rid(13))], foreign: [.fwmark(7, .ipv4)],
            fix: .init(plan: Plan(baseFingerprint: "", computedAt: 0), applied: 0)))
    }

    @Test func historyFormat() throws {
        let before = try Self.valueText(.realServer(Self.rs(11, weight: 3)))
        let after = try Self.valueText(.realServer(Self.rs(11, weight: 5)))
        let entries = [
            AuditEntry(
                id: 2, runID: 1, revisionID: 7, manifest: "web", at: Self.t0.addingTimeInterval(0.25), action: "update-real-server",
                service: Self.sid(80), realServer: Self.rid(11), before: before, after: after, result: .applied,
                durationMicroseconds: 41, origin: .apply),
            AuditEntry(
                id: 1, runID: 1, revisionID: 7, manifest: "web", at: Self.t0, action: "create-service", service: Self.sid(443),
                after: try Self.valueText(.service(VirtualService(id: Self.sid(443), scheduler: .sh, flags: [.sched2]))),
                result: .failed, errno: 17, kernelError: "File exists", durationMicroseconds: 12, origin: .apply),
        ]
        let run = ApplyRun(
            id: 1, startedAt: Self.t0, finishedAt: Self.t0.addingTimeInterval(0.5), manifest: "web", revisionID: 7,
            origin: .apply, author: "alice", status: .undone, error: "create-service tcp/10.0.0.100:443: File exists")
        try Self.check(HistoryDocument(entries: entries, runs: [.init(run: run, revision: Self.revisionModel)]))
    }

    @Test func revisionsFormat() throws {
        var rollback = Self.revision
        rollback.number = 4
        rollback.kind = .rollback
        rollback.basedOn = 2
        rollback.message = nil
        rollback.sourcePath = nil
        try Self.check(RevisionsDocument(revisions: [Self.revision, rollback]))
    }

    @Test func revisionDiffFormat() throws {
        var to = Self.revisionModel
        to.number = 4
        to.message = nil
        try Self.check(RevisionDiffDocument(from: Self.revisionModel, to: to, changes: [
            .init(kind: .changed, path: "services[web].realServers[10.0.0.11:80].weight", before: .int(5), after: .int(7)),
            .init(kind: .added, path: "services[web].realServers[10.0.0.12:80]", before: nil,
                  after: .object(["address": .string("10.0.0.12"), "port": .int(80)])),
            .init(kind: .removed, path: "description", before: .string("the web tier"), after: nil),
        ]))
    }

    @Test func validationFormat() throws {
        try Self.check(ValidationDocument(valid: ["good.json"], diagnostics: [
            Diagnostic(.error, file: "bad.json", path: "services[0].realServers[1].weight", line: 12, column: 18,
                       message: "70000 is out of range (0-65535)", hint: "use a weight from 0 to 65535"),
            Diagnostic(.warning, file: "good.json", message: "no health check"),
        ]))
    }

    @Test func rollbackFormat() throws {
        try Self.check(RollbackDocument(manifest: "web", to: 2, plan: Self.plan, revision: Self.revision, applied: 9, dryRun: false))
    }

    @Test func adoptFormat() throws {
        try Self.check(AdoptDocument(manifest: "legacy", adopted: [Self.sid(8080), .fwmark(7, .ipv6)], revision: Self.revision, out: "legacy.json"))
    }

    @Test func maintenanceFormat() throws {
        try Self.check(MaintenanceDocument(action: .drain, service: Self.sid(80), realServer: Self.rid(12), applied: true, weightChanges: 1, idle: true))
    }

    @Test func directorMaintenanceFormat() throws {
        try Self.check(DirectorMaintenanceDocument(
            action: .on, changed: true, maintenance: DirectorMaintenance(author: "alice", reason: "kernel upgrade", since: Self.t0),
            previous: nil, trackFile: "/run/lvsctl/maintenance", trackFileHeld: true, instances: ["VI_1", "VI_2"], node: "d1"))
    }

    @Test func realServerStatusFormat() throws {
        try Self.check(RealServerStatusDocument(mode: "dr", vips: "10.0.0.100", checks: [
            RealServerCheck(what: "lo up", ok: true), RealServerCheck(what: "10.0.0.100/32 on lo", ok: false, detail: "missing"),
        ]))
    }

    static let rolloutReport: RolloutReport = {
        var r = RolloutReport(
            id: "20260528T202640Z-abc", mode: .apply, manifest: "web", manifestDigest: String(repeating: "ab", count: 32),
            inventory: "fleet.json", author: "gitlab-ci ops/lb pipeline 7 job 42", startedAt: t0.timeIntervalSince1970)
        r.finishedAt = t0.timeIntervalSince1970 + 42.5
        r.batchSpec = "1,100%"
        r.batches = [["d2"], ["d1"]]
        r.outcome = .failed
        r.stop = .init(batch: 2, director: "d1", gate: .health, reason: "d1: gate health failed: real server 10.0.0.12:80 added to tcp/10.0.0.100:80 is down (connection refused)")
        let d2 = Inventory.Director(name: "d2", ssh: "root@10.30.0.12", pair: "p1", role: .backup)
        var a = DirectorReport(d2, state: .rolledBack)
        a.role = .backup
        a.roleSource = "inventory"
        a.batch = 1
        a.plan = PlanSummary(plan)
        a.tableFingerprint = "2acb6c27"
        a.revisionBefore = 3
        a.revisionAfter = 4
        a.applied = 1
        a.auditRows = 1
        a.gates = [GateResult(.drift, .passed, "no drift", seconds: 0.8), GateResult(.health, .skipped, "no health checks on the touched services", seconds: 0.25),
                   GateResult(.vrrp, .passed, "VI_1 backup"), GateResult(.probe, .skipped, "no --probe given")]
        var rb = RollbackReport(to: 3)
        rb.revision = 5
        rb.applied = 1
        rb.gates = [GateResult(.drift, .passed, "no drift", seconds: 0.5)]
        rb.succeeded = true
        a.rollback = rb
        a.seconds = 12.25
        var b = DirectorReport(Inventory.Director(name: "d1", ssh: "root@10.30.0.11", sshPort: 2222, pair: "p1"), state: .rolledBack)
        b.batch = 2
        b.gates = [GateResult(.drift, .passed, "no drift"), GateResult(.health, .failed, "real server 10.0.0.12:80 added to tcp/10.0.0.100:80 is down (connection refused)", seconds: 3)]
        b.error = nil
        var c = DirectorReport(Inventory.Director(name: "d3", ssh: "d3"), state: .unreachable)
        c.error = "unreachable: ssh d3: Connection refused"
        r.directors = [a, b, c]
        return r
    }()

    @Test func rolloutFormat() throws {
        try Self.check(RolloutDocument(report: Self.rolloutReport))
    }

    @Test func savedRolloutPlanFormat() throws {
        var r = Self.rolloutReport
        r.mode = .plan
        r.outcome = .changesPending
        r.stop = nil
        r.manifestDigest = Manifest.contentHash(Self.manifestState)
        try Self.check(SavedRolloutPlan(
            rollout: RolloutDocument(report: r), manifest: JSONValue(parsing: Manifest.encode(Self.manifestState))!))
    }

    /// The formats a rollout reads from a director are the versions this lvsctl writes: a
    /// rollout between two directors of one release never reports a skew.
    @Test func rolloutReadsTheFormatsThisLvsctlWrites() {
        let written: [String: Int] = [
            PlanDocument.kind: PlanDocument.formatVersion, ApplyDocument.kind: ApplyDocument.formatVersion,
            StatusDocument.kind: StatusDocument.formatVersion, DriftDocument.kind: DriftDocument.formatVersion,
            RevisionsDocument.kind: RevisionsDocument.formatVersion, RollbackDocument.kind: RollbackDocument.formatVersion,
        ]
        #expect(RemoteFormats.expected == written)
    }

    @Test func directorStateFormat() throws {
        let table = LiveTable(
            services: [
                LiveService(
                    service: VirtualService(id: Self.sid(80), scheduler: .wrr),
                    realServers: [
                        LiveRealServer(server: Self.rs(11, weight: 3), activeConnections: 2),
                        LiveRealServer(server: Self.rs(12, weight: 0), activeConnections: 4),
                    ]),
                LiveService(service: VirtualService(id: .fwmark(7, .ipv4), scheduler: .rr)),
            ])
        let records = PlanningRecords(
            owners: [Self.sid(80): "web"],
            drains: [DrainRecord(
                service: Self.sid(80), realServer: Self.rid(12), manifest: "web", startedAt: Self.t0,
                deadline: Self.t0.addingTimeInterval(30.5), reason: .removedFromManifest)],
            health: [HealthRecord(service: Self.sid(80), realServer: Self.rid(11), healthy: false, changedAt: Self.t0)],
            maintenance: [MaintenanceFlag(service: Self.sid(80), realServer: Self.rid(11), reason: "disk swap", author: "alice", since: Self.t0)],
            reportedQuorum: [Self.sid(80): true])
        try Self.check(DirectorStateDocument(
            lvsctlVersion: "0.0.0-golden", capturedAt: Self.t0, info: KernelInfo(version: 0x010201, connectionTableSize: 4096),
            state: DirectorState(live: table, records: records),
            capabilities: KernelCapabilities(availableSchedulers: [.rr, .wrr, .wlc], availablePersistenceEngines: ["sip"]),
            appliedRevisions: [.init(manifest: "web", number: 3, contentHash: String(repeating: "ab", count: 32))]))
    }

    /// Every machine format has a golden test above (a new document type needs one).
    @Test func everyFormatHasAGoldenFile() throws {
        let kinds: [any MachineDocument.Type] = [
            PlanDocument.self, SavedPlan.self, ApplyDocument.self, StatusDocument.self, DriftDocument.self, HistoryDocument.self,
            RevisionsDocument.self, ValidationDocument.self, RollbackDocument.self, AdoptDocument.self, MaintenanceDocument.self,
            RealServerStatusDocument.self, DirectorStateDocument.self, RevisionDiffDocument.self, DirectorMaintenanceDocument.self,
            RolloutDocument.self, SavedRolloutPlan.self,
        ]
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter { $0.hasSuffix(".json") })
        #expect(files == Set(kinds.map { "\($0.kind).v\($0.formatVersion).json" }), "one golden file per format, at its current version")
    }

    // MARK: - Text

    @Test func planText() throws {
        try Self.check(PlanRenderer(plan: Self.plan).render(), "plan.txt", hint: "the plan text changed; regenerate if intended")
    }

    /// `lvsctl help` of every command, at 100 columns.
    @Test(arguments: Self.commands)
    func help(_ path: [String]) throws {
        let command = try #require(Self.command(path))
        let text = LVSCommand.helpMessage(for: command, columns: 100) + "\n"
        try Self.check(text, "help/" + (path.isEmpty ? "lvsctl" : path.joined(separator: "-")) + ".txt",
                       hint: "the help of `lvsctl \(path.joined(separator: " "))` changed; regenerate if intended")
    }

    static let commands: [[String]] = {
        var out: [[String]] = [[]]
        func walk(_ type: any ParsableCommand.Type, _ prefix: [String]) {
            for sub in type.configuration.subcommands {
                let name = sub.configuration.commandName ?? "\(sub)".lowercased()
                out.append(prefix + [name])
                walk(sub, prefix + [name])
            }
        }
        walk(LVSCommand.self, [])
        return out
    }()

    static func command(_ path: [String]) -> (any ParsableCommand.Type)? {
        var type: any ParsableCommand.Type = LVSCommand.self
        for name in path {
            guard let next = type.configuration.subcommands.first(where: { ($0.configuration.commandName ?? "") == name }) else { return nil }
            type = next
        }
        return type
    }

    // MARK: - Schemas

    /// Every golden JSON file validates against its format's JSON Schema (draft 2020-12), with
    /// python3's `jsonschema`; the schemas reject an old (v1) plan value.
    @Test func goldenJSONValidatesAgainstTheSchemas() throws {
        let manifests = Self.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Manifests").path
        let script = """
            import json, sys, glob, os
            try:
                import jsonschema
                from referencing import Registry, Resource
            except ImportError:
                print("MISSING: python3 modules jsonschema and referencing are not installed; install python3-jsonschema")
                sys.exit(3)
            schemas, golden = sys.argv[1], sys.argv[2]
            resources = []
            for f in sorted(glob.glob(os.path.join(schemas, "*.schema.json"))):
                s = json.load(open(f))
                jsonschema.Draft202012Validator.check_schema(s)
                resources.append((s["$id"], Resource.from_contents(s)))
            registry = Registry().with_resources(resources)
            def validator(kind, version):
                path = os.path.join(schemas, "lvsctl-%s-v%d.schema.json" % (kind, version))
                return jsonschema.Draft202012Validator(json.load(open(path)), registry=registry,
                                                       format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            bad = 0
            checked = 0
            for f in sorted(glob.glob(os.path.join(golden, "*.json"))):
                doc = json.load(open(f))
                v = validator(doc["kind"], doc["formatVersion"])
                for e in v.iter_errors(doc):
                    bad += 1
                    print(os.path.basename(f), list(e.absolute_path), e.message)
                checked += 1
            # The schemas must reject what they exist to exclude.
            plan = json.load(open(os.path.join(golden, "plan.v2.json")))
            old = json.loads(json.dumps(plan))
            old["changes"][0]["after"] = {"service": {"flags": 0, "id": {"address": {"_" + "0": "tcp", "_" + "1": "10.0.0.100", "port": 80}},
                                                      "netmask": 4294967295, "scheduler": "wrr", "timeout": 0}}
            numeric = json.loads(json.dumps(plan))
            numeric["computedAt"] = 1780000000
            for doc, what in [(old, "a synthesised service identity"), (numeric, "a time as a number")]:
                if validator("plan", 2).is_valid(doc):
                    bad += 1
                    print("the plan schema accepted", what)
            print("checked", checked)
            sys.exit(1 if bad else 0)
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, manifests, Self.directory.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 3, "\(text)")
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("checked 17"), "\(text)")
    }
}
