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
    await run(path: path, arguments: arguments, environment: environment, timeout: timeout, namespace: namespace, output: nil)
}

/// A program's end and what it wrote (standard output and error, interleaved, at most
/// `ProgramResult.outputLimit` bytes).
package struct ProgramResult: Sendable, Equatable {
    package var outcome: ProgramOutcome
    package var output: String
    package static let outputLimit = 1 << 20
}

/// ``runProgram(path:arguments:environment:timeout:namespace:)``, keeping what the program
/// writes: for tools whose answer is their output (`birdc`).
package func runProgramCapturingOutput(
    path: String, arguments: [String], environment: [String: String]? = nil, timeout: Double
) async -> ProgramResult {
    let pipe = Pipe()
    // Read on a thread of its own while the program runs, so a program that writes more than a
    // pipe holds never blocks; the read ends when the program (the pipe's only writer) exits.
    let collected = OutputCollector()
    let reader = Thread {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        collected.finish(data.prefix(ProgramResult.outputLimit))
    }
    let outcome = await run(path: path, arguments: arguments, environment: environment, timeout: timeout, namespace: nil, output: pipe) {
        reader.start()
    }
    let data = await collected.value()
    return ProgramResult(outcome: outcome, output: String(decoding: data, as: UTF8.self))
}

private func run(
    path: String, arguments: [String], environment: [String: String]?, timeout: Double,
    namespace: NetworkNamespace?, output: Pipe?, started: (() -> Void)? = nil
) async -> ProgramOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output ?? FileHandle.nullDevice
    process.standardError = output ?? FileHandle.nullDevice
    let box = UncheckedBox(process)
    return await withCheckedContinuation { (continuation: CheckedContinuation<ProgramOutcome, Never>) in
        let once = OnceResume(continuation)
        process.terminationHandler = { p in
            once.resume(p.terminationReason == .exit ? .exited(p.terminationStatus) : .signalled(p.terminationStatus))
        }
        let result = namespace.map { ns in ns.runBlocking { try process.run() } } ?? Result { try process.run() }
        if case .failure(let error) = result {
            once.resume(.failedToStart((error as? NetworkNamespace.Failure)?.description ?? error.localizedDescription))
            // Nothing will write: let a reader see the end.
            try? output?.fileHandleForWriting.close()
            started?()
            return
        }
        // This process's copy of the write end must close for the reader to see the end.
        try? output?.fileHandleForWriting.close()
        started?()
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

/// The bytes a reader thread collected, handed to an async waiter.
private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    private var waiter: CheckedContinuation<Data, Never>?

    func finish(_ d: Data) {
        lock.lock()
        if let w = waiter {
            waiter = nil
            lock.unlock()
            w.resume(returning: d)
        } else {
            data = d
            lock.unlock()
        }
    }

    func value() async -> Data {
        await withCheckedContinuation { c in
            lock.lock()
            if let d = data {
                lock.unlock()
                c.resume(returning: d)
            } else {
                waiter = c
                lock.unlock()
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
