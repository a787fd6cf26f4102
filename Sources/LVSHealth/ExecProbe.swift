import Foundation
import LVSModel
import LVSSocket

/// `MISC_CHECK`: run a local program (argv, no shell); success on exit status 0.
///
/// The program gets no standard input and its output is discarded. When `connectTimeout`
/// passes it is sent SIGTERM, then SIGKILL half a second later if it is still running, and the
/// check fails with `timeout after N s`. Only the direct child is signalled.
/// Whether exec checks may run at all is decided by ``HealthCheckerConfig/allowExec``;
/// ``ProbeRunner`` enforces it before this is reached.
public enum ExecProbe {
    public static func run(command: [String], timeout: Double) async -> ProbeResult {
        guard let program = command.first, !program.isEmpty else {
            return .failure("exec check has no command; set healthCheck.command to [program, args...]")
        }
        guard let path = resolve(program) else {
            return .failure("program not found: \(program)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(command.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let box = ProcessBox(process)
        return await withCheckedContinuation { (continuation: CheckedContinuation<ProbeResult, Never>) in
            let once = Once(continuation)
            process.terminationHandler = { p in
                switch p.terminationReason {
                case .exit:
                    once.resume(p.terminationStatus == 0 ? .success : .failure("exit status \(p.terminationStatus)"))
                case .uncaughtSignal:
                    once.resume(.failure("killed by signal \(p.terminationStatus)"))
                @unknown default:
                    once.resume(.failure("ended with status \(p.terminationStatus)"))
                }
            }
            do {
                try process.run()
            } catch {
                once.resume(.failure("cannot run \(path): \(error.localizedDescription)"))
                return
            }
            afterDelay(max(timeout, 0)) {
                guard box.process.isRunning else { return }
                once.resume(.failure("timeout after \(formatSeconds(timeout)) s"))
                box.process.terminate()
                afterDelay(0.5) {
                    if box.process.isRunning { kill(box.process.processIdentifier, SIGKILL) }
                }
            }
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

    final class ProcessBox: @unchecked Sendable {
        let process: Process
        init(_ p: Process) { process = p }
    }

    final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<ProbeResult, Never>?
        init(_ c: CheckedContinuation<ProbeResult, Never>) { continuation = c }
        func resume(_ r: ProbeResult) {
            lock.lock()
            let c = continuation
            continuation = nil
            lock.unlock()
            c?.resume(returning: r)
        }
    }
}
