import Foundation
import LVSManifest
import LVSModel
import LVSVRRP
import Testing

private let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    parts.removeLast(3)  // Tests/LVSVRRPTests/KeepalivedConfigTests.swift
    return parts.joined(separator: "/")
}()

private let paths = KeepalivedConfig.Paths(notifyFIFO: "/run/lvsctl/vrrp.fifo", trackFile: "/run/lvsctl/maintenance")

/// The `vrrp` section of Manifests/director-pair.json.
private func pairSection() throws -> VRRPConfig {
    let r = Manifest.load(path: repositoryRoot + "/Manifests/director-pair.json")
    #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
    return try #require(r.state?.vrrp)
}

/// Two sync groups, one preferring each director; the second group uses unicast, nopreempt,
/// a preempt delay, a tracked interface, an extra device and legacy PASS authentication.
private func dualActive(interface: String = "eth0", track: String = "eth1") -> VRRPConfig {
    let a = VRRPInstance(
        name: "VI_A", interface: interface, virtualRouterID: 51,
        addresses: [VRRPAddress(address: IPAddress("10.10.0.100")!, prefixLength: 24, device: interface)],
        priority: ["d1": 150, "d2": 100], preemptDelay: 10)
    let a2 = VRRPInstance(
        name: "VI_A2", interface: interface, virtualRouterID: 52,
        addresses: [VRRPAddress(address: IPAddress("10.10.0.110")!, prefixLength: 32, device: interface)],
        priority: ["d1": 150, "d2": 100])
    let b = VRRPInstance(
        name: "VI_B", interface: interface, virtualRouterID: 53, advertInterval: 2,
        addresses: [VRRPAddress(address: IPAddress("10.10.0.101")!, prefixLength: 24, device: interface),
                    VRRPAddress(address: IPAddress("10.10.1.101")!, prefixLength: 24, device: interface)],
        priority: ["d1": 100, "d2": 150], preempt: false,
        unicast: ["d1": VRRPUnicast(source: IPAddress("10.10.0.2")!, peers: [IPAddress("10.10.0.3")!]),
                  "d2": VRRPUnicast(peers: [IPAddress("10.10.0.2")!])],
        trackInterfaces: [track], authPassword: "1111")
    let b2 = VRRPInstance(
        name: "VI_B2", interface: interface, virtualRouterID: 54,
        addresses: [VRRPAddress(address: IPAddress("10.10.0.111")!, prefixLength: 24, device: interface)],
        priority: ["d1": 100, "d2": 150], preempt: false,
        unicast: ["d1": VRRPUnicast(source: IPAddress("10.10.0.2")!, peers: [IPAddress("10.10.0.3")!]),
                  "d2": VRRPUnicast(source: IPAddress("10.10.0.3")!, peers: [IPAddress("10.10.0.2")!])])
    return VRRPConfig(
        instances: [a, a2, b, b2],
        syncGroups: [VRRPSyncGroup(name: "GA", instances: ["VI_A", "VI_A2"]), VRRPSyncGroup(name: "GB", instances: ["VI_B", "VI_B2"])],
        maintenanceInstances: ["VI_A", "VI_B"])
}

/// A non-loopback interface of this host that can multicast (keepalived's config test refuses
/// an interface that does not exist, and multicast adverts on one that cannot multicast).
private func hostInterface() -> String? {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []).sorted()
    for n in names where n != "lo" {
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(n)/flags", encoding: .utf8),
            let flags = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2), radix: 16)
        else { continue }
        if flags & 0x1000 != 0 && flags & 0x8 == 0 { return n }  // IFF_MULTICAST, not IFF_LOOPBACK
    }
    return nil
}

