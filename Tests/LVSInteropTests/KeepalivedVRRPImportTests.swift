import Foundation
import LVSManifest
import LVSModel
import LVSVRRP
import Testing

@testable import LVSInterop

/// The manifest an import writes, read back the way `lvsctl apply` reads it.
private func reparsed(_ state: DesiredState) -> (DesiredState?, [Diagnostic]) {
    let r = Manifest.parse(Array(Manifest.encode(state).utf8), file: "(imported)", canonicalForm: false)
    return (r.state, r.diagnostics)
}

private func pair(_ path: String, _ nodes: [String] = ["d1", "d2"], masters: [String: String] = [:]) -> KeepalivedImport {
    KeepalivedImporter.importPair(nodes.map { .init(path: path, node: $0) }, manifestName: "pair", masters: masters)
}

private func writeTemp(_ name: String, _ text: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-vrrp-import-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url.path
}

private func twoFiles(_ d1: String, _ d2: String, masters: [String: String] = [:]) throws -> KeepalivedImport {
    let a = try writeTemp("d1-\(UUID().uuidString).conf", d1)
    let b = try writeTemp("d2-\(UUID().uuidString).conf", d2)
    return KeepalivedImporter.importPair([.init(path: a, node: "d1"), .init(path: b, node: "d2")], manifestName: "pair", masters: masters)
}

private func instanceText(state: String, priority: Int, extra: String = "", vrid: Int = 51) -> String {
    """
    vrrp_instance VI_1 {
        state \(state)
        interface eth0
        virtual_router_id \(vrid)
        priority \(priority)
        advert_int 1
        \(extra)
        virtual_ipaddress {
            10.10.0.100/24 dev eth0
        }
    }
    virtual_server 10.10.0.100 80 {
        lb_algo rr
        lb_kind DR
        protocol TCP
        real_server 10.10.0.11 80 {
            weight 1
        }
    }
    """
}

