import Foundation
import LVSModel
import LVSVRRP
import Testing

@Suite("VRRP roles from FIFO lines")
struct VRRPRolesTests {
    private func feed(_ roles: inout VRRPRoles, _ lines: [String]) throws -> [String] {
        try lines.compactMap { try roles.record(VRRPNotification.parse($0))?.description }
    }

    /// The lines d1 wrote in the guest (VRRPPairTests): start, maintenance, back.
    @Test func startMaintenanceAndBackAsSeenInTheLab() throws {
        var roles = VRRPRoles()
        let transitions = try feed(&roles, [
            #"GROUP "G1" BACKUP 0"#, #"INSTANCE "VI_1" BACKUP 150"#, #"INSTANCE "VI_2" BACKUP 150"#,
            #"INSTANCE "VI_2" MASTER 150"#, #"INSTANCE "VI_1" MASTER 150"#, #"GROUP "G1" MASTER 0"#,
            #"INSTANCE "VI_1" MASTER_PRIORITY 140"#,
            #"INSTANCE "VI_1" FAULT 150"#, #"INSTANCE "VI_2" FAULT 150"#, #"GROUP "G1" FAULT 0"#,
            #"INSTANCE "VI_1" BACKUP 150"#, #"INSTANCE "VI_2" BACKUP 150"#, #"GROUP "G1" BACKUP 0"#,
            #"INSTANCE "VI_2" MASTER 150"#, #"INSTANCE "VI_1" MASTER 150"#, #"GROUP "G1" MASTER 0"#,
            #"INSTANCE "VI_1" MASTER 150"#,
        ])
        #expect(transitions == [
            "GROUP G1 ? → BACKUP", "INSTANCE VI_1 ? → BACKUP", "INSTANCE VI_2 ? → BACKUP",
            "INSTANCE VI_2 BACKUP → MASTER", "INSTANCE VI_1 BACKUP → MASTER", "GROUP G1 BACKUP → MASTER",
            "INSTANCE VI_1 MASTER → FAULT", "INSTANCE VI_2 MASTER → FAULT", "GROUP G1 MASTER → FAULT",
            "INSTANCE VI_1 FAULT → BACKUP", "INSTANCE VI_2 FAULT → BACKUP", "GROUP G1 FAULT → BACKUP",
            "INSTANCE VI_2 BACKUP → MASTER", "INSTANCE VI_1 BACKUP → MASTER", "GROUP G1 BACKUP → MASTER",
        ])
        #expect(roles.instances == ["VI_1": .master, "VI_2": .master])
        #expect(roles.groups == ["G1": .master])
        #expect(roles.priorities["VI_1"] == 150)
    }

    @Test func afterEOFTheFirstRoleIsATransitionFromUnknown() throws {
        var roles = VRRPRoles()
        _ = try feed(&roles, [#"INSTANCE "VI_1" MASTER 150"#])
        roles.forgetAll()
        #expect(roles.instances.isEmpty)
        #expect(try feed(&roles, [#"INSTANCE "VI_1" MASTER 150"#]) == ["INSTANCE VI_1 ? → MASTER"])
    }
}

@Suite("VRRP roles from keepalived's state dump")
struct VRRPRolesDumpTests {
    private let groups = [VRRPSyncGroup(name: "G1", instances: ["VI_1", "VI_2"])]

    private func dump(_ states: [(String, VRRPNotification.State)]) -> [KeepalivedStateDump.Instance] {
        states.map { KeepalivedStateDump.Instance(name: $0.0, state: $0.1, priority: 150, addresses: []) }
    }

    @Test func aReloadThatChangedNothingIsNoTransition() {
        var roles = VRRPRoles(instances: ["VI_1": .master, "VI_2": .master], groups: ["G1": .master])
        #expect(roles.learn(dump([("VI_1", .master), ("VI_2", .master)]), syncGroups: groups).isEmpty)
    }

    @Test func aRoleMissedWhileTheFIFOWasClosedIsReportedOnceInstancesFirst() {
        var roles = VRRPRoles(instances: ["VI_1": .backup, "VI_2": .backup], groups: ["G1": .backup])
        let t = roles.learn(dump([("VI_1", .master), ("VI_2", .master)]), syncGroups: groups)
        #expect(t.map(\.description) == [
            "INSTANCE VI_1 BACKUP → MASTER", "INSTANCE VI_2 BACKUP → MASTER", "GROUP G1 BACKUP → MASTER",
        ])
        #expect(roles.learn(dump([("VI_1", .master), ("VI_2", .master)]), syncGroups: groups).isEmpty)
    }

    @Test func groupRoleFromItsInstances() {
        #expect(VRRPRoles.groupState([.master, .master]) == .master)
        #expect(VRRPRoles.groupState([.master, .backup]) == .backup)
        #expect(VRRPRoles.groupState([.master, .fault]) == .fault)
        #expect(VRRPRoles.groupState([.stop, .stop]) == .stop)
        #expect(VRRPRoles.groupState([.master, nil]) == nil)
        #expect(VRRPRoles.groupState([]) == nil)
    }

    @Test func initIsNotARole() {
        var roles = VRRPRoles()
        #expect(roles.learn(dump([("VI_1", KeepalivedStateDump.state(0))]), syncGroups: []).isEmpty)
        #expect(roles.instances.isEmpty)
    }

    @Test func keepalivedGoneStopsEveryKnownRoleOnce() {
        var roles = VRRPRoles(instances: ["VI_1": .master], groups: ["G1": .master], priorities: ["VI_1": 150])
        #expect(roles.stopAll().map(\.description) == ["INSTANCE VI_1 MASTER → STOP", "GROUP G1 MASTER → STOP"])
        #expect(roles.stopAll().isEmpty)
    }

    @Test func auditValues() {
        let t = VRRPRoles.Transition(kind: .instance, name: "VI_1", from: .backup, to: .master, priority: 150)
        let v = VRRPAuditValue.values(t)
        #expect(v.before == #"{"vrrp":{"kind":"instance","name":"VI_1","priority":150,"state":"backup"}}"#)
        #expect(v.after == #"{"vrrp":{"kind":"instance","name":"VI_1","priority":150,"state":"master"}}"#)
        let g = VRRPRoles.Transition(kind: .group, name: "G1", from: nil, to: .fault, priority: 0)
        #expect(VRRPAuditValue.values(g).before == nil)
        #expect(VRRPAuditValue.values(g).after == #"{"vrrp":{"kind":"group","name":"G1","state":"fault"}}"#)
        #expect(VRRPAuditValue.action(.group) == "vrrp-group")
    }
}

@Suite("Track files")
struct TrackFileTests {
    @Test func writesAtomicallyOnlyWhenChangedAndReadsBack() throws {
        let dir = "/tmp/lvsctl-trackfile-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/sub/maintenance"
        #expect(TrackFile.read(path) == nil)
        #expect(try TrackFile.write(true, to: path))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "1\n")
        #expect(TrackFile.read(path) == true)
        #expect(try !TrackFile.write(true, to: path), "an unchanged value writes nothing")
        #expect(try TrackFile.write(false, to: path))
        #expect(TrackFile.read(path) == false)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/sub") == ["maintenance"], "no temporary file left")
    }
}
