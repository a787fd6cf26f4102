import Foundation
import LVSManifest
import LVSModel
import LVSPlan

/// One director as the rollout talks to it: each call runs the director's own lvsctl and reads
/// its machine output. ``SSHDirector`` is the real one; tests give a scripted one.
public protocol DirectorConnection: Sendable {
    var name: String { get }
    func status() throws(RemoteError) -> RemoteStatus
    /// The stored revisions of `manifest` (none when the director has no store or none of them).
    func revisions(manifest: String) throws(RemoteError) -> [RemoteRevision]
    /// `plan --detailed-exitcode`; a plan with guard refusals is returned (its `violations` say why).
    func plan(manifest: Data) throws(RemoteError) -> Plan
    func apply(manifest: Data, message: String) throws(RemoteError) -> RemoteApply
    func drift(manifest: String) throws(RemoteError) -> RemoteDrift
    func rollback(manifest: String, to: Int, message: String) throws(RemoteError) -> RemoteRollback
    /// The stored manifest of revision `number` (for the gates after a rollback).
    func show(manifest: String, number: Int) throws(RemoteError) -> DesiredState
}

public enum RemoteError: Error, Hashable, Sendable, CustomStringConvertible {
    /// ssh could not reach or log in to the director.
    case unreachable(String)
    /// The remote lvsctl failed (its message).
    case failed(command: String, status: Int32, message: String)
    case document(RemoteDocumentError)
    case timedOut(command: String, seconds: Double)

    public var description: String {
        switch self {
        case .unreachable(let why): "unreachable: \(why)"
        case .failed(let command, let status, let message): "`lvsctl \(command)` failed (exit \(status)): \(message)"
        case .document(let e): e.description
        case .timedOut(let command, let s): "`lvsctl \(command)` did not finish within \(Int(s)) s"
        }
    }

    public var isUnreachable: Bool { if case .unreachable = self { true } else { false } }
}

/// How the rollout runs ssh: the system's OpenSSH client, never a password.
public struct SSHSettings: Sendable {
    /// `LVSCTL_SSH`, else `ssh`.
    public var program: String
    /// `--ssh-option OPT`, each passed as `-o OPT`, before the rollout's own defaults (ssh takes the
    /// first value of an option), but after `BatchMode=yes`, which cannot be turned off.
    public var options: [String]
    /// A private directory for connection sharing (`ControlPath`): one TCP connection and login
    /// per director for the whole rollout; nil turns sharing off.
    public var controlDirectory: String?
    public var connectTimeout: Int
    /// The remote lvsctl and store when the inventory names none for a director.
    public var remoteLvsctl: String
    public var remoteDB: String?
    /// Recorded as the author on every director (`LVSCTL_AUTHOR` of the remote command).
    public var author: String
    /// Extra arguments for the remote plan, apply and rollback (`--allow-delete`…).
    public var policyArguments: [String]
    /// Longest a remote command may take.
    public var commandTimeout: Double

    public init(
        program: String, options: [String], controlDirectory: String?, connectTimeout: Int = 15, remoteLvsctl: String = "lvsctl",
        remoteDB: String? = nil, author: String, policyArguments: [String] = [], commandTimeout: Double = 600
    ) {
        self.program = program
        self.options = options
        self.controlDirectory = controlDirectory
        self.connectTimeout = connectTimeout
        self.remoteLvsctl = remoteLvsctl
        self.remoteDB = remoteDB
        self.author = author
        self.policyArguments = policyArguments
        self.commandTimeout = commandTimeout
    }
}

/// A director reached over ssh.
public struct SSHDirector: DirectorConnection {
    public let director: Inventory.Director
    public let settings: SSHSettings
    public var name: String { director.name }

    public init(_ director: Inventory.Director, settings: SSHSettings) {
        self.director = director
        self.settings = settings
    }

