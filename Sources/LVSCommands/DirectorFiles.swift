import ArgumentParser
import Foundation
import LVSManifest
import LVSModel
import LVSNetlink
import LVSPlan
import LVSReconciler
import LVSVRRP

#if canImport(Glibc)
import Glibc
#endif

/// `--no-reload`, for the commands that write the rendered keepalived config.
struct ReloadOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Write the keepalived config without reloading keepalived (bootstrap: keepalived is started afterwards, e.g. by lvsctl-keepalived.service)."))
    var noReload = false
}

/// The VRRP half of `plan`, `apply`, `rollback` and `drift`: which section is rendered, for which
/// node, into which file; the checks against the live namespace; and the writer the reconciler
/// uses (``KeepalivedConfigWriter``).
///
/// Nothing here decides whether the file differs: the planner does (``ConfigFile/change(for:)``).
struct DirectorFiles {
    var options: DirectorOptions
    /// `--netns`: the director's network namespace (interfaces, keepalived's config test).
    var namespacePath: String?
    var noReload = false
    var environment = ProcessInfo.processInfo.environment

    var paths: DirectorPaths { options.paths(environment: environment) }

    /// The manifest that owns the `vrrp` section among `states`, if any.
    /// - Throws: when two manifests declare one (a director has one keepalived config).
    static func vrrpOwner(_ states: [DesiredState]) throws -> DesiredState? {
        let owners = states.filter { $0.vrrp != nil }
        if owners.count > 1 {
            throw CLIError("manifests \(owners.map(\.manifest).sorted().joined(separator: " and ")) both declare a vrrp section; a director has one keepalived config: declare it in one manifest")
        }
        return owners.first
    }

    /// The node name as the manifest knows it.
    /// - Parameter place: the file (or `manifest NAME`) errors name.
    func node(for vrrp: VRRPConfig, place: String) throws -> String {
        let nodes = vrrp.nodes
        let known = nodes.isEmpty ? "none" : nodes.joined(separator: ", ")
        guard let name = options.nodeName(environment: environment) else {
            throw CLIError("\(place): vrrp: cannot tell which director this is; pass --node NAME or set LVSCTL_NODE (the manifest's nodes are \(known)); nothing was applied")
        }
        guard let node = name.matching(nodes) else {
            let index = vrrp.instances.indices.first ?? 0
            throw CLIError("\(place): vrrp.instances[\(index)].priority: node '\(Escaped.excerpt(name.name))' (from \(name.source.rawValue)) has no priority; the manifest's nodes are \(known): pass --node with one of them, or add this director to every instance's priority; nothing was applied")
        }
        return node
    }

    /// The rendered keepalived config of the `vrrp` section of `states` and the file's text now;
    /// none when no manifest declares a `vrrp` section (lvsctl then leaves the file alone).
    ///
    /// - Parameters:
    ///   - place: the manifest file (or `manifest NAME`) errors name.
    ///   - checkInterfaces: check that the interfaces exist in the director's namespace (plan,
    ///     apply; drift reports only the file).
    func managedFiles(_ states: [DesiredState], place: (DesiredState) -> String, checkInterfaces: Bool) throws -> [ManagedFile] {
        guard let owner = try Self.vrrpOwner(states), let vrrp = owner.vrrp else { return [] }
        let where_ = place(owner)
        let node = try node(for: vrrp, place: where_)
        if checkInterfaces { try Self.checkInterfaces(vrrp, namespacePath: namespacePath, place: where_) }
        let paths = self.paths
        let text: String
        do {
            text = try KeepalivedConfig.render(vrrp, node: node, paths: paths.keepalived, manifest: owner.manifest)
        } catch {
            throw CLIError("\(where_): vrrp: \(error); nothing was applied")
        }
        return [ManagedFile(
            path: paths.keepalivedConfig, manifest: owner.manifest, manifestPath: "vrrp", desired: text,
            current: try Self.currentText(paths.keepalivedConfig))]
    }

