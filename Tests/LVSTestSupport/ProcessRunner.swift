import Foundation

/// Runs a program and collects its exit status and output.
public enum ProcessRunner {
    /// The result of one run.
    public struct Result: Sendable, CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var description: String { "status \(status), stdout: \(stdout), stderr: \(stderr)" }
    }

    /// An error for a program that could not be started or failed where success was required.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `arguments[0]` (looked up in PATH) with the rest as arguments, optionally feeding `input`.
    public static func run(_ arguments: [String], input: String? = nil) throws -> Result {
        guard let first = arguments.first else { throw Failure(description: "run: no program given") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        p.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        do { try p.run() } catch {
            throw Failure(description: "cannot start \(first): \(error)")
        }
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try? inp.fileHandleForWriting.close()
        // Read both pipes concurrently so neither can fill up and block the child.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Like `run`, but throws unless the program exits with status 0.
    @discardableResult
    public static func check(_ arguments: [String], input: String? = nil) throws -> Result {
        let r = try run(arguments, input: input)
        guard r.status == 0 else {
            throw Failure(description: "`\(arguments.joined(separator: " "))` failed with status \(r.status): \(r.stderr)\(r.stdout)")
        }
        return r
    }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
}
