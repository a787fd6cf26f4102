import Foundation
import LVSModel
import LVSStore
import Synchronization

/// A temporary directory that is removed when the test ends.
final class TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("lvsstore-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_780_000_000)) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var source: @Sendable () -> Date { { [self] in self.now } }
}

/// Parses identities used in tests; a typo fails the test instead of crashing.
struct IDError: Error, CustomStringConvertible {
    var text: String
    var description: String { "bad identity in test: \(text)" }
}

func vs(_ text: String) throws -> VirtualService.ID {
    guard let id = VirtualService.ID(text) else { throw IDError(text: text) }
    return id
}

func rs(_ text: String) throws -> RealServer.ID {
    guard let id = RealServer.ID(text) else { throw IDError(text: text) }
    return id
}

/// The file mode bits (permissions) of a path.
func mode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

/// `Migrations/` at the package root, found from this file's path.
let migrationsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Migrations")
