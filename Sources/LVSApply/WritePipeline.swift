import Foundation
import LVSKernel

/// Sends kernel writes in chunks from a second thread while the calling thread handles the
/// outcomes of the chunks already acknowledged.
///
/// An apply of a large table does two long things per change: the kernel write (netlink, done by
/// the kernel in the sending thread) and the audit row (SQLite, in the caller's transaction).
/// They do not depend on each other beyond order, so with two CPUs they overlap: while the caller
/// records chunk *k*, chunk *k + 1* is on its way. Outcomes are delivered in order, on the calling
/// thread (the audit writer must write on the thread that owns the store transaction). A chunk
/// with a failed write is the last one sent, as in a single `execute(_:stopOnError: true)`; the
/// caller reports what was never delivered as skipped.
///
/// Plans of at most one chunk are sent from the calling thread: no thread for the common small
/// apply.
struct WritePipeline {
    let kernel: any IPVSKernel
    let chunk: Int

    /// Sends `writes` and calls `deliver` with each chunk's outcomes (in order, one per write
    /// sent, `.skipped` after a failure inside the chunk) and the time the kernel took for it.
    func run(_ writes: [KernelWrite], deliver: (ArraySlice<WriteOutcome>, Duration) -> Void) {
        if writes.count <= chunk {
            let (outcomes, took) = Self.timed { kernel.execute(writes, stopOnError: true) }
            deliver(outcomes[...], took)
            return
        }
        let handoff = Handoff()
        let sender = Sender(kernel: kernel, writes: writes, chunk: chunk)
        let thread = Thread { sender.run(into: handoff) }
        thread.name = "lvsctl-kernel-writes"
        thread.start()
        while let (outcomes, took) = handoff.next() {
            deliver(outcomes[...], took)
        }
    }

    static func timed<T>(_ body: () -> T) -> (T, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let value = body()
        return (value, clock.now - start)
    }

    /// The sending side: owns the kernel for the duration of the pipeline (the caller does not
    /// touch it until every chunk is delivered).
    private final class Sender: @unchecked Sendable {
        let kernel: any IPVSKernel
        let writes: [KernelWrite]
        let chunk: Int

        init(kernel: any IPVSKernel, writes: [KernelWrite], chunk: Int) {
            self.kernel = kernel
            self.writes = writes
            self.chunk = chunk
        }

        func run(into handoff: Handoff) {
            var start = 0
            while start < writes.count {
                let end = min(start + chunk, writes.count)
                let (outcomes, took) = WritePipeline.timed {
                    kernel.execute(Array(writes[start..<end]), stopOnError: true)
                }
                handoff.put(outcomes, took)
                if outcomes.contains(where: { if case .failed = $0 { true } else { false } }) { break }
                start = end
            }
            handoff.close()
        }
    }

    /// Chunks of outcomes from the sender to the caller, in order. Unbounded: a chunk's outcomes
    /// are a few kilobytes, and the sender is the faster side only when the caller's work per
    /// write is small.
    private final class Handoff: @unchecked Sendable {
        private let condition = NSCondition()
        private var queue: [([WriteOutcome], Duration)] = []
        private var head = 0
        private var closed = false

        func put(_ outcomes: [WriteOutcome], _ took: Duration) {
            condition.lock()
            queue.append((outcomes, took))
            condition.signal()
            condition.unlock()
        }

        func close() {
            condition.lock()
            closed = true
            condition.signal()
            condition.unlock()
        }

        /// The next chunk; nil once the sender is done and everything was taken.
        func next() -> ([WriteOutcome], Duration)? {
            condition.lock()
            defer { condition.unlock() }
            while head == queue.count && !closed { condition.wait() }
            guard head < queue.count else { return nil }
            let item = queue[head]
            queue[head] = ([], .zero)
            head += 1
            return item
        }
    }
}
