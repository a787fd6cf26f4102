/// Where one director's lvsctl, keepalived and the operator meet on the file system.
///
/// The one place these file names are derived: `apply` renders them into keepalived's config,
/// `run` creates and reads them, `maintenance` writes the track file. Two directors in one test
/// share a file system by giving each its own `runDirectory`.
public struct DirectorPaths: Hashable, Sendable {
    /// `/run/lvsctl` unless `--run-dir` / `LVSCTL_RUN_DIR` say otherwise.
    public var runDirectory: String
    /// The VRRP-only keepalived config lvsctl renders (`--keepalived-config`).
    public var keepalivedConfig: String
    /// keepalived's pid file (`--keepalived-pid-file`), read to send it SIGHUP.
    public var keepalivedPIDFile: String

    public static let defaultRunDirectory = "/run/lvsctl"
    public static let defaultKeepalivedConfig = "/etc/lvsctl/keepalived.conf"
    public static let defaultKeepalivedPIDFile = "/run/keepalived.pid"

    public init(
        runDirectory: String = DirectorPaths.defaultRunDirectory,
        keepalivedConfig: String = DirectorPaths.defaultKeepalivedConfig,
        keepalivedPIDFile: String = DirectorPaths.defaultKeepalivedPIDFile
    ) {
        self.runDirectory = runDirectory
        self.keepalivedConfig = keepalivedConfig
        self.keepalivedPIDFile = keepalivedPIDFile
    }

    /// `vrrp_notify_fifo`: `run` creates and reads it.
    public var notifyFIFO: String { runDirectory + "/vrrp.fifo" }
    /// The maintenance track file: non-zero puts the maintenance instances into FAULT.
    public var maintenanceFile: String { runDirectory + "/maintenance" }
    /// The readiness track file: non-zero while this director cannot serve yet.
    public var readinessFile: String { runDirectory + "/readiness" }

    /// The paths rendered into keepalived's config.
    public var keepalived: KeepalivedConfig.Paths {
        KeepalivedConfig.Paths(notifyFIFO: notifyFIFO, trackFile: maintenanceFile, readinessFile: readinessFile)
    }
}
