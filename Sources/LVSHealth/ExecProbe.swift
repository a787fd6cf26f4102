import Foundation
import LVSModel
public import LVSSocket

/// `MISC_CHECK`: run a local program (argv, no shell); success on exit status 0.
///
/// The program gets no standard input and its output is discarded. When `connectTimeout`
/// passes it is sent SIGTERM, then SIGKILL half a second later if it is still running, and the
/// check fails with `timeout after N s`. Only the direct child is signalled.
/// Whether exec checks may run at all is decided by ``HealthCheckerConfig/allowExec``;
/// ``ProbeRunner`` enforces it before this is reached.
public enum ExecProbe {
    /// - Parameter namespace: start the program in this network namespace.
    public static func run(command: [String], timeout: Double, namespace: NetworkNamespace? = nil) async -> ProbeResult {
        guard let program = command.first, !program.isEmpty else {
            return .failure("exec check has no command; set healthCheck.command to [program, args...]")
        }
        guard let path = resolve(program) else {
            return .failure("program not found: \(program)")
        }
        switch await runProgram(
            path: path, arguments: Array(command.dropFirst()), timeout: timeout, namespace: namespace) {
        case .exited(0): return .success
        case .exited(let status): return .failure("exit status \(status)")
        case .signalled(let signal): return .failure("killed by signal \(signal)")
        case .timedOut: return .failure("timeout after \(formatSeconds(timeout)) s")
        case .failedToStart(let why): return .failure("cannot run \(path): \(why)")
        }
    }

    /// An absolute or relative path is used as given; a bare name is looked up in `PATH`.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