@Suite struct KeepalivedVRRPSeedTests {
    @Test func twoVIPSeedForOneNode() throws {
        let r = KeepalivedImporter.importFile(path: fixturePath("seed-two-vip-dr.conf"), manifestName: "director", node: "d1")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let vrrp = try #require(r.state?.vrrp)
        #expect(vrrp.instances.map(\.name) == ["VI_PRI_CONNECT", "VI_PRI_AUTH"])
        let a = vrrp.instances[0]
        #expect(a.interface == "bond0")
        #expect(a.virtualRouterID == 128)
        #expect(a.priority == ["d1": 100])
        #expect(a.preempt == false)
        #expect(a.advertInterval == 1)
        #expect(a.addresses == [VRRPAddress(address: v4("10.65.32.28"), prefixLength: 23, device: "bond0")])
        #expect(a.authPassword == "1111")
        #expect(vrrp.syncGroups == [VRRPSyncGroup(name: "GOP", instances: ["VI_PRI_CONNECT", "VI_PRI_AUTH"])])
        // No flag file in this config: maintenance moves every instance, and the import says so.
        #expect(vrrp.maintenanceInstances == ["VI_PRI_CONNECT", "VI_PRI_AUTH"])
        #expect(r.warnings(containing: "no instance tracks a maintenance flag").count == 1)
        // PASS: a warning with the line of the authentication block.
        let pass = r.warnings(containing: "auth_type PASS")
        #expect(pass.map(\.line) == [14, 77])
        // VRRP is not listed as ignored any more; the services are still there.
        #expect(!r.ignoredBlocks.contains { $0.keyword.hasPrefix("vrrp") })
        #expect(r.state?.services.count == 4)
        let (back, diags) = reparsed(try #require(r.state))
        #expect(back?.vrrp == vrrp, "\(diags)")
    }

    @Test func twoVIPSeedPairWithoutAMasterIsStartOrderAndSaysSo() throws {
        let r = pair(fixturePath("seed-two-vip-dr.conf"))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let vrrp = try #require(r.state?.vrrp)
        #expect(vrrp.instances.allSatisfy { $0.priority == ["d1": 100, "d2": 100] })
        let w = r.warnings(containing: "keepalived lets the start order decide")
        #expect(w.count == 2)
        #expect(w.first?.hint?.contains("--master GOP=NODE") == true)
        // The PASS warning is said once per block, not once per node.
        #expect(r.warnings(containing: "auth_type PASS").count == 2)
    }

    @Test func twoVIPSeedPairWithAMaster() throws {
        let r = pair(fixturePath("seed-two-vip-dr.conf"), masters: ["GOP": "d2"])
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let vrrp = try #require(r.state?.vrrp)
        // Both instances of the group: d2 elected by priority; nopreempt kept, with its meaning said.
        #expect(vrrp.instances.map(\.priority) == [["d1": 100, "d2": 150], ["d1": 100, "d2": 150]])
        #expect(vrrp.instances.allSatisfy { !$0.preempt })
        #expect(r.warnings(containing: "does not take the addresses back from a running master").count == 2)
        #expect(r.warnings(containing: "d2 gets priority 150 instead of 100 (--master GOP=d2)").count == 2)
        let (back, diags) = reparsed(try #require(r.state))
        #expect(back != nil, "\(diags)")
        #expect(!diags.contains { $0.message.contains("equal") })
    }

    @Test func dualActiveSeedGivesEachGroupItsMaster() throws {
        let r = pair(fixturePath("dual-active/keepalived.conf"), masters: ["VI_GROUP_A": "d1", "VI_GROUP_B": "d2"])
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let state = try #require(r.state)
        let vrrp = try #require(state.vrrp)
        func prio(_ name: String) -> [String: UInt8]? { vrrp.instance(named: name)?.priority }
        #expect(prio("VI_PRI_A") == ["d1": 150, "d2": 100])
        #expect(prio("VI_PUB_A") == ["d1": 150, "d2": 100])
        #expect(prio("VI_PRI_B") == ["d1": 100, "d2": 150])
        #expect(prio("VI_PUB_B") == ["d1": 100, "d2": 150])
        #expect(vrrp.syncGroups.map(\.name) == ["VI_GROUP_A", "VI_GROUP_B"])
        // Both flag-file scripts are maintenance; the import names the flag file and the line.
        #expect(Set(vrrp.maintenanceInstances) == ["VI_PRI_A", "VI_PUB_A", "VI_PRI_B", "VI_PUB_B"])
        let flag = r.warnings(containing: "tests the flag file /etc/keepalived/maint-a")
        #expect(flag.map(\.line) == [55, 135])
        #expect(flag.first?.message.contains("lvsctl maintenance on|off") == true)
        // notify.sh and the e-mail settings: the daemon.json snippet.
        let snippet = try #require(r.vrrp?.daemonNotifySnippet)
        let json = try JSONSerialization.jsonObject(with: Data(snippet.utf8)) as? [String: Any]
        let notify = json?["notify"] as? [String: Any]
        #expect((notify?["exec"] as? [String: Any])?["path"] as? String == "/etc/keepalived/notify.sh")
        let smtp = notify?["smtp"] as? [String: Any]
        #expect(smtp?["host"] as? String == "192.0.2.25")
        #expect(smtp?["from"] as? String == "keepalived@example.net")
        #expect(smtp?["to"] as? [String] == ["ops@example.net"])
        #expect(r.warnings(containing: "notify /etc/keepalived/notify.sh becomes daemon.json's notify.exec hook").count == 1)
        #expect(r.warnings(containing: "router_id is replaced").first?.line == 6)
        // The rendered config of each node makes its own group's instances the higher priority.
        let paths = KeepalivedConfig.Paths(notifyFIFO: "/run/lvsctl/vrrp.fifo", trackFile: "/run/lvsctl/maintenance")
        let d1 = try KeepalivedConfig.render(vrrp, node: "d1", paths: paths)
        #expect(d1.contains("vrrp_instance VI_PRI_A {\n    state BACKUP\n    interface bond0\n    virtual_router_id 138\n    priority 150\n"))
        #expect(d1.contains("vrrp_instance VI_PRI_B {\n    state BACKUP\n    interface bond0\n    virtual_router_id 139\n    priority 100\n"))
        let (back, diags) = reparsed(state)
        #expect(back?.vrrp == vrrp, "\(diags)")
        #expect(!diags.hasErrors)
    }

    /// The same practice with one file per director, each giving its own group the higher
    /// priority: the priorities elect the masters, so no --master and no "start order" warning.
    @Test func dualActiveTwoFilesBecomeOneManifestWithPerNodePriorities() throws {
        let r = KeepalivedImporter.importPair(
            [.init(path: fixturePath("dual-active/d1.conf"), node: "d1"), .init(path: fixturePath("dual-active/d2.conf"), node: "d2")],
            manifestName: "dual-active")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let state = try #require(r.state)
        let vrrp = try #require(state.vrrp)
        func prio(_ name: String) -> [String: UInt8]? { vrrp.instance(named: name)?.priority }
        #expect(prio("VI_PRI_A") == ["d1": 150, "d2": 100])
        #expect(prio("VI_PUB_A") == ["d1": 150, "d2": 100])
        #expect(prio("VI_PRI_B") == ["d1": 100, "d2": 150])
        #expect(prio("VI_PUB_B") == ["d1": 100, "d2": 150])
        #expect(vrrp.syncGroups.map(\.name) == ["VI_GROUP_A", "VI_GROUP_B"])
        #expect(Set(vrrp.maintenanceInstances) == ["VI_PRI_A", "VI_PUB_A", "VI_PRI_B", "VI_PUB_B"])
        #expect(r.warnings(containing: "start order").isEmpty)
        #expect(r.warnings(containing: "gets priority").isEmpty)
        // Each file's flag-file warnings carry that file's name and line.
        let flags = r.warnings(containing: "tests the flag file /etc/keepalived/maint-a")
        #expect(flags.map(\.line) == [55, 135, 55, 135])
        #expect(Set(flags.compactMap(\.file).map { URL(fileURLWithPath: $0).lastPathComponent }) == ["d1.conf", "d2.conf"])
        // nopreempt kept, and its meaning said, once per instance.
        #expect(vrrp.instances.allSatisfy { !$0.preempt })
        #expect(r.state?.services.count == 4)
        // The same manifest as the shared file with --master: the two ways of writing the pair agree.
        let shared = pair(fixturePath("dual-active/keepalived.conf"), masters: ["VI_GROUP_A": "d1", "VI_GROUP_B": "d2"])
        #expect(shared.state?.vrrp == vrrp)
        #expect(shared.state?.services == state.services)
        let (back, diags) = reparsed(state)
        #expect(back?.vrrp == vrrp, "\(diags)")
    }

    @Test func masterNamingAnInstanceOfAGroupIsRefused() {
        let r = pair(fixturePath("dual-active/keepalived.conf"), masters: ["VI_PRI_A": "d1"])
        #expect(r.state == nil)
        #expect(r.diagnostics.errors.first?.message.contains("is in sync group VI_GROUP_A") == true)
        #expect(r.diagnostics.errors.first?.hint == "name the group: --master VI_GROUP_A=d1")
        let unknown = pair(fixturePath("dual-active/keepalived.conf"), masters: ["VI_GROUP_C": "d1"])
        #expect(unknown.diagnostics.errors.first?.message.contains("no sync group or instance is called 'VI_GROUP_C'") == true)
        let node = pair(fixturePath("dual-active/keepalived.conf"), masters: ["VI_GROUP_A": "d3"])
        #expect(node.diagnostics.errors.first?.message.contains("'d3' is not one of the nodes (d1, d2)") == true)
    }

    @Test func syncGroupOfOneIsNotImported() throws {
        let r = KeepalivedImporter.importFile(path: fixturePath("seed-mixed-dr-tun.conf"), manifestName: "mixed", node: "d1")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let vrrp = try #require(r.state?.vrrp)
        #expect(vrrp.syncGroups.isEmpty)
        #expect(r.warnings(containing: "vrrp_sync_group GOP has 1 instance").first?.line == 1)
        #expect(reparsed(try #require(r.state)).0 != nil)
    }

    @Test func withoutANodeVRRPIsListedAsBefore() {
        let r = KeepalivedImporter.importFile(path: fixturePath("seed-two-vip-dr.conf"), manifestName: "director")
        #expect(r.state?.vrrp == nil)
        #expect(r.vrrp == nil)
        #expect(r.ignoredBlocks.map(\.keyword) == ["vrrp_sync_group", "vrrp_instance", "vrrp_instance"])
        #expect(r.warnings(containing: "VRRP is not managed").first?.hint?.contains("--node NAME") == true)
    }
}

@Suite struct KeepalivedVRRPPairTests {
    @Test func masterAndBackupFilesBecomePerNodePriorities() throws {
        let r = try twoFiles(instanceText(state: "MASTER", priority: 150), instanceText(state: "BACKUP", priority: 100))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let i = try #require(r.state?.vrrp?.instances.first)
        #expect(i.priority == ["d1": 150, "d2": 100])
        #expect(i.preempt)
        #expect(r.diagnostics.warnings.filter { $0.message.contains("gets priority") }.isEmpty)
    }

    /// keepalived: equal priorities and one `state MASTER` is start order (a backup never
    /// preempts an equal master); the MASTER file states the intent, so it gets the priority.
    @Test func equalPrioritiesAndOneStateMaster() throws {
        let r = try twoFiles(instanceText(state: "BACKUP", priority: 100), instanceText(state: "MASTER", priority: 100))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let i = try #require(r.state?.vrrp?.instances.first)
        #expect(i.priority == ["d1": 100, "d2": 150])
        #expect(r.warnings(containing: "d2 gets priority 150 instead of 100 (its file says state MASTER)").count == 1)
    }

    /// `state MASTER` clears nopreempt on its node (keepalived says so in its log); the other
    /// node's nopreempt does not matter: a lower priority never preempts.
    @Test func stateMasterClearsNopreempt() throws {
        let r = try twoFiles(
            instanceText(state: "MASTER", priority: 150, extra: "nopreempt"), instanceText(state: "BACKUP", priority: 100, extra: "nopreempt"))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        #expect(r.state?.vrrp?.instances.first?.preempt == true)
        #expect(r.warnings(containing: "state MASTER clears nopreempt").first?.line == 2)
        #expect(r.warnings(containing: "preemption differs between the files").count == 1)
    }

    @Test func filesThatDifferInMoreThanPerNodeValuesAreRefused() throws {
        let r = try twoFiles(instanceText(state: "MASTER", priority: 150), instanceText(state: "BACKUP", priority: 100, vrid: 52))
        #expect(r.state == nil)
        let e = try #require(r.diagnostics.errors.first)
        #expect(e.message.contains("virtual_router_id 52 vs 51"))
        #expect(e.line == 1)
        #expect(e.file?.contains("d2-") == true)
        #expect(e.hint?.contains("only priority, state, unicast_src_ip and unicast_peer may differ") == true)
    }

    @Test func filesWithDifferentServicesAreRefused() throws {
        let d2 = instanceText(state: "BACKUP", priority: 100).replacingOccurrences(of: "10.10.0.11 80", with: "10.10.0.12 80")
        let r = try twoFiles(instanceText(state: "MASTER", priority: 150), d2)
        #expect(r.state == nil)
        #expect(r.diagnostics.errors.first?.message.contains("tcp/10.10.0.100:80 differs") == true)
    }

    @Test func unicastIsPerNode() throws {
        let r = try twoFiles(
            instanceText(state: "MASTER", priority: 150, extra: "unicast_src_ip 10.10.0.2\nunicast_peer {\n10.10.0.3\n}"),
            instanceText(state: "BACKUP", priority: 100, extra: "unicast_src_ip 10.10.0.3\nunicast_peer {\n10.10.0.2\n}"))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let i = try #require(r.state?.vrrp?.instances.first)
        #expect(i.unicast == [
            "d1": VRRPUnicast(source: v4("10.10.0.2"), peers: [v4("10.10.0.3")]),
            "d2": VRRPUnicast(source: v4("10.10.0.3"), peers: [v4("10.10.0.2")]),
        ])
        #expect(reparsed(try #require(r.state)).0 != nil)
    }