    /// The file's text; nil when it does not exist.
    static func currentText(_ path: String) throws -> String? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw CLIError("\(path): cannot read the keepalived config: \(String(cString: strerror(errno)))")
        }
        switch InputFile.read(path, limit: 16 << 20) {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(let f): throw CLIError("\(path): cannot read the keepalived config: \(f.message); \(f.hint)")
        }
    }

    /// Every interface the section names (instances, tracked interfaces, address devices) must
    /// exist in the director's network namespace: keepalived would run the instance in FAULT or
    /// ignore it.
    static func checkInterfaces(_ vrrp: VRRPConfig, namespacePath: String?, place: String) throws {
        var wanted: [(name: String, path: String)] = []
        for (i, instance) in vrrp.instances.enumerated() {
            wanted.append((instance.interface, "vrrp.instances[\(i)].interface"))
            for (j, t) in instance.trackInterfaces.enumerated() { wanted.append((t, "vrrp.instances[\(i)].trackInterfaces[\(j)]")) }
            for (j, a) in instance.addresses.enumerated() {
                if let d = a.device { wanted.append((d, "vrrp.instances[\(i)].addresses[\(j)]")) }
            }
        }
        let names = Array(Set(wanted.map(\.name))).sorted()
        let missing: Set<String>
        do {
            missing = Set(try NetworkLinks.missing(names, namespacePath: namespacePath))
        } catch {
            throw CLIError("\(place): vrrp: cannot list the network interfaces\(namespacePath.map { " of \($0)" } ?? ""): \(error)")
        }
        guard let first = wanted.first(where: { missing.contains($0.name) }) else { return }
        let ns = namespacePath.map { "network namespace \($0)" } ?? "this network namespace"
        let others = missing.subtracting([first.name]).sorted()
        throw CLIError("\(place): \(first.path): interface '\(Escaped.excerpt(first.name))' does not exist in \(ns)"
            + (others.isEmpty ? "" : " (nor \(others.joined(separator: ", ")))")
            + "; name an interface `ip link` shows there; nothing was applied")
    }

    /// The writer for the reconciler.
    func writer() -> KeepalivedConfigWriter {
        KeepalivedConfigWriter(paths: paths, namespacePath: namespacePath, reload: !noReload)
    }
}

/// Writes the rendered keepalived config and reloads keepalived.
///
/// - ``check(_:)``: before any kernel write: the file is still what the plan was made against,
///   `keepalived -t` accepts the text (in the director's namespace, so that it sees its
///   interfaces), and keepalived is running (unless `--no-reload`): a config nobody will read is
///   refused before anything changes.
/// - ``write(_:)``: atomic: a temporary file in the same directory, fsync, rename, fsync of the
///   directory (created if missing, `/etc/lvsctl` for the default). A crash leaves the old file
///   or the new one, never a mix.
/// - ``reload(after:)``: SIGHUP to the pid in `--keepalived-pid-file`. keepalived keeps its
///   addresses across a reload and sends no failover (measured), so a reload moves a VIP only when
///   the new priorities say so.
final class KeepalivedConfigWriter: RenderedFileWriter {
    let paths: DirectorPaths
    let namespacePath: String?
    let reload: Bool
    /// Digests of texts keepalived's config test accepted (check runs before the revision is
    /// stored and again inside the apply).
    private var tested: Set<String> = []

