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
        if let path = ProcessInfo.processInfo.environment[fakeVariable], !path.isEmpty {
            return try FileBackedFakeKernel(path: path)
        }
        return try NetlinkKernel(namespacePath: namespacePath)
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