    @Test func differentInstanceSetsAreRefused() throws {
        let extra = instanceText(state: "BACKUP", priority: 100)
            + "\nvrrp_instance VI_2 {\ninterface eth0\nvirtual_router_id 60\nvirtual_ipaddress {\n10.10.0.101/24\n}\n}\n"
        let r = try twoFiles(instanceText(state: "MASTER", priority: 150), extra)
        #expect(r.state == nil)
        #expect(r.diagnostics.errors.first?.message.contains("has VI_2 that") == true)
    }
}

@Suite struct KeepalivedVRRPEdgeTests {
    private func one(_ text: String) -> KeepalivedImport {
        KeepalivedImporter.importText(text, file: "/virtual/keepalived.conf", manifestName: "t", node: "d1")
    }

    @Test func whatCannotBeMappedIsAWarningWithItsLine() throws {
        let r = one("""
            vrrp_script chk_nginx {
                script "/usr/bin/pgrep nginx"
                weight -20
            }
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 51
                virtual_ipaddress {
                    10.10.0.100 dev eth0 label eth0:1
                }
                track_script {
                    chk_nginx
                }
                track_interface {
                    eth1 weight -10
                }
                notify_master "/etc/keepalived/master.sh"
                garp_master_delay 10
                lvs_sync_daemon_interface eth0
            }
            virtual_server 10.10.0.100 80 {
                protocol TCP
                real_server 10.10.0.11 80 {
                }
            }
            """)
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let i = try #require(r.state?.vrrp?.instances.first)
        #expect(i.priority == ["d1": 100])  // keepalived's default
        #expect(i.addresses == [VRRPAddress(address: v4("10.10.0.100"), prefixLength: 32, device: "eth0")])
        #expect(i.trackInterfaces == ["eth1"])
        #expect(r.warnings(containing: "has no prefix length").first?.line == 9)
        #expect(r.warnings(containing: "'label' on a virtual address").first?.line == 9)
        #expect(r.warnings(containing: "track_script chk_nginx (declared at line 1) runs a script lvsctl cannot map").first?.line == 12)
        #expect(r.warnings(containing: "track_interface eth1 weight").first?.line == 15)
        #expect(r.warnings(containing: "notify_master is not imported").first?.hint?.contains("STATE) is MASTER") == true)
        #expect(r.warnings(containing: "garp_master_delay is not imported").first?.line == 18)
        #expect(r.warnings(containing: "lvs_sync_daemon_interface").first?.line == 19)
        #expect(r.state?.vrrp?.maintenanceInstances == ["VI_1"])
    }

