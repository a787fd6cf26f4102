import Foundation
import LVSTestSupport
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

/// The lab kit builds what the director-pair and BGP tests need in a few lines: two directors,
/// a client and two real servers on one LAN, each director with its own IPVS table and VIP.
/// Each director sends its VIP to a different real server, so an answer names the director
/// whose table carried the request.
@Suite struct LabKitSmokeTests {
    @Test func twoDirectorsOnOneLANEachForwardTheirOwnVIP() throws {
        let lab = try LabNetwork(prefix: "kit")
        defer { lab.close() }
        let lan = try lab.bridge("lan")
        let d1 = try lab.host("d1", lan.port("10.10.0.1/24"), forwarding: true)
        let d2 = try lab.host("d2", lan.port("10.10.0.2/24"), forwarding: true)
        let client = try lab.host("c", lan.port("10.10.0.50/24"))
        let vips = ["10.10.0.100", "10.10.0.101"]
        let servers = try [11, 12].map { try lab.host("r\($0)", lan.port("10.10.0.\($0)/24")) }
        for (n, r) in servers.enumerated() {
            try r.makeDRRealServer(vips: vips)
            _ = try r.startHTTPServer("r\(n + 1)", checkedFrom: client)
        }
        for (d, vip, r) in [(d1, vips[0], servers[0]), (d2, vips[1], servers[1])] {
            try d.addAddress("\(vip)/32")
            try d.check(["ipvsadm", "-A", "-t", "\(vip):80", "-s", "rr"])
            try d.check(["ipvsadm", "-a", "-t", "\(vip):80", "-r", "\(r.address):80", "-g"])
        }
        #expect(try d1.ipvsadmSave() == "-A -t 10.10.0.100:80 -s rr\n-a -t 10.10.0.100:80 -r 10.10.0.11:80 -g -w 1\n")
        #expect(try d2.ipvsadmSave() == "-A -t 10.10.0.101:80 -s rr\n-a -t 10.10.0.101:80 -r 10.10.0.12:80 -g -w 1\n")
        #expect(try client.ipvsadmSave() == "", "a host without services has an empty table")

        // Through d1's VIP to r1, through d2's to r2 (DR: the answer comes straight from the server).
        for (vip, name) in [(vips[0], "r1"), (vips[1], "r2")] {
            var last: ProcessRunner.Result?
            try waitFor("an answer through \(vip)", timeout: 30, diagnostics: "last curl: \(last.map { "\($0)" } ?? "none")") {
                last = try client.curl("http://\(vip)/", timeout: 5)
                return last?.status == 0
            }
            #expect(last?.stdout == "\(name)\n", "through \(vip): \(String(describing: last))")
        }
        let stats1 = try d1.ipvsadm(["-Ln", "--stats"]), stats2 = try d2.ipvsadm(["-Ln", "--stats"])
        #expect(!stats1.contains("10.10.0.101") && !stats2.contains("10.10.0.100"), "\(stats1)\n\(stats2)")
    }
}

// MARK: - Private helpers

/// A host of a ``LabNetwork`` with only `lo`, with the shorthand these tests use.
private struct ScratchNamespace {
    let host: LabHost

    /// Runs a program inside the namespace and returns its standard output.
    @discardableResult
    func run(_ arguments: String...) throws -> String { try host.check(arguments) }

    /// `ipvsadm -Sn`, read until two reads agree (``IPVSAdm/stableRead(namespace:_:)``).
    func save() throws -> String { try host.ipvsadmSave() }
}

/// Creates a fresh network namespace with `lo` up, passes it to `body`, then deletes it.
///
/// `lo` is brought up because the kernel refuses IPv4 real servers in a namespace with no IPv4
/// address at all.
private func withScratchNamespace(_ body: (ScratchNamespace) throws -> Void) throws {
    let lab = try LabNetwork(prefix: "smoke")
    defer { lab.close() }
    try body(ScratchNamespace(host: try lab.host("ns")))
}
