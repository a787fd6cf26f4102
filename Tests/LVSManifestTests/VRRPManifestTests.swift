import Foundation
import LVSManifest
import LVSModel
import Testing

/// A manifest with one service per VIP and the given `vrrp` section (its first line is line 8).
private func pair(_ vrrp: String, settings: String? = nil) -> String {
    var s = "{\n  \"apiVersion\": \"lvsctl/v1\", \"name\": \"pair\",\n  \"services\": [\n"
    s += #"    {"name": "a", "protocol": "tcp", "address": "10.10.0.100", "port": 80, "realServers": [{"address": "10.10.0.11"}]},"# + "\n"
    s += #"    {"name": "b", "protocol": "tcp", "address": "10.10.0.101", "port": 80, "realServers": [{"address": "10.10.0.12"}]}"# + "\n"
    s += "  ],\n"
    if let settings { s += "  \"settings\": \(settings),\n" }
    s += "  \"vrrp\":\n" + vrrp + "\n}\n"
    return s
}

private let issueExample = """
    {
      "instances": [
        { "name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "advertInterval": 1,
          "addresses": ["10.10.0.100/24"], "priority": { "d1": 150, "d2": 100 }, "preempt": true }
      ],
      "syncGroups": [ { "name": "G1", "instances": ["VI_1"] } ]
    }
    """

private let dualActive = """
    {
      "instances": [
        { "name": "VI_A", "interface": "eth0", "virtualRouterId": 51,
          "addresses": ["10.10.0.100/24"], "priority": { "d1": 150, "d2": 100 } },
        { "name": "VI_A2", "interface": "eth0", "virtualRouterId": 52,
          "addresses": [{"address": "10.10.0.110/24", "device": "eth1"}], "priority": { "d1": 150, "d2": 100 } },
        { "name": "VI_B", "interface": "eth0", "virtualRouterId": 53, "preempt": false,
          "addresses": ["10.10.0.101/24"], "priority": { "d1": 100, "d2": 150 },
          "unicast": { "d1": { "source": "10.10.0.2", "peers": ["10.10.0.3"] }, "d2": { "peers": ["10.10.0.2"] } },
          "trackInterfaces": ["eth1"] },
        { "name": "VI_B2", "interface": "eth0", "virtualRouterId": 54, "preemptDelay": 5,
          "addresses": ["10.10.0.111/24"], "priority": { "d1": 100, "d2": 150 } }
      ],
      "syncGroups": [ { "name": "GA", "instances": ["VI_A", "VI_A2"] }, { "name": "GB", "instances": ["VI_B", "VI_B2"] } ],
      "maintenanceInstances": ["VI_A", "VI_B"]
    }
    """

