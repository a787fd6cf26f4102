import Foundation
import LVSTestSupport
import Testing

/// `lvsctl realserver` input handling on the host. Nothing here changes the host's interfaces:
/// bad input is refused before anything is opened, and `down` without a state file has nothing
/// to undo. The real behaviour is tested in the lab guest (ForwardingMethodTests).
@Suite struct RealServerCLITests {
    @Test func badVIPIsNamedWithWhatToDo() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let r = try cli.run(["realserver", "up", "--vip", "10.10.0.100,10.10.0.256", "--state", cli.directory.path + "/s.json"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("lvsctl: error: --vip '10.10.0.256' is not an IPv4 or IPv6 address; give the virtual IP of the director's service"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.path + "/s.json"))
    }

    @Test func badModeIsRefusedByTheParser() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let r = try cli.run(["realserver", "status", "--vip", "10.10.0.100", "--mode", "nat"])
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.contains("nat"), "\(r)")
    }

    @Test func downWithoutStateHasNothingToUndo() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let r = try cli.run(["realserver", "down", "--state", cli.directory.path + "/none.json"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Nothing to undo: \(cli.directory.path)/none.json does not exist"), "\(r)")
    }

    @Test func aCorruptStateFileIsNamed() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let state = try cli.write("state.json", "{ not json")
        let r = try cli.run(["realserver", "down", "--state", state])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("\(state): not a realserver state file"), "\(r)")
    }
}
