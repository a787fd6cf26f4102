import Foundation
import Testing

/// Checks that the real-kernel suite runs where it must: as root, against a kernel with IPVS, with
/// one fresh network namespace per test.
///
/// These tests fail (never skip) on a kernel without IPVS, so `Tests/Lab/run-kernel-tests` cannot
/// report a green run from the wrong machine. They drive the stock `ip` and `ipvsadm` tools only,
/// so they hold independently of lvsctl's own netlink code.
@Suite struct LabSmokeTests {
    /// A scheduler name and the kernel module that provides it.
    struct SchedulerCase: Sendable, CustomStringConvertible {
        let name: String
        var description: String { "ip_vs_\(name)" }
    }

    @Test func procNetIPVSExists() throws {
        let path = "/proc/net/ip_vs"
        #expect(
            FileManager.default.fileExists(atPath: path),
            "\(path) is missing: this kernel has no IPVS. Run the suite with Tests/Lab/run-kernel-tests, which boots a guest kernel that has it.")
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        #expect(text.hasPrefix("IP Virtual Server version"), "unexpected \(path) header: \(text.prefix(80))")
    }

    @Test func runsAsRoot() {
        #expect(geteuid() == 0, "the kernel suite needs root (network namespaces, IPVS writes); it runs as uid \(geteuid())")
    }

    @Test func ipvsadmRoundTripsInAFreshNamespace() throws {
        try withScratchNamespace { ns in
            try ns.run("ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "rr")
            try ns.run("ipvsadm", "-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-m", "-w", "2")
            let saved = try ns.save().split(separator: "\n").map(String.init)
            #expect(saved == ["-A -t 10.0.0.1:80 -s rr", "-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 2"])
        }
    }

    /// Seen in the lab: for direct routing the kernel stores the service's port, whatever port the
    /// real server was given (a masquerading real server keeps its own port, as above).
    @Test func directRoutingRealServerTakesTheServicePort() throws {
        try withScratchNamespace { ns in
            try ns.run("ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "wrr")
            try ns.run("ipvsadm", "-a", "-t", "10.0.0.1:80", "-r", "10.0.0.3:8080", "-g", "-w", "3")
            let saved = try ns.save().split(separator: "\n").map(String.init)
            #expect(saved == ["-A -t 10.0.0.1:80 -s wrr", "-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 3"])
        }
    }

    @Test func namespacesHaveSeparateTables() throws {
        try withScratchNamespace { first in
            try first.run("ipvsadm", "-A", "-u", "10.0.0.9:53", "-s", "wlc")
            try withScratchNamespace { second in
                let table = try second.save()
                #expect(table == "", "a fresh namespace must start with an empty IPVS table")
            }
            let table = try first.save()
            #expect(table == "-A -u 10.0.0.9:53 -s wlc\n")
        }
    }

    /// The lab's initramfs loads every scheduler module; a missing one fails here, by name.
    @Test(arguments: ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"].map(SchedulerCase.init))
    func schedulerIsAvailable(_ scheduler: SchedulerCase) throws {
        try withScratchNamespace { ns in
            try ns.run("ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", scheduler.name)
            let table = try ns.save()
            #expect(table == "-A -t 10.0.0.1:80 -s \(scheduler.name)\n")
        }
    }
}

// MARK: - Private helpers

/// Why a helper command could not be run or failed.
private struct CommandFailure: Error, CustomStringConvertible {
    let command: [String]
    let status: Int32
    let stderr: String
    var description: String {
        "`\(command.joined(separator: " "))` exited with status \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// A named network namespace created for one test and deleted afterwards.
private struct ScratchNamespace {
    let name: String

    /// Runs a program inside the namespace and returns its standard output.
    @discardableResult
    func run(_ arguments: String...) throws -> String {
        try runCommand(["ip", "netns", "exec", name] + arguments)
    }

    /// `ipvsadm -Sn`, run until two runs in a row print the same. The kernel ends a dump on a
    /// second call that resumes at a count of every namespace's services, so a service added
    /// meanwhile in another namespace (these tests run side by side) can make ipvsadm print
    /// this namespace's service twice.
    func save() throws -> String {
        var previous = try run("ipvsadm", "-Sn")
        for _ in 0..<5 {
            let next = try run("ipvsadm", "-Sn")
            if next == previous { return next }
            previous = next
        }
        return previous
    }
}

/// Creates a fresh network namespace with `lo` up, passes it to `body`, then deletes it.
///
/// `lo` is brought up because the kernel refuses IPv4 real servers in a namespace with no IPv4
/// address at all.
private func withScratchNamespace(_ body: (ScratchNamespace) throws -> Void) throws {
    let name = "lvsctl-smoke-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try runCommand(["ip", "netns", "add", name])
    defer { _ = try? runCommand(["ip", "netns", "delete", name]) }
    let ns = ScratchNamespace(name: name)
    try ns.run("ip", "link", "set", "lo", "up")
    try body(ns)
}

/// Runs a program found in the system directories (or on `PATH`) and returns its standard output.
@discardableResult
private func runCommand(_ command: [String]) throws -> String {
    guard let program = command.first else { return "" }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try locate(program))
    process.arguments = Array(command.dropFirst())
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
        throw CommandFailure(
            command: command, status: process.terminationStatus,
            stderr: String(decoding: stderr, as: UTF8.self))
    }
    return String(decoding: stdout, as: UTF8.self)
}

/// Finds an executable by name in the sbin/bin directories, then in `PATH`.
private func locate(_ program: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let directories = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin"]
        + path.split(separator: ":").map(String.init)
    for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
        return "\(directory)/\(program)"
    }
    throw CommandFailure(command: [program], status: 127, stderr: "\(program) not found; install it (make deps)")
}