@Suite("Manifest vrrp section")
struct VRRPManifestTests {
    @Test func issueInterfaceDecodes() throws {
        // A sync group of one instance is refused (keepalived's config test fails on it), so the
        // issue's example with its one-instance group is one error and nothing else.
        let r = parse(pair(issueExample))
        #expect(r.diagnostics.errors.map(\.path) == ["vrrp.syncGroups[0].instances"])
        let withoutGroup = issueExample.replacingOccurrences(of: #"[ { "name": "G1", "instances": ["VI_1"] } ]"#, with: "[]")
        let ok = parse(pair(withoutGroup))
        #expect(!ok.diagnostics.hasErrors, "\(ok.diagnostics.map(\.description))")
        let v = try #require(ok.state?.vrrp)
        #expect(v.instances == [VRRPInstance(
            name: "VI_1", interface: "eth0", virtualRouterID: 51, advertInterval: 1,
            addresses: [VRRPAddress(address: .v4(0x0a0a_0064), prefixLength: 24, device: "eth0")],
            priority: ["d1": 150, "d2": 100], preempt: true)])
        #expect(v.maintenanceInstances == ["VI_1"])
        #expect(v.nodes == ["d1", "d2"])
    }

    @Test func dualActiveDecodesAndRoundTrips() throws {
        let r = parse(pair(dualActive))
        #expect(r.diagnostics.isEmpty == false)  // the VIPs .110 and .111 are served by no service
        #expect(r.diagnostics.errors.isEmpty, "\(r.diagnostics.map(\.description))")
        #expect(r.diagnostics.map(\.path) == ["vrrp.instances[1].addresses[0]", "vrrp.instances[3].addresses[0]"])
        let state = try #require(r.state)
        let v = try #require(state.vrrp)
        #expect(v.syncGroups.map(\.instances) == [["VI_A", "VI_A2"], ["VI_B", "VI_B2"]])
        #expect(v.maintenanceInstances == ["VI_A", "VI_B"])
        #expect(v.instances[1].addresses[0].device == "eth1")
        #expect(v.instances[2].preempt == false && v.instances[2].trackInterfaces == ["eth1"])
        #expect(v.instances[2].unicast["d1"] == VRRPUnicast(source: .v4(0x0a0a_0002), peers: [.v4(0x0a0a_0003)]))
        #expect(v.instances[3].preemptDelay == 5)
        // The canonical form reads back to the same state and is stable.
        #expect(try Manifest.decode(canonicalJSON: r.canonicalJSON) == state)
        let again = Manifest.parse(Array(r.canonicalJSON.utf8), file: "canonical")
        #expect(again.canonicalJSON == r.canonicalJSON)
        #expect(r.canonicalJSON.contains(#""priority": {"#))
        #expect(r.canonicalJSON.contains(#""maintenanceInstances": ["VI_A", "VI_B"]"#))
    }

    @Test func canonicalFormIsPinned() throws {
        let r = parse(pair(issueExample.replacingOccurrences(of: #"[ { "name": "G1", "instances": ["VI_1"] } ]"#, with: "[]")))
        let vrrpPart = try #require(r.canonicalJSON.range(of: "\"vrrp\"").map { String(r.canonicalJSON[$0.lowerBound...]) })
        #expect(vrrpPart == """
            "vrrp": {
                "instances": [
                  {
                    "addresses": [
                      {
                        "address": "10.10.0.100/24",
                        "device": "eth0"
                      }
                    ],
                    "advertInterval": 1,
                    "interface": "eth0",
                    "name": "VI_1",
                    "preempt": true,
                    "priority": {
                      "d1": 150,
                      "d2": 100
                    },
                    "trackInterfaces": [],
                    "virtualRouterId": 51
                  }
                ],
                "maintenanceInstances": ["VI_1"],
                "syncGroups": []
              }
            }

            """)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var vrrp: String
        /// (severity, path, a piece of the message) of every diagnostic, in order.
        var expected: [(Diagnostic.Severity, String, String)]
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "instance without a priority for a node named elsewhere", vrrp: """
            {"instances": [
              {"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.100/24"], "priority": {"d1": 150, "d2": 100}},
              {"name": "VI_2", "interface": "eth0", "virtualRouterId": 52, "addresses": ["10.10.0.101/24"], "priority": {"d1": 150}}]}
            """, expected: [(.error, "vrrp.instances[1].priority", "no priority for node 'd2' (named in vrrp.instances[0].priority)")]),
        Bad(name: "equal priorities: a warning", vrrp: """
            {"instances": [{"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.100/24"], "priority": {"d1": 100, "d2": 100}, "preempt": false}]}
            """, expected: [(.warning, "vrrp.instances[0].priority", "nodes d1 and d2 have the same priority 100")]),
        Bad(name: "duplicate virtual router id on one interface", vrrp: """
            {"instances": [
              {"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.100/24"], "priority": {"d1": 150, "d2": 100}},
              {"name": "VI_2", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.101/24"], "priority": {"d1": 150, "d2": 100}},
              {"name": "VI_3", "interface": "eth1", "virtualRouterId": 51, "addresses": ["10.10.0.102/24"], "priority": {"d1": 150, "d2": 100}}]}
            """, expected: [
                (.error, "vrrp.instances[1].virtualRouterId", "virtual router id 51 is already used on eth0 by vrrp.instances[0]"),
                (.warning, "vrrp.instances[2].addresses[0]", "no service of this manifest has the address 10.10.0.102"),
            ]),
        Bad(name: "duplicate instance names and a VIP in two instances", vrrp: """
            {"instances": [
              {"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.100/24"], "priority": {"d1": 150, "d2": 100}},
              {"name": "VI_1", "interface": "eth0", "virtualRouterId": 52, "addresses": ["10.10.0.100/24"], "priority": {"d1": 150, "d2": 100}}]}
            """, expected: [
                (.error, "vrrp.instances[1].name", "duplicate instance name 'VI_1' (first used by vrrp.instances[0])"),
                (.error, "vrrp.instances[1].addresses[0]", "10.10.0.100 is already a virtual address of vrrp.instances[0].addresses[0]"),
            ]),
        Bad(name: "sync groups: unknown instance, an instance in two groups, a duplicate name", vrrp: """
            {"instances": [
              {"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.100/24"], "priority": {"d1": 150, "d2": 100}},
              {"name": "VI_2", "interface": "eth0", "virtualRouterId": 52, "addresses": ["10.10.0.101/24"], "priority": {"d1": 150, "d2": 100}}],
             "syncGroups": [{"name": "G1", "instances": ["VI_1", "VI_2"]}, {"name": "G1", "instances": ["VI_2", "VI_3"]}]}
            """, expected: [
                (.error, "vrrp.syncGroups[1].name", "duplicate sync group name 'G1'"),
                (.error, "vrrp.syncGroups[1].instances[0]", "instance 'VI_2' is already in sync group G1"),
                (.error, "vrrp.syncGroups[1].instances[1]", "unknown instance 'VI_3'"),
            ]),
        Bad(name: "bad prefixes and a missing one", vrrp: """
            {"instances": [{"name": "VI_1", "interface": "eth0", "virtualRouterId": 51,
              "addresses": ["10.10.0.100/33", "10.10.0.101", "2001:db8::1/129", "10.10.0.102/x"], "priority": {"d1": 150, "d2": 100}}]}
            """, expected: [
                (.error, "vrrp.instances[0].addresses[0]", "'33' is not a prefix length for ipv4"),
                (.error, "vrrp.instances[0].addresses[1]", "'10.10.0.101' has no prefix length"),
                (.error, "vrrp.instances[0].addresses[2]", "'129' is not a prefix length for ipv6"),
                (.error, "vrrp.instances[0].addresses[3]", "'x' is not a prefix length for ipv4"),
            ]),
        Bad(name: "PASS authentication: accepted with a warning", vrrp: """
            {"instances": [{"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.100/24"],
              "priority": {"d1": 150, "d2": 100}, "authentication": {"type": "PASS", "password": "1111"}}]}
            """, expected: [(.warning, "vrrp.instances[0].authentication", "PASS authentication is legacy")]),
        Bad(name: "authentication on an IPv6 instance", vrrp: """
            {"instances": [{"name": "VI_6", "interface": "eth0", "virtualRouterId": 61, "addresses": ["2001:db8::100/64"],
              "priority": {"d1": 150, "d2": 100}, "authentication": {"type": "PASS", "password": "1111"}}]}
            """, expected: [
                (.warning, "vrrp.instances[0].addresses[0]", "no service of this manifest has the address 2001:db8::100"),
                (.error, "vrrp.instances[0].authentication", "an IPv6 instance uses VRRP version 3, which has no authentication"),
            ]),
        Bad(name: "ranges, preemptDelay without preempt, unicast gaps", vrrp: """
            {"instances": [{"name": "VI_1", "interface": "eth0", "virtualRouterId": 0, "addresses": ["10.10.0.100/24"],
              "priority": {"d1": 255, "d2": 100}, "preempt": false, "preemptDelay": 5,
              "unicast": {"d1": {"peers": ["10.10.0.3", "2001:db8::3"]}}, "trackInterfaces": ["eth1", "eth0"]}]}
            """, expected: [
                (.error, "vrrp.instances[0].virtualRouterId", "0 is out of range (1-255)"),
                (.error, "vrrp.instances[0].priority.d1", "255 is out of range (1-254)"),
                (.error, "vrrp.instances[0].preemptDelay", "preemptDelay has no effect"),
                (.error, "vrrp.instances[0].unicast", "no unicast settings for node 'd2'"),
                (.error, "vrrp.instances[0].unicast.d1.peers[1]", "2001:db8::3 is ipv6 but the instance's addresses are ipv4"),
                (.error, "vrrp.instances[0].trackInterfaces[1]", "the instance already follows its own interface eth0"),
            ]),
        Bad(name: "unknown field and maintenance of an unknown instance", vrrp: """
            {"instances": [{"name": "VI_1", "interface": "eth0", "virtualRouterId": 51, "addresses": ["10.10.0.100/24"],
              "priority": {"d1": 150, "d2": 100}, "nopreempt": true}], "maintenanceInstances": ["VI_9"]}
            """, expected: [
                (.error, "vrrp.instances[0].nopreempt", "unknown field 'nopreempt' in a VRRP instance"),
                (.error, "vrrp.maintenanceInstances[0]", "unknown instance 'VI_9'"),
            ]),
    ]

    @Test(arguments: bad)
    func badSections(_ c: Bad) {
        let r = parse(pair(c.vrrp))
        let got = r.diagnostics.map { ($0.severity, $0.path, $0.message) }
        #expect(got.count == c.expected.count, "\(r.diagnostics.map(\.description))")
        for (g, e) in zip(got, c.expected) {
            #expect(g.0 == e.0 && g.1 == e.1 && g.2.contains(e.2), "got \(g), expected \(e)")
        }
        for d in r.diagnostics {
            #expect(d.line != nil && d.column != nil && d.file == "test.json", "\(d)")
            #expect(d.hint != nil, "\(d)")
        }
        #expect((r.state == nil) == c.expected.contains { $0.0 == .error })
    }

    @Test func sysctlSettingsDecodeAndRoundTrip() throws {
        let settings = """
            {"sloppyTcp": true, "sloppySctp": false, "syncThreshold": [3, 50], "syncRefreshPeriod": 10, "syncRetries": 2,
             "expireNodestConn": true, "expireQuiescentTemplate": true, "connReuseMode": 0, "backupOnly": false,
             "syncDaemons": [{"state": "master", "interface": "eth0"}, {"state": "backup", "interface": "eth0"}]}
            """
        let r = parse(doc(svc(), settings: settings))
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let s = try #require(r.state?.settings.sysctls)
        #expect(s == IPVSSysctls(
            sloppyTcp: true, sloppySctp: false, syncThreshold: .init(threshold: 3, period: 50), syncRefreshPeriod: 10,
            syncRetries: 2, expireNodestConn: true, expireQuiescentTemplate: true, connReuseMode: 0, backupOnly: false))
        #expect(try Manifest.decode(canonicalJSON: r.canonicalJSON) == r.state)
        #expect(r.canonicalJSON.contains(#""syncThreshold": [3, 50]"#))
        // Members in sorted order around syncDaemons.
        let keys = ["backupOnly", "connReuseMode", "expireNodestConn", "expireQuiescentTemplate", "sloppySctp", "sloppyTcp",
                    "syncDaemons", "syncRefreshPeriod", "syncRetries", "syncThreshold"]
        let offsets = keys.map { r.canonicalJSON.range(of: "\"\($0)\"")?.lowerBound }
        #expect(offsets.allSatisfy { $0 != nil })
        #expect(offsets.compactMap { $0 } == offsets.compactMap { $0 }.sorted())
    }

    @Test func badSysctlSettings() {
        let r = parse(doc(svc(), settings: #"{"syncRetries": 4, "syncThreshold": [50, 3], "connReuseMode": 7, "sloppyTcp": 1, "backupOnly": true, "syncDaemons": [{"state": "master", "interface": "eth0"}]}"#))
        let got = r.diagnostics.map { "\($0.severity) \($0.path)" }
        #expect(got == ["error settings.syncRetries", "error settings.syncThreshold", "error settings.connReuseMode",
                        "error settings.sloppyTcp", "warning settings.backupOnly"], "\(r.diagnostics.map(\.description))")
        let t = parse(doc(svc(), settings: #"{"syncThreshold": [3]}"#))
        #expect(t.diagnostics.map(\.message) == ["syncThreshold needs exactly two numbers, not 1"])
    }

    @Test func nodeNameResolution() {
        #expect(NodeName.resolve(option: "d1", environment: ["LVSCTL_NODE": "d2"], hostname: { "h" }) == NodeName(name: "d1", source: .option))
        #expect(NodeName.resolve(option: nil, environment: ["LVSCTL_NODE": "d2"], hostname: { "h" }) == NodeName(name: "d2", source: .environment))
        #expect(NodeName.resolve(option: "", environment: ["LVSCTL_NODE": ""], hostname: { "h.example.net" }) == NodeName(name: "h.example.net", source: .hostname))
        #expect(NodeName.resolve(option: nil, environment: [:], hostname: { nil }) == nil)
        #expect(NodeName(name: "d1.example.net", source: .hostname).matching(["d1", "d2"]) == "d1")
        #expect(NodeName(name: "d1.example.net", source: .option).matching(["d1", "d2"]) == nil)
        #expect(NodeName(name: "d2", source: .environment).matching(["d1", "d2"]) == "d2")
        #expect(NodeName.systemHostname()?.isEmpty == false)
    }
}
