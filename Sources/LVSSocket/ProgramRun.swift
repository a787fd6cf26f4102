import Foundation

/// How a program run by ``runProgram(path:arguments:environment:timeout:)`` ended.
package enum ProgramOutcome: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)
    /// Still running after the timeout: it was sent SIGTERM, then SIGKILL half a second later.
    case timedOut
    case failedToStart(String)
}

/// Runs a program (argv, no shell) with no standard input and its output discarded, and a hard
/// timeout: SIGTERM, then SIGKILL half a second later if it is still running. Only the direct
/// child is signalled. `environment` nil: the program inherits this process's environment.
/// Exec health checks (`MISC_CHECK`) and notify hooks run their programs this way.
/// `namespace`: start the program inside this network namespace (it inherits the namespace of
/// the thread that starts it).
package func runProgram(
    path: String, arguments: [String], environment: [String: String]? = nil, timeout: Double,
    namespace: NetworkNamespace? = nil
) async -> ProgramOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    let box = UncheckedBox(process)
    return await withCheckedContinuation { (continuation: CheckedContinuation<ProgramOutcome, Never>) in
        let once = OnceResume(continuation)
        process.terminationHandler = { p in
            once.resume(p.terminationReason == .exit ? .exited(p.terminationStatus) : .signalled(p.terminationStatus))
        }
        let started = namespace.map { ns in ns.runBlocking { try process.run() } } ?? Result { try process.run() }
        if case .failure(let error) = started {
            once.resume(.failedToStart((error as? NetworkNamespace.Failure)?.description ?? error.localizedDescription))
            return
        }
        afterDelay(max(timeout, 0)) {
            guard box.value.isRunning else { return }
            once.resume(.timedOut)
            box.value.terminate()
            afterDelay(0.5) {
                if box.value.isRunning { kill(box.value.processIdentifier, SIGKILL) }
            }
        }
    }
}

private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

/// Resumes a continuation once: the first of the exit and the timeout wins.
private final class OnceResume<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?
    init(_ c: CheckedContinuation<T, Never>) { continuation = c }
    func resume(_ value: T) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: value)
    }
}
