import Foundation

/// Bytes made on a thread of its own, handed over in order, a few pieces at a time: the thread
/// renders the next pieces while the caller stores the ones before (saving a large revision: in
/// the lab guest, rendering 24 MB of canonical form took 0.6 s and SQLite's inserts of it 1.3 s).
final class PieceStream: @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var pieces: [[UInt8]] = []
    private var finished = false
    /// Pieces made and not yet taken, at most: the memory in flight is this many pieces.
    private static let window = 4

    /// Starts `produce` on a thread named `name`; it hands each piece to the function it is given.
    init(_ name: String, _ produce: @escaping @Sendable (_ piece: (UnsafeRawBufferPointer) -> Void) -> Void) {
        let thread = Thread { [self] in
            produce { piece in
                condition.lock()
                while pieces.count >= Self.window { condition.wait() }
                pieces.append(Array(piece))
                condition.broadcast()
                condition.unlock()
            }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    /// Hands every piece to `body`, in order, as they come; returns when the thread is done.
    func forEach(_ body: (UnsafeRawBufferPointer) -> Void) {
        while true {
            condition.lock()
            while pieces.isEmpty && !finished { condition.wait() }
            guard !pieces.isEmpty else {
                condition.unlock()
                return
            }
            let piece = pieces.removeFirst()
            condition.broadcast()
            condition.unlock()
            piece.withUnsafeBytes(body)
        }
    }
}

/// A value made on a thread of its own; ``value()`` waits for it and returns it or throws its
/// error.
final class Background<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// Written by the thread before it signals `done`.
    private var result: Result<T, any Error>?

    init(_ name: String, _ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Waits for the value; any number of threads may ask.
    func value() throws -> T {
        done.wait()
        done.signal()  // the next caller does not wait
        return try result!.get()
    }

    /// Runs `body`; if it throws, this value's own error wins (as when it was made first).
    func preferringItsErrors<R>(_ body: () throws -> R) throws -> R {
        try preferringErrors(of: { _ = try value() }, body)
    }
}

/// Runs `body`; if it throws, the error of `earlier` (a step that used to run first and now runs
/// alongside) is reported instead, so that errors keep the order a user knows.
func preferringErrors<T>(of earlier: () throws -> Void, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        try earlier()
        throw error
    }
}

/// Runs async work from a synchronous command and waits for it: the one bridge `status` (asking
/// BIRD), `run` (the daemon) and the operator-action notice use. The calling thread blocks; the
/// work runs on the concurrency pool, which never needs that thread.
func waitForAsync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = AsyncOutcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// Written by the task before it signals; read by the waiting thread after.
private final class AsyncOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
