import Foundation
import LVSTestSupport
import LVSVRRP

/// keepalived for one director of a lab pair, the way every pair suite runs it (DirectorPairTests,
/// DirectorStateTests, SeedPairTests, RolloutTests): VRRP only (`-P`), on the config lvsctl
/// rendered for the node, with the pid files the director's lvsctl is told about.
///
/// What must stay true: keepalived and the director's lvsctl are given one `DirectorPaths` value
/// (lvsctl through ``environment(node:paths:)`` or the equivalent `--run-dir`,
/// `--keepalived-config`, `--keepalived-pid-file` flags), so a suite cannot start keepalived on
/// one file and point lvsctl at another.
enum LabKeepalived {
    /// The `LVSCTL_*` variables that name a director and its files for `apply`, `run`, `status`,
    /// `maintenance` (and, through sshd's `SetEnv`, for a remote lvsctl).
    static func environment(node: String, paths: DirectorPaths) -> [String: String] {
        [
            "LVSCTL_NODE": node, "LVSCTL_RUN_DIR": paths.runDirectory, "LVSCTL_KEEPALIVED_CONFIG": paths.keepalivedConfig,
            "LVSCTL_KEEPALIVED_PID": paths.keepalivedPIDFile,
        ]
    }

    /// Starts `keepalived -P` in `host`'s namespace on `paths.keepalivedConfig` and waits until it
    /// wrote its pid file (from then on `lvsctl apply` can reload it).
    ///
    /// Each keepalived gets its run directory as `TMPDIR`: its JSON state dump lands there, where
    /// `lvsctl run` reads it (through `/proc/PID/root`), and two directors in one guest do not
    /// share the file. Its output goes to `LABDIR/keepalived-NODE.log`.
    static func start(on host: LabHost, node: String, paths: DirectorPaths) throws -> BackgroundProcess {
        try FileManager.default.createDirectory(atPath: paths.runDirectory, withIntermediateDirectories: true)
        var env = LabNetwork.environment
        env["TMPDIR"] = paths.runDirectory
        let process = try host.spawn("keepalived-\(node)", [
            "keepalived", "-P", "-n", "-l", "-D", "-f", paths.keepalivedConfig, "-p", paths.keepalivedPIDFile,
            "-r", paths.runDirectory + "/keepalived-vrrp.pid",
        ], environment: env)
        try waitFor("keepalived on \(node) to write its pid file", timeout: 60, diagnostics: process.logTail()) {
            guard process.isRunning else { throw ProcessRunner.Failure(description: "keepalived on \(node) exited\n\(process.logTail())") }
            return FileManager.default.fileExists(atPath: paths.keepalivedPIDFile)
        }
        return process
    }
}
