import Foundation
import LVSVRRP

/// Asks a running keepalived for the state of its VRRP instances: its JSON state dump.
///
/// keepalived 2.2.7 writes `keepalived.json` into its temporary directory (`$TMPDIR`, else
/// `/tmp`) when it receives `SIGJSON` (`keepalived --signum=JSON` prints the number: 36 on
/// Debian 12). The file is read through `/proc/PID/root`, so a keepalived with a private `/tmp`
/// (systemd's `PrivateTmp`) or another `TMPDIR` is read where it wrote; two keepalived processes
/// on one host (a lab) do not share the file as long as their `TMPDIR`s differ.
///
/// What must stay true: a role is only ever learnt from keepalived itself (this dump or the notify
/// FIFO), never from a VIP on an interface (a SIGKILLed keepalived leaves its addresses behind).
public struct KeepalivedStateQuery: Sendable {
    public enum Answer: Sendable, Equatable {
        /// keepalived is not running (no pid file, or no such process).
        case notRunning
        case instances([KeepalivedStateDump.Instance])
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public var pidFile: String
    /// How long to wait for the dump after the signal.
    public var timeout: Duration

    public init(pidFile: String, timeout: Duration = .seconds(5)) {
        self.pidFile = pidFile
        self.timeout = timeout
    }

    /// The pid in the pid file when that process is alive.
    public func runningPID() -> pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
        else { return nil }
        if kill(pid, 0) == 0 || errno == EPERM { return pid }
        return nil
    }

    /// Where `pid` writes its dump, as seen from here.
    public static func dumpPath(pid: pid_t) -> String {
        var tmp = "/tmp"
        if let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") {
            for entry in env.split(separator: 0) {
                let text = String(decoding: entry, as: UTF8.self)
                if text.hasPrefix("TMPDIR="), text.count > 7 { tmp = String(text.dropFirst(7)) }
            }
        }
        while tmp.count > 1 && tmp.hasSuffix("/") { tmp.removeLast() }
        return "/proc/\(pid)/root\(tmp)/keepalived.json"
    }

    /// keepalived's number for SIGJSON (`keepalived --signum=JSON`), 36 if it cannot be asked.
    public static let jsonSignal: Int32 = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/keepalived")
        p.arguments = ["--signum=JSON"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do {
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            if p.terminationStatus == 0,
                let n = Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), n > 0
            {
                return n
            }
        } catch {}
        return 36
    }()

    /// Signals keepalived and reads the dump it writes.
    /// - Throws: ``Failure`` when the dump does not appear, or is not understood, in time.
    public func query() async throws -> Answer {
        guard let pid = runningPID() else { return .notRunning }
        let path = Self.dumpPath(pid: pid)
        // An old dump must not be mistaken for the answer.
        unlink(path)
        guard kill(pid, Self.jsonSignal) == 0 else {
            if errno == ESRCH { return .notRunning }
            throw Failure(description: "cannot signal keepalived (pid \(pid)): \(String(cString: strerror(errno)))")
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last = "no dump written"
        while clock.now < deadline {
            if let bytes = FileManager.default.contents(atPath: path), !bytes.isEmpty {
                // keepalived writes the file in pieces: a partial one does not parse; wait.
                do {
                    return .instances(try KeepalivedStateDump.parse(Array(bytes)))
                } catch {
                    last = "\(error)"
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        if runningPID() == nil { return .notRunning }
        throw Failure(description: "keepalived (pid \(pid)) did not answer the state query within \(timeout) at \(path): \(last)")
    }
}