    init(paths: DirectorPaths, namespacePath: String?, reload: Bool) {
        self.paths = paths
        self.namespacePath = namespacePath
        self.reload = reload
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    func check(_ change: Change) throws {
        guard let after = change.after?.file, let content = after.content else {
            throw Failure("\(change.subject): the change carries no text to write; plan again")
        }
        guard after.path == paths.keepalivedConfig else {
            throw Failure("the plan writes the keepalived config \(after.path), but this command writes \(paths.keepalivedConfig) (--keepalived-config); plan again with the same options; nothing was applied")
        }
        guard SHA256.hex(content) == after.sha256 else {
            throw Failure("\(after.path): the planned text does not match its digest; plan again; nothing was applied")
        }
        let now = try DirectorFiles.currentText(after.path)
        if now.map(SHA256.hex) != change.before?.file?.sha256 {
            throw Failure("\(after.path) changed since the plan was made (\(now == nil ? "it was removed" : "its content differs")); run lvsctl plan again; nothing was applied")
        }
        if !tested.contains(after.sha256) {
            try configTest(content)
            tested.insert(after.sha256)
        }
        if reload { _ = try runningPID() }
    }

    func write(_ change: Change) throws {
        guard let after = change.after?.file, let content = after.content else { throw Failure("\(change.subject): no text to write") }
        try Self.atomicWrite(content, to: after.path)
    }

    func reload(after changes: [Change]) throws {
        guard reload, !changes.isEmpty else { return }
        let pid = try runningPID(afterWrite: true)
        guard kill(pid, SIGHUP) == 0 else {
            throw Failure("wrote \(paths.keepalivedConfig), but could not reload keepalived (pid \(pid)): \(String(cString: strerror(errno))); it reads the new config when it starts, or send it SIGHUP")
        }
    }

    // MARK: - keepalived

    /// The pid of the running keepalived (its parent process, from the pid file).
    func runningPID(afterWrite: Bool = false) throws -> pid_t {
        let file = paths.keepalivedPIDFile
        let done = afterWrite ? "wrote \(paths.keepalivedConfig) (applied and recorded), but keepalived" : "keepalived"
        let start = "start it (systemctl start lvsctl-keepalived, or keepalived -P -f \(paths.keepalivedConfig) -p \(file)), or pass --no-reload to write the config for a keepalived started afterwards"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw Failure("\(done) is not running: no pid file \(file) (--keepalived-pid-file); \(afterWrite ? "it reads the new config when it starts" : start + "; nothing was applied")")
        }
        let digits = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = pid_t(digits), pid > 0 else {
            throw Failure("\(file): not a pid ('\(Escaped.excerpt(digits))'); \(afterWrite ? "" : "nothing was applied; ")check --keepalived-pid-file")
        }
        // A stale pid file may name a pid reused by another program: check its name too.
        let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard kill(pid, 0) == 0 || errno == EPERM, comm == "keepalived" else {
            throw Failure("\(done) is not running: pid \(pid) in \(file) is \(comm.map { "\($0), not keepalived" } ?? "gone") (a stale pid file); \(afterWrite ? "it reads the new config when it starts" : start + "; nothing was applied")")
        }
        return pid
    }

    /// keepalived's own config test on `text`, in the director's namespace.
    func configTest(_ text: String) throws {
        guard let keepalived = Self.executable("keepalived") else {
            throw Failure("keepalived is not installed (no keepalived in PATH, /usr/sbin or /sbin): install the package keepalived (apt-get install keepalived); the VRRP half of a director runs keepalived -P; nothing was applied")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-keepalived-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("keepalived.conf").path
        try Self.atomicWrite(text, to: file)
        var argv = [keepalived, "--config-test", "-f", file]
        if let ns = namespacePath, let nsenter = Self.executable("nsenter") {
            argv = [nsenter, "--net=\(ns)", "--"] + argv
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").prefix(5).map {
                String($0).replacingOccurrences(of: file, with: paths.keepalivedConfig)
            }
            throw Failure("keepalived's config test (keepalived --config-test) refused the rendered config (exit \(process.terminationStatus)): \(lines.joined(separator: "; ")); fix the manifest's vrrp section; nothing was applied")
        }
    }

    static func executable(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin"]
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Writes `text` to `path` through a temporary file in the same directory, fsynced and renamed
    /// over it; the directory is created (mode 0755) if missing and fsynced after the rename.
    static func atomicWrite(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw Failure("cannot create \(dir) for \(path): \(error.localizedDescription)")
        }
        let temp = "\(dir)/.\(url.lastPathComponent).lvsctl-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure("cannot write \(temp): \(String(cString: strerror(errno)))") }
        var ok = true
        var problem = ""
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                ok = false
                problem = "write: \(String(cString: strerror(errno)))"
                break
            }
            written += n
        }
        if ok && fsync(fd) != 0 {
            ok = false
            problem = "fsync: \(String(cString: strerror(errno)))"
        }
        close(fd)
        if ok && rename(temp, path) != 0 {
            ok = false
            problem = "rename to \(path): \(String(cString: strerror(errno)))"
        }
        guard ok else {
            unlink(temp)
            throw Failure("cannot write \(path): \(problem); the old file is unchanged")
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}
