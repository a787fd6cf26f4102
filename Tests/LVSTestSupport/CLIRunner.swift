import Foundation

/// Runs the built `lvsctl` binary as a user would, with its own database and environment.
///
/// End-to-end tests use it on the host (with `LVSCTL_FAKE_KERNEL`, a file-backed in-memory
/// kernel) and in the lab guest (against the real kernel, in a network namespace).
public final class CLIRunner: @unchecked Sendable {
    public struct Result: Sendable, CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    /// A scratch directory holding the database (and the fake kernel's state, if any).
    public let directory: URL
    public var environment: [String: String]
    /// Extra arguments added to every command (e.g. `--netns NAME`).
    public var commonArguments: [String] = []

    public var databasePath: String { directory.appendingPathComponent("lvsctl.db").path }

    /// - Parameter fakeKernel: keep the kernel state in a JSON file instead of talking to the
    ///   real kernel (host tests).
    public init(fakeKernel: Bool) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env["LVSCTL_DB"] = directory.appendingPathComponent("lvsctl.db").path
        env["LVSCTL_AUTHOR"] = "test"
        env.removeValue(forKey: "LVSCTL_FAKE_KERNEL")
        if fakeKernel { env["LVSCTL_FAKE_KERNEL"] = directory.appendingPathComponent("kernel.json").path }
        environment = env
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The package root, found from this file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary: `$LVSCTL_BINARY`, else `.build/debug/lvsctl` in the package.
    public static var binary: String {
        if let b = ProcessInfo.processInfo.environment["LVSCTL_BINARY"], !b.isEmpty { return b }
        return packageRoot.appendingPathComponent(".build/debug/lvsctl").path
    }

    /// A file in `Manifests/`.
    public static func manifest(_ name: String) -> String {
        packageRoot.appendingPathComponent("Manifests/\(name)").path
    }

    /// Writes `text` to a file in the scratch directory and returns its path.
    public func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Runs `lvsctl ARGS` and returns its status and output.
    @discardableResult
    public func run(_ arguments: [String], input: String? = nil) throws -> Result {
        try Self.exec([Self.binary] + arguments + commonArguments, environment: environment, input: input)
    }

    /// Runs any program with this runner's environment.
    public func exec(_ arguments: [String], input: String? = nil) throws -> Result {
        try Self.exec(arguments, environment: environment, input: input)
    }

    static func exec(_ arguments: [String], environment: [String: String], input: String?) throws -> Result {
        let r = try ProcessRunner.run(arguments, input: input, environment: environment)
        return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }
}
