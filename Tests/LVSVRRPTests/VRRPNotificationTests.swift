import LVSVRRP
import Testing

@Suite("VRRP notify FIFO lines")
struct VRRPNotificationTests {
    /// The lines seen in the lab (director-pair.md), each with what it must parse to.
    static let seen: [(String, VRRPNotification)] = [
        (#"INSTANCE "VI_1" BACKUP 150"#, .init(kind: .instance, name: "VI_1", state: .backup, priority: 150)),
        (#"INSTANCE "VI_1" MASTER 150"#, .init(kind: .instance, name: "VI_1", state: .master, priority: 150)),
        (#"INSTANCE "VI_1" MASTER_PRIORITY 140"#, .init(kind: .instance, name: "VI_1", state: .masterPriority, priority: 140)),
        (#"INSTANCE "VI_1" BACKUP_PRIORITY 150"#, .init(kind: .instance, name: "VI_1", state: .backupPriority, priority: 150)),
        (#"INSTANCE "VI_1" FAULT 150"#, .init(kind: .instance, name: "VI_1", state: .fault, priority: 150)),
        (#"INSTANCE "VI_1" STOP 150"#, .init(kind: .instance, name: "VI_1", state: .stop, priority: 150)),
        (#"GROUP "G1" BACKUP 0"#, .init(kind: .group, name: "G1", state: .backup, priority: 0)),
        (#"GROUP "G1" MASTER 0"#, .init(kind: .group, name: "G1", state: .master, priority: 0)),
        (#"INSTANCE "VI_B" MASTER_RX_LOWER_PRI 150"#, .init(kind: .instance, name: "VI_B", state: .masterReceivedLowerPriority, priority: 150)),
    ]

    @Test func linesSeenInTheLab() throws {
        for (line, expected) in Self.seen {
            let n = try VRRPNotification.parse(line + "\n")
            #expect(n == expected, "\(line)")
            #expect(n.description == line)
        }
    }

    @Test func transitionsAreRoleChangesOnly() throws {
        let roles = try Self.seen.map { try VRRPNotification.parse($0.0) }.filter(\.state.isTransition).map(\.state.description)
        #expect(roles == ["BACKUP", "MASTER", "FAULT", "STOP", "BACKUP", "MASTER"])
    }

    @Test func unknownStatesAndOddNamesSurvive() throws {
        #expect(try VRRPNotification.parse(#"INSTANCE "VI_1" DELETED 0"#).state == .other("DELETED"))
        #expect(try VRRPNotification.parse("GROUP \"my group\" FAULT 0\r\n").name == "my group")
    }

    @Test(arguments: [
        "", "INSTANCE", #"VS "10.0.0.1:80" UP"#, #"INSTANCE VI_1 MASTER 150"#, #"INSTANCE "" MASTER 150"#,
        #"INSTANCE "VI_1" MASTER"#, #"INSTANCE "VI_1" MASTER 256"#, #"INSTANCE "VI_1" MASTER -1"#,
        #"INSTANCE "VI_1" master 150"#, #"INSTANCE "VI_1" MASTER 150 extra"#, #"INSTANCE "VI_1 MASTER 150"#,
    ])
    func malformedLinesAreRefusedWithTheLine(_ line: String) {
        #expect(throws: VRRPNotification.ParseError.self) { try VRRPNotification.parse(line) }
        do {
            _ = try VRRPNotification.parse(line)
        } catch {
            #expect(error.description.contains("'\(line)'"))
        }
    }
}
