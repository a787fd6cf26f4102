import Foundation
import LVSModel
import LVSTestSupport
import Testing

/// `settings` sysctls through the real `lvsctl` binary and the file-backed fake kernel: apply,
/// audit row, empty second plan, drift after a hand edit, `drift --fix`.
@Suite struct SysctlSettingsCLITests {
    func kernelFile(_ cli: CLIRunner) -> URL { cli.directory.appendingPathComponent("kernel.json") }

    @Test func appliedAuditedAndDriftChecked() throws {
        let cli = try CLIRunner(fakeKernel: true)
        // The pair's manifest without its vrrp section: the sysctls alone (the rendered
        // keepalived config is DirectorPairCLITests' and the guest's DirectorPairTests').
        var pair = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: CLIRunner.manifest("director-pair.json")))) as? [String: Any])
        pair["vrrp"] = nil
        let manifest = try cli.write("director-pair.json", String(decoding: try JSONSerialization.data(withJSONObject: pair), as: UTF8.self))
        let applied = try cli.run(["apply", "-f", manifest])
        #expect(applied.status == 0, "\(applied)")
        #expect(applied.stdout.contains("~ set sysctls expire_nodest_conn, sloppy_tcp, sync_refresh_period"), "\(applied)")
        var live = try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: kernelFile(cli)))
        #expect(live.sysctls.sloppyTcp == true && live.sysctls.expireNodestConn == true && live.sysctls.syncRefreshPeriod == 60)

        let history = try cli.run(["history"])
        #expect(history.stdout.split(separator: "\n").filter { $0.contains("set-sysctls") }.count == 1, "\(history)")
        #expect(try cli.run(["plan", "-f", manifest, "--detailed-exitcode"]).status == 0)
        #expect(try cli.run(["drift"]).status == 0)

        live.sysctls.sloppyTcp = false
        try JSONEncoder().encode(live).write(to: kernelFile(cli))
        let drift = try cli.run(["drift"])
        #expect(drift.status == 2, "\(drift)")
        #expect(drift.stdout.contains("settings.sloppyTcp: expected 1, live 0"), "\(drift)")
        #expect(try cli.run(["drift", "--fix"]).status == 0)
        #expect(try cli.run(["drift"]).status == 0)
        live = try JSONDecoder().decode(LiveTable.self, from: Data(contentsOf: kernelFile(cli)))
        #expect(live.sysctls.sloppyTcp == true)
    }
}
