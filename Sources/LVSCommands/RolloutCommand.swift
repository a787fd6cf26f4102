import ArgumentParser
import Foundation
import LVSManifest
import LVSModel
import LVSRollout
import LVSStore

#if canImport(Glibc)
    import Glibc
#endif

extension LVSCommand {
    /// `lvsctl rollout plan|apply`: one manifest to a fleet of directors over ssh, in batches.
    struct RolloutCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollout",
            abstract: "Plan or apply one manifest on a fleet of directors (over ssh), in safe batches.",
            discussion: """
                Each director in the inventory (-i, Manifests/inventories/example.json) runs its own \
                lvsctl over OpenSSH (BatchMode: keys and known_hosts of the user, never a password; \
                LVSCTL_SSH names the ssh program); the manifest travels on standard input; each \
                director keeps its own store and audit, with this run's author (LVSCTL_AUTHOR, the CI \
                job, or the user).
                """,
            subcommands: [RolloutPlan.self, RolloutApply.self])
    }
}

/// Options of both rollout commands: the inventory, the selection, how to reach the directors.
struct RolloutTargetOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The inventory of directors (JSON).", valueName: "file"))
    var inventory: String

    @Option(help: ArgumentHelp(
        "Only these directors: names, globs (d*) or labels key=value, comma-separated; repeated: all must match.",
        valueName: "pattern"))
    var limit: [String] = []

    @Option(help: ArgumentHelp("Passed to ssh as -o OPTION (repeatable).", valueName: "option"))
    var sshOption: [String] = []

    @Option(help: ArgumentHelp("lvsctl on the directors (default: lvsctl on their PATH).", valueName: "path"))
    var remoteLvsctl: String = "lvsctl"

    @Option(help: ArgumentHelp("The store on the directors (default: theirs).", valueName: "path"))
    var remoteDb: String?

    @Option(help: ArgumentHelp("Seconds ssh may take to connect.", valueName: "seconds"))
    var connectTimeout: Int = 15

    @Option(name: .shortAndLong, help: "Output format: text for people, json for machines.")
    var output: OutputFormat = .text

    func validate() throws {
        try OptionRange.check(connectTimeout, "--connect-timeout", 1...600, unit: "seconds")
        for o in sshOption where o.isEmpty || o.hasPrefix("-") {
            throw ValidationError("--ssh-option '\(o)' is not an ssh option; give KEY=VALUE, e.g. --ssh-option UserKnownHostsFile=/ci/known_hosts")
        }
    }

    /// The inventory and the selected directors, or exit 1 with every problem.
    func selected() throws -> (Inventory, [Inventory.Director]) {
        let inv: Inventory
        switch Inventory.load(path: inventory) {
        case .success(let i): inv = i
        case .failure(let e):
            for d in e.diagnostics { printError(d.description) }
            printError("lvsctl: \(inventory): \(e.diagnostics.errors.count) error\(e.diagnostics.errors.count == 1 ? "" : "s") in the inventory; nothing was done")
            throw ExitCode(1)
        }
        do {
            return (inv, try Selection.select(inv, limits: limit))
        } catch {
            throw CLIError(error.description)
        }
    }

    /// The ssh settings; connection sharing goes through a private directory removed at exit.
    func ssh(author: String, policy: PolicyOptions, controlDirectory: String?) -> SSHSettings {
        let env = ProcessInfo.processInfo.environment
        let program = env["LVSCTL_SSH"].flatMap { $0.isEmpty ? nil : $0 } ?? "ssh"
        return SSHSettings(
            program: program, options: sshOption, controlDirectory: controlDirectory, connectTimeout: connectTimeout,
            remoteLvsctl: remoteLvsctl, remoteDB: remoteDb, author: author, policyArguments: policy.passThrough)
    }
}

extension PolicyOptions {
    /// The policy flags given here, for the directors' own plan, apply and rollback.
    var passThrough: [String] {
        var out: [String] = []
        if maxRemoval != 50 { out += ["--max-removal", "\(maxRemoval)"] }
        if allowRemoval { out.append("--allow-removal") }
        if allowDelete { out.append("--allow-delete") }
        if drainTimeout != 30 { out += ["--drain-timeout", "\(drainTimeout)"] }
        return out
    }
}

