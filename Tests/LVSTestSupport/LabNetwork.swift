import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A network of namespaces for one kernel test: bridges, and hosts (directors, routers, clients,
/// real servers) plugged into them with veth pairs, declared in a few lines.
///
///     let lab = try LabNetwork(prefix: "pair")
///     defer { lab.close() }
///     let lan = try lab.bridge("lan")
///     let d1 = try lab.host("d1", lan.port("10.10.0.1/24"), forwarding: true)
///     let r1 = try lab.host("r1", lan.port("10.10.0.11/24"))
///     try r1.makeDRRealServer(vips: ["10.10.0.100"])
///
/// Every bridge lives in one namespace of its own (the "switch"), so no host is special: two or
/// three directors on one LAN are as easy as one. Each host is a namespace with `lo` up and
/// `eth0`, `eth1`, … in the order of its ports; each namespace has its own IPVS table. Names are
/// unique per lab (tests run side by side). `close()` (or deinit) kills every process started
/// through the lab and every process left in its namespaces, then deletes them.
public final class LabNetwork: @unchecked Sendable {
    /// Random, short; part of every namespace name.
    public let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    public let prefix: String
    /// Scratch directory: process logs (`NAME.log`), scripts, state files.
    public let directory: URL
    private let ownsDirectory: Bool
    public private(set) var hosts: [LabHost] = []
    private var bridges: [String] = []
    private var vethCount = 0
    private var processes: [BackgroundProcess] = []
    private var closed = false

    /// The environment processes get unless told otherwise: the test's, with the sbin
    /// directories on PATH.
    public static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        return env
    }

    /// - Parameters:
    ///   - prefix: starts every namespace name (`PREFIXLABEL-ID`), so a leftover namespace says
    ///     which test made it.
    ///   - directory: scratch directory to use (kept on close); by default a new temporary one,
    ///     removed on close.
    public init(prefix: String = "lab", directory: URL? = nil) throws {
        self.prefix = prefix
        if let directory {
            self.directory = directory
            ownsDirectory = false
        } else {
            self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("lab-\(prefix)-\(id)")
            ownsDirectory = true
        }
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    /// The namespace holding every bridge of this lab.
    public var switchNamespace: String { "\(prefix)sw-\(id)" }

    /// Adds a bridge (a LAN segment) to the switch namespace.
    public func bridge(_ name: String) throws -> LabBridge {
        precondition(name.count <= 15 && !bridges.contains(name), "bridge names are unique and at most 15 characters")
        var script = ""
        if bridges.isEmpty {
            script += "ip netns add \(switchNamespace)\nip -n \(switchNamespace) link set lo up\n"
        }
        script += "ip -n \(switchNamespace) link add \(name) type bridge\nip -n \(switchNamespace) link set \(name) up\n"
        bridges.append(name)
        try Self.sh(script)
        return LabBridge(name: name)
    }

    /// Adds a host: a namespace with `lo` up and one interface per port (`eth0`, `eth1`, …) with
    /// its address. `gateway` becomes the default route; `forwarding` turns on IPv4 forwarding
    /// (directors, routers). A host without ports has only `lo`.
    @discardableResult
    public func host(_ label: String, _ ports: LabPort..., gateway: String? = nil, forwarding: Bool = false) throws -> LabHost {
        let h = LabHost(label: label, name: "\(prefix)\(label)-\(id)", addresses: ports.compactMap(\.address), network: self)
        precondition(!hosts.contains { $0.label == label }, "host \(label) twice in one lab")
        var script = "ip netns add \(h.name)\nip -n \(h.name) link set lo up\n"
        for (k, port) in ports.enumerated() {
            precondition(bridges.contains(port.bridge), "port on unknown bridge \(port.bridge)")
            vethCount += 1
            let outside = "v\(vethCount)", inside = "eth\(k)"
            script += """
                ip -n \(switchNamespace) link add \(outside) type veth peer name \(inside) netns \(h.name)
                ip -n \(switchNamespace) link set \(outside) master \(port.bridge) up
                ip -n \(h.name) link set \(inside) up

                """
            if let a = port.address {
                script += "ip -n \(h.name) addr add \(a) dev \(inside)\(a.contains(":") ? " nodad" : "")\n"
            }
        }
        if let gateway { script += "ip -n \(h.name) route add default via \(gateway)\n" }
        if forwarding { script += "ip netns exec \(h.name) sysctl -qw net.ipv4.ip_forward=1\n" }
        hosts.append(h)  // before the script: a half-made namespace is deleted by close()
        try Self.sh(script)
        return h
    }

    /// Starts `arguments` in the background in namespace `namespace` (nil: the test's own), its
    /// output appended to `DIRECTORY/NAME.log`; the lab kills it on close.
    public func spawn(
        _ name: String, in namespace: String?, _ arguments: [String], environment: [String: String]? = nil
    ) throws -> BackgroundProcess {
        let argv = (namespace.map { ["ip", "netns", "exec", $0] } ?? []) + arguments
        let p = try BackgroundProcess(
            argv, environment: environment ?? Self.environment, log: directory.appendingPathComponent("\(name).log").path)
        processes.append(p)
        return p
    }

    /// Kills what the lab started and whatever still runs in its namespaces, deletes them, and
    /// removes the scratch directory if the lab made it.
    public func close() {
        guard !closed else { return }
        closed = true
        for p in processes where p.isRunning {
            p.signal(SIGKILL)
            _ = p.wait(timeout: 5)
        }
        processes = []
        let names = hosts.map(\.name) + (bridges.isEmpty ? [] : [switchNamespace])
        let script = names.map { "ip netns pids \($0) 2>/dev/null | xargs -r kill -9; ip netns delete \($0) 2>/dev/null" }
        _ = try? ProcessRunner.run(["sh", "-c", script.joined(separator: "\n") + "\ntrue"])
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    deinit { close() }

    static func sh(_ script: String) throws {
        let r = try ProcessRunner.run(["sh", "-ec", script])
        guard r.status == 0 else {
            throw ProcessRunner.Failure(description: "lab set-up failed (status \(r.status)): \(r.stderr)\(r.stdout)\nscript:\n\(script)")
        }
    }
}

/// A bridge of a ``LabNetwork``.
public struct LabBridge: Sendable {
    public let name: String
    /// A port on this bridge for ``LabNetwork/host(_:_:gateway:forwarding:)``, with an address in
    /// CIDR form (`10.10.0.1/24`, `2001:db8::1/64`) or none.
    public func port(_ address: String? = nil) -> LabPort { LabPort(bridge: name, address: address) }
}

/// One interface of a host: which bridge it plugs into, and its address.
public struct LabPort: Sendable {
    public let bridge: String
    public let address: String?
}

/// One namespace of a ``LabNetwork``: commands in it, its IPVS table, addresses, sysctls, and
/// background processes.
public final class LabHost: @unchecked Sendable {
    /// The name the test gave (`d1`, `r2`).
    public let label: String
    /// The namespace name, what `--netns` and `ip netns exec` take.
    public let name: String
    /// The port addresses, CIDR form, in port order.
    public let addresses: [String]
    public unowned let network: LabNetwork

    init(label: String, name: String, addresses: [String], network: LabNetwork) {
        self.label = label
        self.name = name
        self.addresses = addresses
        self.network = network
    }

    /// The first port's address without its prefix length.
    public var address: String {
        guard let a = addresses.first else { preconditionFailure("host \(label) has no address") }
        return String(a.split(separator: "/")[0])
    }

    /// `/run/netns/NAME`, what `NetlinkKernel(namespacePath:)` takes.
    public var path: String { "/run/netns/\(name)" }

    /// Runs a command in the namespace.
    public func run(_ arguments: [String], input: String? = nil) throws -> ProcessRunner.Result {
        try ProcessRunner.run(["ip", "netns", "exec", name] + arguments, input: input)
    }

    /// Like `run`, but throws unless the command succeeds; returns its standard output.
    @discardableResult
    public func check(_ arguments: [String], input: String? = nil) throws -> String {
        let r = try run(arguments, input: input)
        guard r.status == 0 else {
            throw ProcessRunner.Failure(description: "in \(label) (\(name)): `\(arguments.joined(separator: " "))` failed with status \(r.status): \(r.stderr)\(r.stdout)")
        }
        return r.stdout
    }

    /// A shell script in the namespace; throws unless it succeeds; returns its standard output.
    @discardableResult
    public func sh(_ script: String) throws -> String { try check(["sh", "-c", script]) }

    /// `ipvsadm ARGS` here, read until two reads agree (``IPVSAdm/stableRead(namespace:_:)``).
    public func ipvsadm(_ arguments: [String]) throws -> String { try IPVSAdm.stableRead(namespace: name, arguments) }

    /// `ipvsadm -Sn` here, read until two reads agree.
    public func ipvsadmSave() throws -> String { try ipvsadm(["-Sn"]) }

    /// Adds an address (CIDR form) to `device`.
    public func addAddress(_ cidr: String, device: String = "eth0") throws {
        try check(["ip", "addr", "add", cidr, "dev", device] + (cidr.contains(":") ? ["nodad"] : []))
    }

    /// Sets sysctls, each `key=value`.
    public func sysctl(_ settings: String...) throws { try check(["sysctl", "-qw"] + settings) }

    /// What a direct-routing real server needs (what `lvsctl realserver up` does; tests of that
    /// command do not call this): each VIP as /32 on `lo`, and neither answering ARP for it nor
    /// announcing it (`arp_ignore=1`, `arp_announce=2` on `all` and `lo`).
    public func makeDRRealServer(vips: [String]) throws {
        var script = "set -e\n"
        for v in vips { script += "ip addr add \(v)/32 dev lo\n" }
        script += "sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2\n"
        try sh(script)
    }

    /// Starts `arguments` here in the background, output appended to `DIRECTORY/NAME.log`.
    public func spawn(_ name: String, _ arguments: [String], environment: [String: String]? = nil) throws -> BackgroundProcess {
        try network.spawn(name, in: self.name, arguments, environment: environment)
    }

    /// Starts a server and waits until `isReady`; on timeout, or if the server exits first, stops
    /// it and throws with the end of its log.
    public func startServer(
        _ name: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Double = 60,
        readiness what: String, _ isReady: () throws -> Bool
    ) throws -> BackgroundProcess {
        let p = try spawn(name, arguments, environment: environment)
        do {
            try waitFor("\(what) (\(label))", timeout: timeout, diagnostics: p.logTail()) {
                guard p.isRunning else { throw ProcessRunner.Failure(description: "\(name) in \(label) exited before it was ready\n\(p.logTail())") }
                return try isReady()
            }
        } catch {
            p.signal(SIGKILL)
            _ = p.wait(timeout: 5)
            throw error
        }
        return p
    }

    /// `curl` of `url` from this host: one try, `timeout` seconds.
    public func curl(_ url: String, timeout: Int = 2) throws -> ProcessRunner.Result {
        try run(["curl", "-s", "-m", "\(timeout)", url])
    }

    /// Starts `Tests/Lab/servers/http_server.py NAME PORT` and waits until its `/ready` answers
    /// on this host's address, asked from `from` (default: this host).
    public func startHTTPServer(_ serverName: String, port: Int = 80, logName: String? = nil, checkedFrom from: LabHost? = nil) throws -> BackgroundProcess {
        let url = "http://\(address):\(port)/ready"
        let prober = from ?? self
        return try startServer(
            logName ?? serverName, [LabScripts.python, LabScripts.path("http_server.py"), serverName, "\(port)"],
            readiness: "the HTTP server \(serverName) to answer \(url) from \(prober.label)"
        ) {
            try prober.curl(url).stdout == "ready"
        }
    }

    /// Starts `Tests/Lab/servers/echo_server.py NAME PORT` and waits until it greets on this
    /// host's address, asked from `from` (default: this host).
    public func startEchoServer(_ serverName: String, port: Int = 80, checkedFrom from: LabHost? = nil) throws -> BackgroundProcess {
        let prober = from ?? self
        return try startServer(
            serverName, [LabScripts.python, LabScripts.path("echo_server.py"), serverName, "\(port)"],
            readiness: "the echo server \(serverName) to greet on \(address):\(port) from \(prober.label)"
        ) {
            try prober.run(["timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/\(address)/\(port) && head -n 1 <&3"]).stdout == "\(serverName)\n"
        }
    }
}

/// The lab's helper programs, kept as files in `Tests/Lab/servers` (the guest mounts the
/// repository at the same path, so they are found from this file's location).
public enum LabScripts {
    public static let python = "/usr/bin/python3"
    public static let directory = CLIRunner.packageRoot.appendingPathComponent("Tests/Lab/servers")
    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}