    @Test func errorsNameTheLine() {
        let r = one("""
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 300
                priority 255
                advert_int 0.5
                authentication {
                    auth_type AH
                }
                virtual_ipaddress {
                    10.10.0.999/24
                }
            }
            """)
        #expect(r.state == nil)
        let lines = r.diagnostics.errors.compactMap(\.line)
        #expect(lines.contains(3))  // virtual_router_id out of range
        #expect(lines.contains(4))  // priority 255
        #expect(lines.contains(5))  // fractional advert_int
        #expect(lines.contains(6))  // AH
        #expect(lines.contains(10))  // bad address
        #expect(r.diagnostics.errors.first { $0.line == 4 }?.hint == "use 254 on the director that should be master")
    }

    @Test func undeclaredTrackScriptAndUnknownGroupMember() {
        let r = one("""
            vrrp_sync_group G {
                group {
                    VI_1
                    VI_X
                }
            }
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 51
                virtual_ipaddress {
                    10.10.0.100/24
                }
                track_script {
                    nothing
                }
            }
            """)
        #expect(r.state == nil)
        #expect(r.diagnostics.errors.contains { $0.line == 14 && $0.message.contains("track_script nothing is not declared") })
        #expect(r.diagnostics.errors.contains { $0.line == 1 && $0.message.contains("names VI_X") })
    }

