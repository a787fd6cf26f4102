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
        DirectorPaths(
            runDirectory: optionOrVariable(runDir, "LVSCTL_RUN_DIR", default: DirectorPaths.defaultRunDirectory, environment: environment),
            keepalivedConfig: optionOrVariable(
                keepalivedConfig, "LVSCTL_KEEPALIVED_CONFIG", default: DirectorPaths.defaultKeepalivedConfig, environment: environment),
            keepalivedPIDFile: optionOrVariable(
                keepalivedPidFile, "LVSCTL_KEEPALIVED_PID", default: DirectorPaths.defaultKeepalivedPIDFile, environment: environment))
    }

    func validate() throws {
        try requireAbsolutePaths([(runDir, "--run-dir"), (keepalivedConfig, "--keepalived-config"), (keepalivedPidFile, "--keepalived-pid-file")])
    }
}
