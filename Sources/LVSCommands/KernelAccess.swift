import Foundation
import LVSKernel
import LVSModel
import LVSNetlink

/// Opens the kernel the commands talk to.
///
/// Normally that is the live IPVS table over netlink. When `LVSCTL_FAKE_KERNEL` names a JSON
/// file, an in-memory `FakeKernel` is loaded from it and saved back after each command: the
/// command-line tests use this to run the real binary on hosts without IPVS. It is never a
/// substitute for the real-kernel suite, which runs in the lab guest.
enum KernelAccess {
    static let fakeVariable = "LVSCTL_FAKE_KERNEL"

    static func open(namespacePath: String?) throws -> any IPVSKernel {
        let environment = ProcessInfo.processInfo.environment
        let kernel: any IPVSKernel
        if let path = environment[fakeVariable], !path.isEmpty {
            kernel = try FileBackedFakeKernel(path: path)
        } else {
            kernel = try NetlinkKernel(namespacePath: namespacePath)
        }
        #if DEBUG
        if let value = environment[SIGKILLAfterWrites.variable] {
            guard let count = Int(value), count > 0 else {
                throw CLIError("\(SIGKILLAfterWrites.variable) must be a positive number of kernel writes, not \"\(value)\"")
            }
            return SIGKILLAfterWrites(kernel, count: count)
        }
        #endif
        return kernel
    }

    /// Persists a file-backed fake after a command; a no-op for the real kernel.
    static func close(_ kernel: any IPVSKernel) throws {
        if let fake = kernel as? FileBackedFakeKernel { try fake.save() }
    }
}

/// A `FakeKernel` whose state lives in a JSON file between command runs.
final class FileBackedFakeKernel: IPVSKernel {
    let path: String
    let fake: FakeKernel

    init(path: String) throws {
        self.path = path
        if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
            fake = FakeKernel(state: try JSONDecoder().decode(LiveTable.self, from: data))
        } else {
            fake = FakeKernel()
        }
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(fake.state).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    func info() throws(KernelError) -> KernelInfo { try fake.info() }
    func snapshot() throws(KernelError) -> LiveTable { try fake.snapshot() }
    func service(_ id: VirtualService.ID) throws(KernelError) -> LiveService? { try fake.service(id) }
    func execute(_ writes: [KernelWrite], stopOnError: Bool) -> [WriteOutcome] {
        fake.execute(writes, stopOnError: stopOnError)
    }
    var writeCount: Int { fake.writeCount }
}

#if DEBUG
/// A failpoint for the crash tests (debug builds only; a release build has no such variable):
/// forwards to the real kernel and, once the kernel has acknowledged `count` writes, ends the
/// process with SIGKILL from the thread that sent them.
///
/// A kill from outside lands wherever the scheduler happens to be, and a fast apply finishes
/// its last thousand writes before a poller can aim (issue 17). This one lands after exactly
/// `count` writes, at any point of a chunk, while the thread recording outcomes is wherever it
/// is: the state a SIGKILL, a crash or a power cut can leave, made repeatable.
final class SIGKILLAfterWrites: IPVSKernel {
    static let variable = "LVSCTL_TEST_SIGKILL_AFTER_WRITES"

    let kernel: any IPVSKernel
    private let count: Int
    private var sent = 0

    init(_ kernel: any IPVSKernel, count: Int) {
        self.kernel = kernel
        self.count = count
    }

    func info() throws(KernelError) -> KernelInfo { try kernel.info() }
    func snapshot() throws(KernelError) -> LiveTable { try kernel.snapshot() }
    func service(_ id: VirtualService.ID) throws(KernelError) -> LiveService? { try kernel.service(id) }
    var writeCount: Int { kernel.writeCount }

    // Called from one thread at a time (the apply's sender), so `sent` needs no lock.
    func execute(_ writes: [KernelWrite], stopOnError: Bool) -> [WriteOutcome] {
        let left = count - sent
        guard writes.count >= left else {
            sent += writes.count
            return kernel.execute(writes, stopOnError: stopOnError)
        }
        _ = kernel.execute(Array(writes.prefix(left)), stopOnError: stopOnError)
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL did not end the process")
    }
}
#endif