    @Test func trackFileIsMaintenance() throws {
        let r = one("""
            vrrp_track_file maint {
                file "/var/run/maint"
                weight 0
            }
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 51
                virtual_ipaddress {
                    10.10.0.100/24
                }
                track_file {
                    maint
                }
            }
            vrrp_instance VI_2 {
                interface eth0
                virtual_router_id 52
                virtual_ipaddress {
                    10.10.0.101/24
                }
            }
            """)
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        #expect(r.state?.vrrp?.maintenanceInstances == ["VI_1"])
    }

    @Test func flagFileTests() {
        #expect(KeepalivedMapper.flagFileTest("/bin/bash -c '[[ -e /etc/keepalived/xxx ]]' && exit 1 || exit 0") == "/etc/keepalived/xxx")
        #expect(KeepalivedMapper.flagFileTest("test -f /run/maint") == "/run/maint")
        #expect(KeepalivedMapper.flagFileTest("[ ! -e /run/maint ]") == "/run/maint")
        #expect(KeepalivedMapper.flagFileTest("/usr/bin/pgrep nginx") == nil)
        #expect(KeepalivedMapper.flagFileTest("test -e relative") == nil)
    }

    /// What lvsctl renders for a node imports back to the same section (the render's track file
    /// is its maintenance switch).
    @Test func renderedConfigImportsBack() throws {
        let r = pair(fixturePath("dual-active/keepalived.conf"), masters: ["VI_GROUP_A": "d1", "VI_GROUP_B": "d2"])
        let vrrp = try #require(r.state?.vrrp)
        let paths = KeepalivedConfig.Paths(notifyFIFO: "/run/lvsctl/vrrp.fifo", trackFile: "/run/lvsctl/maintenance")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-vrrp-rt-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var files: [KeepalivedImporter.DirectorFile] = []
        for node in ["d1", "d2"] {
            let path = dir.appendingPathComponent("\(node).conf").path
            try Data(try KeepalivedConfig.render(vrrp, node: node, paths: paths).utf8).write(to: URL(fileURLWithPath: path))
            files.append(.init(path: path, node: node))
        }
        let back = KeepalivedImporter.importPair(files, manifestName: "pair")
        #expect(!back.diagnostics.hasErrors, "\(back.diagnostics)")
        #expect(back.state?.vrrp == vrrp)
    }
}
