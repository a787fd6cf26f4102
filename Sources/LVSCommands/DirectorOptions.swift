import ArgumentParser
import Foundation
import LVSManifest
import LVSVRRP

/// Which director this is and where its VRRP files live: every command that renders, reads or
/// writes them (`apply`, `plan`, `drift`, `run`, `maintenance`, `status`) takes these, so two
/// directors can share one file system in a test.
struct DirectorOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "This director's node name in the manifest's vrrp section (default: $LVSCTL_NODE, else the host name).",
        valueName: "name"))
    var node: String?

    @Option(help: ArgumentHelp(
        "Directory of the VRRP notify FIFO and the track files (default: $LVSCTL_RUN_DIR, else /run/lvsctl).",
        valueName: "dir"))
    var runDir: String?

    @Option(help: ArgumentHelp(
        "The keepalived config lvsctl renders (default: $LVSCTL_KEEPALIVED_CONFIG, else /etc/lvsctl/keepalived.conf).",
        valueName: "path"))
    var keepalivedConfig: String?

    @Option(help: ArgumentHelp(
        "keepalived's pid file, for the reload after a render (default: $LVSCTL_KEEPALIVED_PID, else /run/keepalived.pid).",
        valueName: "path"))
    var keepalivedPidFile: String?

    /// The node: `--node`, `LVSCTL_NODE`, the host name (`NodeName.resolve`).
    func nodeName(environment: [String: String] = ProcessInfo.processInfo.environment) -> NodeName? {
        NodeName.resolve(option: node, environment: environment)
    }

    /// The paths, each from its option, else its variable, else the default.
    func paths(environment: [String: String] = ProcessInfo.processInfo.environment) -> DirectorPaths {
        func pick(_ option: String?, _ variable: String, _ fallback: String) -> String {
            if let option, !option.isEmpty { return option }
            if let value = environment[variable], !value.isEmpty { return value }
            return fallback
        }
        return DirectorPaths(
            runDirectory: pick(runDir, "LVSCTL_RUN_DIR", DirectorPaths.defaultRunDirectory),
            keepalivedConfig: pick(keepalivedConfig, "LVSCTL_KEEPALIVED_CONFIG", DirectorPaths.defaultKeepalivedConfig),
            keepalivedPIDFile: pick(keepalivedPidFile, "LVSCTL_KEEPALIVED_PID", DirectorPaths.defaultKeepalivedPIDFile))
    }

    func validate() throws {
        for (value, name) in [(runDir, "--run-dir"), (keepalivedConfig, "--keepalived-config"), (keepalivedPidFile, "--keepalived-pid-file")] {
            if let value, !value.hasPrefix("/") {
                throw ValidationError("\(name) '\(value)' must be an absolute path")
            }
        }
    }
}
