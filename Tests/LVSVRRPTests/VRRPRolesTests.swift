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