    /// The ssh command line that runs `lvsctl ARGS` on the director.
    public func commandLine(_ arguments: [String]) -> [String] {
        var argv = [settings.program, "-o", "BatchMode=yes"]
        for o in settings.options { argv += ["-o", o] }
        argv += ["-o", "ConnectTimeout=\(settings.connectTimeout)", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
        if let dir = settings.controlDirectory {
            argv += ["-o", "ControlMaster=auto", "-o", "ControlPath=\(dir)/%C", "-o", "ControlPersist=120"]
        }
        if let port = director.sshPort { argv += ["-p", "\(port)"] }
        argv += ["--", director.ssh, remoteCommand(arguments)]
        return argv
    }

    /// `env LVSCTL_AUTHOR=… LVSCTL_NODE=… lvsctl ARGS --db DB`, every word quoted for the remote shell.
    public func remoteCommand(_ arguments: [String]) -> String {
        var words = ["env", "LVSCTL_AUTHOR=\(settings.author)"]
        if let node = director.node { words.append("LVSCTL_NODE=\(node)") }
        words.append(director.remoteLvsctl ?? settings.remoteLvsctl)
        words += arguments
        if let db = director.remoteDB ?? settings.remoteDB { words += ["--db", db] }
        return words.map(shellQuoted).joined(separator: " ")
    }

    struct Outcome {
        var status: Int32
        var stdout: Data
        var message: String
    }

    /// Runs `lvsctl ARGS` remotely; ssh's own failure (status 255) is ``RemoteError/unreachable(_:)``.
    func run(_ arguments: [String], input: Data = Data()) throws(RemoteError) -> Outcome {
        let what = arguments.prefix(2).joined(separator: " ")
        let r: Subprocess.Result
        do {
            r = try Subprocess.run(commandLine(arguments), input: input, timeout: settings.commandTimeout)
        } catch {
            throw .unreachable("\(error)")
        }
        if r.timedOut { throw .timedOut(command: what, seconds: settings.commandTimeout) }
        let message = Escaped.excerpt(r.stderrText.trimmed.split(separator: "\n").suffix(3).joined(separator: " / "), limit: 400)
        if r.status == 255 {
            throw .unreachable("ssh \(director.ssh)\(director.sshPort.map { " port \($0)" } ?? ""): \(message.isEmpty ? "exit 255" : message)")
        }
        if r.status == 127 || message.contains("lvsctl: not found") || message.contains("No such file or directory") && r.stdout.isEmpty && r.status == 127 {
            throw .failed(command: what, status: r.status, message: "no lvsctl on the director (\(message)); install it or give --remote-lvsctl")
        }
        return Outcome(status: r.status, stdout: r.stdout, message: message)
    }

    func document<T: Decodable>(_ type: T.Type, _ kind: String, _ o: Outcome) throws(RemoteError) -> T {
        do {
            return try RemoteFormats.decode(T.self, kind: kind, from: o.stdout)
        } catch {
            throw .document(error)
        }
    }

    public func status() throws(RemoteError) -> RemoteStatus {
        let o = try run(["status", "-o", "json"])
        guard o.status == 0 else { throw .failed(command: "status", status: o.status, message: o.message) }
        return try document(RemoteStatus.self, "status", o)
    }

    public func revisions(manifest: String) throws(RemoteError) -> [RemoteRevision] {
        let o = try run(["revisions", manifest, "-o", "json"])
        if o.status == 1 && (o.message.contains("no revisions of") || o.message.contains("no lvsctl database here")) {
            // A director that never applied this manifest, or never applied anything (its store
            // is created by its first apply): nothing to go back to.
            return []
        }
        guard o.status == 0 else { throw .failed(command: "revisions", status: o.status, message: o.message) }
        return try document(RemoteRevisions.self, "revisions", o).revisions
    }

    public func plan(manifest: Data) throws(RemoteError) -> Plan {
        let o = try run(["plan", "-f", "-", "-o", "json", "--detailed-exitcode"] + settings.policyArguments, input: manifest)
        guard o.status == 0 || o.status == 2 || (o.status == 1 && !o.stdout.isEmpty) else {
            throw .failed(command: "plan", status: o.status, message: o.message)
        }
        return try document(Plan.self, "plan", o)
    }

    public func apply(manifest: Data, message: String) throws(RemoteError) -> RemoteApply {
        let o = try run(["apply", "-f", "-", "-o", "json", "-m", message] + settings.policyArguments, input: manifest)
        guard o.status == 0 || (o.status == 1 && !o.stdout.isEmpty) else {
            throw .failed(command: "apply", status: o.status, message: o.message)
        }
        let doc = try document(RemoteApply.self, "apply", o)
        if o.status != 0 && doc.plan.isApplyable {
            throw .failed(command: "apply", status: o.status, message: o.message)
        }
        return doc
    }

    public func drift(manifest: String) throws(RemoteError) -> RemoteDrift {
        let o = try run(["drift", manifest, "-o", "json"])
        guard o.status == 0 || o.status == 2 else { throw .failed(command: "drift", status: o.status, message: o.message) }
        return try document(RemoteDrift.self, "drift", o)
    }

    public func rollback(manifest: String, to: Int, message: String) throws(RemoteError) -> RemoteRollback {
        let o = try run(["rollback", manifest, "--to", "\(to)", "-o", "json", "-m", message] + settings.policyArguments)
        guard o.status == 0 else { throw .failed(command: "rollback", status: o.status, message: o.message) }
        return try document(RemoteRollback.self, "rollback", o)
    }

    public func show(manifest: String, number: Int) throws(RemoteError) -> DesiredState {
        let o = try run(["show", "\(manifest)@\(number)", "-o", "json"])
        guard o.status == 0 else { throw .failed(command: "show", status: o.status, message: o.message) }
        do {
            return try Manifest.decode(canonicalJSON: String(decoding: o.stdout, as: UTF8.self))
        } catch {
            throw .document(.malformed(kind: "manifest", detail: "\(error)"))
        }
    }
}