@Suite("keepalived config rendering")
struct KeepalivedConfigTests {
    @Test func pairGoldenForBothNodes() throws {
        let v = try pairSection()
        let d1 = try KeepalivedConfig.render(v, node: "d1", paths: paths, manifest: "director-pair")
        #expect(d1 == """
            # Rendered by lvsctl from manifest director-pair for node d1. Do not edit: lvsctl apply rewrites this file.
            # For keepalived in VRRP-only mode (keepalived -P): lvsctl owns IPVS and the sync daemons.

            global_defs {
                router_id d1
                vrrp_notify_fifo /run/lvsctl/vrrp.fifo
                max_auto_priority
            }

            vrrp_track_file lvsctl_maintenance {
                file "/run/lvsctl/maintenance"
                weight 0
                init_file 0
            }

            vrrp_sync_group G1 {
                group {
                    VI_WEB
                    VI_API
                }
            }

            vrrp_instance VI_WEB {
                state BACKUP
                interface eth0
                virtual_router_id 51
                priority 150
                advert_int 1
                track_file {
                    lvsctl_maintenance
                }
                virtual_ipaddress {
                    10.10.0.100/24 dev eth0
                }
            }

            vrrp_instance VI_API {
                state BACKUP
                interface eth0
                virtual_router_id 52
                priority 150
                advert_int 1
                track_file {
                    lvsctl_maintenance
                }
                virtual_ipaddress {
                    10.10.0.101/24 dev eth0
                }
            }

            """)
        let d2 = try KeepalivedConfig.render(v, node: "d2", paths: paths, manifest: "director-pair")
        // Only the node's own values differ.
        let differing = zip(d1.split(separator: "\n"), d2.split(separator: "\n")).filter { $0 != $1 }.map { "\($0.0) | \($0.1)" }
        #expect(differing == [
            "# Rendered by lvsctl from manifest director-pair for node d1. Do not edit: lvsctl apply rewrites this file. | # Rendered by lvsctl from manifest director-pair for node d2. Do not edit: lvsctl apply rewrites this file.",
            "    router_id d1 |     router_id d2",
            "    priority 150 |     priority 100",
            "    priority 150 |     priority 100",
        ])
    }

    @Test func dualActiveGolden() throws {
        let text = try KeepalivedConfig.render(
            dualActive(), node: "d1",
            paths: KeepalivedConfig.Paths(notifyFIFO: "/run/x/fifo", trackFile: "/run/x/maint", readinessFile: "/run/x/ready"))
        #expect(text == """
            # Rendered by lvsctl for node d1. Do not edit: lvsctl apply rewrites this file.
            # For keepalived in VRRP-only mode (keepalived -P): lvsctl owns IPVS and the sync daemons.

            global_defs {
                router_id d1
                vrrp_notify_fifo /run/x/fifo
                max_auto_priority
            }

            vrrp_track_file lvsctl_maintenance {
                file "/run/x/maint"
                weight 0
                init_file 0
            }

            vrrp_track_file lvsctl_readiness {
                file "/run/x/ready"
                weight 0
                init_file 0
            }

            vrrp_sync_group GA {
                group {
                    VI_A
                    VI_A2
                }
            }

            vrrp_sync_group GB {
                group {
                    VI_B
                    VI_B2
                }
            }

            vrrp_instance VI_A {
                state BACKUP
                interface eth0
                virtual_router_id 51
                priority 150
                advert_int 1
                preempt_delay 10
                track_file {
                    lvsctl_maintenance
                    lvsctl_readiness
                }
                virtual_ipaddress {
                    10.10.0.100/24 dev eth0
                }
            }

            vrrp_instance VI_A2 {
                state BACKUP
                interface eth0
                virtual_router_id 52
                priority 150
                advert_int 1
                track_file {
                    lvsctl_readiness
                }
                virtual_ipaddress {
                    10.10.0.110/32 dev eth0
                }
            }

            vrrp_instance VI_B {
                state BACKUP
                interface eth0
                virtual_router_id 53
                priority 100
                advert_int 2
                nopreempt
                authentication {
                    auth_type PASS
                    auth_pass 1111
                }
                unicast_src_ip 10.10.0.2
                unicast_peer {
                    10.10.0.3
                }
                track_interface {
                    eth1
                }
                track_file {
                    lvsctl_maintenance
                    lvsctl_readiness
                }
                virtual_ipaddress {
                    10.10.0.101/24 dev eth0
                    10.10.1.101/24 dev eth0
                }
            }

            vrrp_instance VI_B2 {
                state BACKUP
                interface eth0
                virtual_router_id 54
                priority 100
                advert_int 1
                nopreempt
                unicast_src_ip 10.10.0.2
                unicast_peer {
                    10.10.0.3
                }
                track_file {
                    lvsctl_readiness
                }
                virtual_ipaddress {
                    10.10.0.111/24 dev eth0
                }
            }

            """)
    }

    @Test func neverVirtualServersNorSyncDaemonsAndDeterministic() throws {
        for v in [try pairSection(), dualActive()] {
            for node in ["d1", "d2"] {
                let text = try KeepalivedConfig.render(v, node: node, paths: paths)
                #expect(!text.contains("virtual_server") && !text.contains("lvs_sync_daemon") && !text.contains("real_server"))
                #expect(try KeepalivedConfig.render(v, node: node, paths: paths) == text)
            }
        }
    }

    @Test func unknownNodeAndUnusablePathsAreErrors() throws {
        let v = try pairSection()
        #expect(throws: KeepalivedConfig.RenderError("node 'd3' has no priority in instances VI_WEB, VI_API; the manifest's nodes are d1, d2 (choose one with --node or LVSCTL_NODE)")) {
            try KeepalivedConfig.render(v, node: "d3", paths: paths)
        }
        for bad in ["relative/fifo", "/run/with space", "/run/q\"uote", "/run/hash#"] {
            #expect(throws: KeepalivedConfig.RenderError.self) {
                try KeepalivedConfig.render(v, node: "d1", paths: KeepalivedConfig.Paths(notifyFIFO: bad, trackFile: "/run/t"))
            }
        }
    }

    /// keepalived 2.2.7's own config test (`keepalived -t`, exit 0) on every rendered config, for
    /// both nodes. It needs the interface to exist and to multicast, so the configs use one of
    /// this host's interfaces; it needs neither root nor IPVS.
    @Test func keepalivedConfigTestAcceptsTheRenderedConfigs() throws {
        let keepalived = try #require(
            ["/usr/sbin/keepalived", "/sbin/keepalived", "/usr/local/sbin/keepalived"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "keepalived is not installed (apt-get install keepalived): this test needs its config test")
        let interface = try #require(hostInterface(), "this host has no multicast-capable interface besides lo for keepalived's config test")
        var pair = try pairSection()
        for i in pair.instances.indices {
            pair.instances[i].interface = interface
            for j in pair.instances[i].addresses.indices { pair.instances[i].addresses[j].device = interface }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-ka-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = KeepalivedConfig.Paths(
            notifyFIFO: dir.path + "/fifo", trackFile: dir.path + "/maint", readinessFile: dir.path + "/ready")
        var checked = 0
        // Any other interface can be tracked (keepalived refuses to track the instance's own).
        let other = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []).sorted().first { $0 != interface } ?? "lo"
        let v6 = VRRPConfig(instances: [
            VRRPInstance(
                name: "VI_6", interface: interface, virtualRouterID: 61,
                addresses: [VRRPAddress(address: IPAddress("2001:db8::100")!, prefixLength: 64, device: interface)],
                priority: ["d1": 150, "d2": 100],
                unicast: ["d1": VRRPUnicast(peers: [IPAddress("2001:db8::3")!]), "d2": VRRPUnicast(peers: [IPAddress("2001:db8::2")!])]),
        ], maintenanceInstances: ["VI_6"])
        for (label, v) in [("pair", pair), ("dual-active with unicast", dualActive(interface: interface, track: other)), ("IPv6 unicast", v6)] {
            for node in ["d1", "d2"] {
                let file = dir.appendingPathComponent("\(checked).conf")
                try KeepalivedConfig.render(v, node: node, paths: p).write(to: file, atomically: true, encoding: .utf8)
                let proc = Process()
                proc.executableURL = URL(fileURLWithPath: keepalived)
                proc.arguments = ["-t", "-f", file.path]
                let err = Pipe()
                proc.standardError = err
                proc.standardOutput = err
                try proc.run()
                let output = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                proc.waitUntilExit()
                #expect(proc.terminationStatus == 0, "keepalived -t on the \(label) config of \(node): exit \(proc.terminationStatus): \(output)")
                checked += 1
            }
        }
        #expect(checked == 6)

        // The test can fail: keepalived refuses a one-instance sync group (what validation
        // refuses too) and a duplicate virtual router id.
        var broken = pair
        broken.syncGroups = [VRRPSyncGroup(name: "G1", instances: ["VI_WEB"])]
        let file = dir.appendingPathComponent("broken.conf")
        try KeepalivedConfig.render(broken, node: "d1", paths: p).write(to: file, atomically: true, encoding: .utf8)
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: keepalived)
        proc.arguments = ["-t", "-f", file.path]
        proc.standardError = FileHandle.nullDevice
        proc.standardOutput = FileHandle.nullDevice
        try proc.run()
        proc.waitUntilExit()
        #expect(proc.terminationStatus != 0)
    }
}
