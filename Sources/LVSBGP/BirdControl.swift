import Foundation
import LVSSocket

/// BIRD's control socket, through BIRD's own client (`birdc`): the operator's tool, the one
/// BIRD documents, and the only way lvsctl changes BIRD's routes (by reconfiguring it).
public struct BirdControl: Sendable {
    /// The control socket (`birdc -s`); BIRD's default is `/run/bird/bird.ctl`.
    public var socket: String
    /// The `birdc` program (found on PATH by default).
    public var birdc: String
    /// The `bird` program, for its parse-only mode (found on PATH by default).
    public var bird: String
    public var timeout: Double

    public static let defaultSocket = "/run/bird/bird.ctl"

    public init(socket: String = BirdControl.defaultSocket, birdc: String = "birdc", bird: String = "bird", timeout: Double = 10) {
        self.socket = socket
        self.birdc = birdc
        self.bird = bird
        self.timeout = timeout
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// `birdc` is not installed.
        case notInstalled(String)
        /// BIRD is not running on this socket.
        case notRunning(socket: String, output: String)
        /// BIRD refused the file; `output` has its `file:line:column message`.
        case rejected(file: String, output: String)
        case failed(command: String, output: String)

        public var description: String {
            switch self {
            case .notInstalled(let p):
                "cannot run \(p): BIRD 2 is not installed (Debian: apt-get install bird2)"
            case .notRunning(let s, let o):
                "BIRD is not running on \(s) (\(o.trimmingCharacters(in: .whitespacesAndNewlines))); start it (systemctl start lvsctl-bird, or bird -c CONFIG -s \(s)), or pass --bird-socket with the socket BIRD listens on"
            case .rejected(let f, let o):
                "BIRD rejects the config rendered for \(f):\n\(o.trimmingCharacters(in: .whitespacesAndNewlines))\n\(f) is unchanged and BIRD keeps its routes; correct the manifest's bgp section and apply it"
            case .failed(let c, let o):
                "birdc \(c) failed: \(o.trimmingCharacters(in: .whitespacesAndNewlines))"
            }
        }
    }

    /// `bird -p -c FILE`: BIRD's own parser reads the file as it would load it and exits. It
    /// needs no running BIRD, so a config is checked (and can be put in place for BIRD's start)
    /// before BIRD runs; `configure check` would need the daemon.
    public func check(file: String) async throws {
        let result = await runProgramCapturingOutput(
            path: "/usr/bin/env", arguments: [bird, "-p", "-c", file], timeout: timeout)
        switch result.outcome {
        case .exited(0): return
        case .exited(127): throw Failure.notInstalled(bird)
        case .exited: throw Failure.rejected(file: file, output: result.output)
        case .failedToStart(let why): throw Failure.failed(command: "bird -p -c \(file)", output: why)
        case .timedOut: throw Failure.failed(command: "bird -p -c \(file)", output: "no answer in \(Int(timeout)) s")
        case .signalled(let s): throw Failure.failed(command: "bird -p -c \(file)", output: "killed by signal \(s)")
        }
    }

    /// `configure "FILE"`: BIRD loads the file; BGP sessions whose options did not change stay
    /// up, and the static protocols' route changes go out as updates.
    public func configure(file: String) async throws {
        let out = try await run(["configure", quoted(file)])
        if out.contains("Reconfigured") || out.contains("Reconfiguration in progress") || out.contains("Reconfiguration already in progress") { return }
        throw Failure.rejected(file: file, output: out)
    }

    /// `show protocols`: every BGP protocol with its state.
    public func protocols() async throws -> [BirdProtocolStatus] {
        BirdProtocolStatus.parse(try await run(["show", "protocols"]))
    }

    /// The BGP sessions among `show protocols` (one per peer), for the daemon's metrics and
    /// `status`.
    public func bgpSessions() async throws -> [BirdProtocolStatus] {
        try await protocols().filter { $0.proto == "BGP" }
    }

    /// BIRD's message, each `FILE:LINE:COLUMN` it names followed by the lines of `text` (the
    /// text BIRD read from `file`) it points at, quoted: the file itself may be gone by the time
    /// anyone reads the message. BIRD checks a protocol's options when its block ends, so a
    /// pointer at a closing `}` quotes the whole block from its `protocol` line (at most 12 lines).
    public static func quotingLines(_ output: String, of text: String, file: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var out: [String] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            out.append(String(line))
            guard let at = line.range(of: file + ":") else { continue }
            let number = line[at.upperBound...].prefix { $0.isNumber }
            guard let n = Int(number), n >= 1, n <= lines.count else { continue }
            var first = n
            if lines[n - 1].hasPrefix("}"),
                let start = lines[..<(n - 1)].lastIndex(where: { $0.hasPrefix("protocol ") }), n - start <= 12
            {
                first = start + 1
            }
            for i in first...n { out.append("  line \(i): \(lines[i - 1])") }
        }
        return out.joined(separator: "\n")
    }

    private func quoted(_ s: String) -> String { "\"\(s)\"" }

    private func run(_ command: [String]) async throws -> String {
        let result = await runProgramCapturingOutput(
            path: "/usr/bin/env", arguments: [birdc, "-s", socket] + command, timeout: timeout)
        switch result.outcome {
        case .exited(0):
            return result.output
        case .exited(127):
            throw Failure.notInstalled(birdc)
        case .exited(126):
            // env found birdc but could not run it: not an answer from BIRD.
            throw Failure.failed(command: command.joined(separator: " "), output: result.output)
        case .exited:
            if result.output.contains("Unable to connect") { throw Failure.notRunning(socket: socket, output: result.output) }
            // birdc exits non-zero when the command's answer is an error (e.g. `configure check`
            // of a broken file); the caller decides from the output.
            return result.output
        case .failedToStart(let why):
            throw Failure.failed(command: command.joined(separator: " "), output: why)
        case .timedOut:
            throw Failure.failed(command: command.joined(separator: " "), output: "no answer in \(Int(timeout)) s")
        case .signalled(let s):
            throw Failure.failed(command: command.joined(separator: " "), output: "killed by signal \(s)")
        }
    }
}

/// One line of `birdc show protocols`.
public struct BirdProtocolStatus: Hashable, Sendable {
    public var name: String
    public var proto: String
    /// `up`, `start`, `down`, …
    public var state: String
    /// For BGP: `Established`, `Active`, `Connect`, … with any error after it.
    public var info: String

    public var isEstablished: Bool { info.hasPrefix("Established") }

    public init(name: String, proto: String, state: String, info: String) {
        self.name = name
        self.proto = proto
        self.state = state
        self.info = info
    }

    /// Parses the table after BIRD's `Name Proto Table State Since Info` header. Columns are
    /// separated by spaces; `Table` may be `---`; `Since` is one token (or a date and a time).
    public static func parse(_ text: String) -> [BirdProtocolStatus] {
        var out: [BirdProtocolStatus] = []
        var inTable = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if fields.first == "Name" && fields.contains("Proto") { inTable = true; continue }
            guard inTable, fields.count >= 4 else { continue }
            // Name Proto Table State Since... Info...: Since is a time (hh:mm:ss[.fff]) or a
            // date followed by a time; Info follows it.
            var rest = Array(fields.dropFirst(4))
            if let first = rest.first, first.contains("-") && rest.count > 1 && rest[1].contains(":") { rest.removeFirst(2) }
            else if !rest.isEmpty { rest.removeFirst() }
            out.append(BirdProtocolStatus(name: fields[0], proto: fields[1], state: fields[3], info: rest.joined(separator: " ")))
        }
        return out
    }
}
