import Foundation
public import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A network namespace that health probes run in (`lvsctl run --netns NS`): a probe must reach
/// the real servers from the namespace whose IPVS table it changes, not from the one lvsctl runs
/// in.
///
/// A socket belongs to the namespace of the thread that created it, and a child process to the
/// namespace of the thread that started it. So: tcp and http probes run on a thread of their own
/// that enters the namespace first (``run(_:)``); exec probes start their program from such a
/// thread; https probes use an event loop group whose threads were started from inside the
/// namespace (``eventLoops``). Nothing else in the process changes namespace.
public final class NetworkNamespace: Sendable {
    /// The namespace file: `/run/netns/NAME` or a path.
    public let path: String
    private let fd: Int32
    /// One event-loop thread, started from inside the namespace (its sockets are there).
    package let eventLoops: MultiThreadedEventLoopGroup

    /// Opens the namespace and checks that a thread can enter it.
    /// - Throws: ``Failure`` naming the path when it cannot be opened or entered.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot open network namespace \(path): \(errnoText())") }
        self.fd = fd
        let entered = Self.onThread(entering: fd) { MultiThreadedEventLoopGroup(numberOfThreads: 1) }
        switch entered {
        case .success(let group): eventLoops = group
        case .failure(let why):
            close(fd)
            throw Failure("cannot enter network namespace \(path): \(why.description)")
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    /// Runs `work` on a new thread that has entered the namespace; the thread ends with it.
    /// - Returns: `work`'s value, or why the thread could not enter the namespace.
    package func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> Result<T, Failure> {
        let fd = self.fd
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: Self.entering(fd, work))
            }
        }
    }

    /// Runs `work` on a new thread that has entered the namespace and waits for it. (`work` is
    /// escaping: the thread object may keep it a moment after the wait ends.)
    package func runBlocking<T>(_ work: @escaping () throws -> T) -> Result<T, any Error> {
        switch Self.onThread(entering: fd, { Result { try work() } }) {
        case .success(let r): return r
        case .failure(let f): return .failure(f)
        }
    }

    private static func entering<T>(_ fd: Int32, _ work: () -> T) -> Result<T, Failure> {
        guard let setns = setnsFunction else { return .failure(Failure("setns is not available")) }
        guard setns(fd, cloneNewNet) == 0 else {
            return .failure(Failure("setns: \(errnoText())"))
        }
        return .success(work())
    }

    private static func onThread<T>(entering fd: Int32, _ work: @escaping () -> T) -> Result<T, Failure> {
        let box = Box<Result<T, Failure>>()
        let unchecked = UncheckedWork(work)
        let thread = Thread {
            box.value = Self.entering(fd, unchecked.work)
            box.done.signal()
        }
        thread.start()
        box.done.wait()
        return box.value!
    }
}

/// CLONE_NEWNET: `setns` enters a network namespace only.
private let cloneNewNet: Int32 = 0x4000_0000

/// setns(2), looked up in the C library: Glibc declares it only under _GNU_SOURCE, and only
/// LVSNetlink may import the C shim that declares it.
nonisolated(unsafe) private let setnsFunction: (@convention(c) (Int32, Int32) -> Int32)? = {
    guard let symbol = dlsym(nil, "setns") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
}()

/// A value handed from a worker thread to the thread waiting on `done`.
private final class Box<T>: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    var value: T?
}

/// A closure run on exactly one other thread while its caller waits.
private struct UncheckedWork<T>: @unchecked Sendable {
    let work: () -> T
    init(_ work: @escaping () -> T) { self.work = work }
}