/// The pieces both commands share.
enum RolloutRun {
    /// A private directory for ssh's control sockets (mode 0700), removed by `cleanUp`.
    static func controlDirectory() -> String? {
        let base = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/lvsctl-ssh-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { return nil }
        let path = String(cString: p)
        // A unix socket path is at most 107 bytes; ssh's %C is 40.
        return path.utf8.count + 42 < 108 ? path : nil
    }

    /// Closes the shared connections (`ssh -O exit`) and removes the directory.
    static func cleanUp(_ dir: String?) {
        guard let dir else { return }
        if let sockets = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            for s in sockets {
                _ = try? Subprocess.run(
                    ["ssh", "-o", "ControlPath=\(dir)/\(s)", "-O", "exit", "lvsctl-rollout"], timeout: 5)
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The manifest: validated here first (every problem named), its bytes sent as they are.
    static func manifest(_ path: String) throws -> (Data, DesiredState) {
        let result = try loadManifest(path, capabilities: nil)
        let bytes: [UInt8]
        switch path == "-" ? InputFile.readStandardInput() : InputFile.read(path) {
        case .success(let b): bytes = b
        case .failure(let f): throw CLIError(f.description)
        }
        return (Data(bytes), result.state!)
    }

    static func rolloutID() -> String {
        let t = RFC3339.string(Date().timeIntervalSince1970.rounded(.down))
        return t.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "") + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// Progress lines: standard output for text, standard error beside a JSON document.
    static func progress(_ format: OutputFormat) -> @Sendable (String) -> Void {
        let lock = NSLock()
        return { line in
            lock.lock()
            defer { lock.unlock() }
            if format == .text {
                FileHandle.standardOutput.write(Data((Escaped.lines(line) + "\n").utf8))
            } else {
                printError(line)
            }
        }
    }

    /// Runs the probe command here through `sh -c`, with the director's name and ssh destination
    /// in `LVSCTL_ROLLOUT_DIRECTOR` and `LVSCTL_ROLLOUT_SSH`.
    static func probe(timeout: Double) -> @Sendable (String, Inventory.Director) -> (Bool, String) {
        { command, d in
            var env = ProcessInfo.processInfo.environment
            env["LVSCTL_ROLLOUT_DIRECTOR"] = d.name
            env["LVSCTL_ROLLOUT_SSH"] = d.ssh
            do {
                let r = try Subprocess.run(["/bin/sh", "-c", command], environment: env, timeout: timeout)
                if r.timedOut { return (false, "probe did not finish within \(Int(timeout)) s") }
                let tail = Escaped.excerpt((r.stderrText + r.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").suffix(2).joined(separator: " / "), limit: 200)
                return r.status == 0
                    ? (true, "probe exited 0")
                    : (false, "probe exited \(r.status)" + (tail.isEmpty ? "" : ": \(tail)"))
            } catch {
                return (false, "cannot run the probe: \(error)")
            }
        }
    }
}

/// SIGINT and SIGTERM during a rollout: noted, and the rollout stops after the directors in
/// progress (`stopRequested`). A second signal is noted the same way (the directors in progress
/// still finish: stopping one mid-apply is what this exists to avoid).
enum RolloutSignals {
    nonisolated(unsafe) static var arrived: sig_atomic_t = 0

    static func install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { s in RolloutSignals.arrived = s }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
    }

    static var stopRequested: Bool { arrived != 0 }
}

extension LVSCommand.RolloutCommand {
    /// `lvsctl rollout plan`: every selected director's plan, in parallel; nothing is changed.
    struct RolloutPlan: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Every selected director's plan for the manifest, as one report (nothing is changed).",
            discussion: "Exit 0 when nothing is to do anywhere, 2 when changes are pending, 1 on an error, a refusal or an unreachable director.")

        @OptionGroup var target: RolloutTargetOptions
        @OptionGroup var policyOptions: PolicyOptions

        @Option(name: .shortAndLong, help: ArgumentHelp("The manifest; - reads standard input.", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("Save the plan for `lvsctl rollout apply --plan`.", valueName: "plan.json"))
        var out: String?

        func run() throws {
            var status: Int32 = 0
            try guarded {
                let (_, directors) = try target.selected()
                let (bytes, state) = try RolloutRun.manifest(file)
                let author = Author.current(environment: ProcessInfo.processInfo.environment)
                let control = RolloutRun.controlDirectory()
                defer { RolloutRun.cleanUp(control) }
                let settings = target.ssh(author: author, policy: policyOptions, controlDirectory: control)
                let world = RolloutWorld(
                    connect: { SSHDirector($0, settings: settings) }, probe: { _, _ in (true, "") },
                    progress: RolloutRun.progress(target.output), stopRequested: { false })
                let report = RolloutReport(
                    id: RolloutRun.rolloutID(), mode: .plan, manifest: state.manifest, manifestDigest: Manifest.contentHash(state),
                    inventory: target.inventory, author: author, startedAt: Date().timeIntervalSince1970)
                let engine = RolloutEngine(
                    directors: directors, options: RolloutOptions(manifest: bytes, desired: state, digest: report.manifestDigest, message: ""),
                    world: world, report: report)
                let result = engine.plan()
                let document = RolloutDocument(report: result)
                if let out {
                    let manifestJSON = JSONValue(parsing: Manifest.encode(state)) ?? .null
                    var data = try Output.json(SavedRolloutPlan(rollout: document, manifest: manifestJSON))
                    data.append(UInt8(ascii: "\n"))
                    do { try data.write(to: URL(fileURLWithPath: out)) } catch { throw CLIError("cannot write \(out): \(error.localizedDescription)") }
                }
                try Output.emit(document, target.output)
                status = result.exitStatus
            }
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// `lvsctl rollout apply`: batches, gates, rollback.
    struct RolloutApply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Apply the manifest to the selected directors in batches, each verified by gates; roll back on failure.",
            discussion: """
                Pair-aware: a pair's backup is changed and verified before its master, never both in \
                one batch; the roles are the live VRRP roles each director's status reports, else the \
                inventory's role. After each director's apply: drift exits 0, every touched service keeps \
                its health quorum (from the director's daemon), no VRRP instance is in FAULT outside \
                maintenance, and --probe exits 0. A failed gate stops the rollout and rolls every changed director back to its \
                previous revision (unless --no-rollback), verified by the same gates. One rollout per \
                inventory at a time (INVENTORY.lock, or in --lock-dir). SIGINT/SIGTERM: the directors in \
                progress finish, then the rollout stops and reports. Exit 0 only when every selected \
                director converged.
                """)

        @OptionGroup var target: RolloutTargetOptions
        @OptionGroup var policyOptions: PolicyOptions

        @Option(name: .shortAndLong, help: ArgumentHelp("The manifest; - reads standard input.", valueName: "file"))
        var file: String?

        @Option(help: ArgumentHelp("Apply a plan saved by `lvsctl rollout plan --out` (refused when any director changed since).", valueName: "plan.json"))
        var plan: String?

        @Option(help: ArgumentHelp("Batch sizes: counts or percentages, the last repeating (1,25%,100%).", valueName: "list"))
        var batches: String = "1"

        @Option(help: ArgumentHelp("Directors of one batch that may fail (each rolled back) before the rollout stops.", valueName: "n"))
        var maxFailures: Int = 0

        @Option(help: ArgumentHelp("Seconds to wait between batches.", valueName: "seconds"))
        var pause: Double = 0

        @Option(help: ArgumentHelp("A command run here after each director's apply; exit 0 passes (LVSCTL_ROLLOUT_DIRECTOR names the director).", valueName: "command"))
        var probe: String?

        @Option(help: ArgumentHelp("Seconds the probe may take.", valueName: "seconds"))
        var probeTimeout: Double = 60

        @Option(help: ArgumentHelp("Seconds the health gate waits for the director's daemon to check the touched services.", valueName: "seconds"))
        var healthTimeout: Double = 60

        @Flag(help: "On a failure, leave the changed directors as they are.")
        var noRollback = false

        @Option(name: .shortAndLong, help: "A message recorded with each director's revision.")
        var message: String?

        @Option(help: ArgumentHelp("Directory of the rollout lock (default: beside the inventory).", valueName: "dir"))
        var lockDir: String?

        @Option(help: ArgumentHelp("Seconds to wait for another rollout of the inventory.", valueName: "seconds"))
        var lockTimeout: Double = 0

        func validate() throws {
            guard (file == nil) != (plan == nil) else { throw ValidationError("give exactly one of -f FILE or --plan PLAN") }
            do { _ = try BatchSpec.parse(batches) } catch { throw ValidationError(error.description) }
            try OptionRange.check(maxFailures, "--max-failures", 0...100_000, unit: "directors")
            try OptionRange.check(pause, "--pause", 0...86_400, unit: "seconds")
            try OptionRange.check(healthTimeout, "--health-timeout", 0...3_600, unit: "seconds")
            try OptionRange.check(probeTimeout, "--probe-timeout", 1...3_600, unit: "seconds")
            try OptionRange.check(lockTimeout, "--lock-timeout", 0...86_400, unit: "seconds")
        }

        func run() throws {
            var status: Int32 = 0
            try guarded {
                let (_, selectedDirectors) = try target.selected()
                var directors = selectedDirectors
                let bytes: Data, state: DesiredState
                var expected: [String: ExpectedDirector]?
                if let plan {
                    let saved = try SavedRolloutPlan.load(path: plan)
                    bytes = Data(saved.manifestText.utf8)
                    state = saved.state
                    expected = saved.expected
                    let names = Set(directors.map(\.name))
                    if let missing = saved.directors.first(where: { !names.contains($0) }) {
                        throw CLIError("the saved plan names director \(missing), which the inventory (with --limit) does not select")
                    }
                    directors = directors.filter { saved.directors.contains($0.name) }
                } else {
                    (bytes, state) = try RolloutRun.manifest(file!)
                }
                let author = Author.current(environment: ProcessInfo.processInfo.environment)
                let id = RolloutRun.rolloutID()
                RolloutSignals.install()
                let lockPath = RolloutLock.path(inventory: target.inventory, directory: lockDir)
                let note = "{\"rollout\": \"\(id)\", \"pid\": \(getpid()), \"host\": \"\(ProcessInfo.processInfo.hostName)\", "
                    + "\"author\": \"\(author.replacingOccurrences(of: "\"", with: "'"))\", \"manifest\": \"\(state.manifest)\", "
                    + "\"since\": \"\(RFC3339.string(Date().timeIntervalSince1970.rounded(.down)))\"}"
                let lock: RolloutLock
                do {
                    if lockTimeout > 0 { RolloutRun.progress(target.output)("Waiting up to \(Int(lockTimeout)) s for the rollout lock \(lockPath)…") }
                    lock = try RolloutLock(path: lockPath, timeout: lockTimeout, note: note) { RolloutSignals.stopRequested }
                } catch {
                    throw CLIError("\(error)")
                }
                defer { lock.release() }
                let control = RolloutRun.controlDirectory()
                defer { RolloutRun.cleanUp(control) }
                let settings = target.ssh(author: author, policy: policyOptions, controlDirectory: control)
                let world = RolloutWorld(
                    connect: { SSHDirector($0, settings: settings) }, probe: RolloutRun.probe(timeout: probeTimeout),
                    progress: RolloutRun.progress(target.output), stopRequested: { RolloutSignals.stopRequested })
                let report = RolloutReport(
                    id: id, mode: .apply, manifest: state.manifest, manifestDigest: Manifest.contentHash(state),
                    inventory: target.inventory, author: author, startedAt: Date().timeIntervalSince1970)
                let options = RolloutOptions(
                    manifest: bytes, desired: state, digest: report.manifestDigest, batches: try BatchSpec.parse(batches),
                    maxFailures: maxFailures, pause: pause, noRollback: noRollback, probe: probe, healthTimeout: healthTimeout,
                    probeTimeout: probeTimeout, message: message ?? "lvsctl rollout \(id)", expected: expected)
                let result = RolloutEngine(directors: directors, options: options, world: world, report: report).apply()
                try Output.emit(RolloutDocument(report: result), target.output)
                status = result.exitStatus
            }
            if status != 0 { throw ExitCode(status) }
        }
    }
}
