import Foundation
import LVSManifest
import LVSModel
import Testing

/// A manifest with two services and the given `bgp` section.
private func site(_ bgp: String, scheduler: String = "mh", settings: String? = #"{"sloppyTcp": true}"#, extra: String = "") -> String {
    var s = "{\n  \"apiVersion\": \"lvsctl/v1\", \"name\": \"site\",\n  \"services\": [\n"
    s += #"    {"name": "web", "protocol": "tcp", "address": "10.10.0.100", "port": 80, "scheduler": "\#(scheduler)", "realServers": [{"address": "10.30.0.11"}]},"# + "\n"
    s += #"    {"name": "dns", "protocol": "udp", "address": "10.10.0.101", "port": 53, "scheduler": "mh"\#(extra), "realServers": [{"address": "10.30.0.12"}]}"# + "\n"
    s += "  ],\n"
    if let settings { s += "  \"settings\": \(settings),\n" }
    s += "  \"bgp\": " + bgp + "\n}\n"
    return s
}

private let issueExample = """
    {
      "localAS": 65001, "routerId": { "d1": "10.20.0.2", "d2": "10.20.0.3", "d3": "10.20.0.4" },
      "peers": [ { "address": "10.20.0.1", "as": 65000 } ]
    }
    """

@Suite("Manifest bgp section")
struct BGPManifestTests {
    @Test func issueInterfaceDecodesWithDefaults() throws {
        let r = parse(site(issueExample))
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let b = try #require(r.state?.bgp)
        #expect(b.localAS == 65001)
        #expect(b.nodes == ["d1", "d2", "d3"])
        #expect(b.routerID["d2"] == .v4(0x0a14_0003))
        #expect(b.peers == [BGPPeer(address: .v4(0x0a14_0001), asn: 65000)])
        #expect(b.drain == BGPDrain(med: 1000, gracefulShutdown: true, seconds: 5))
        #expect(b.announceThreshold == 0.5)
        #expect(b.vipDevice == nil)
        // Without vipDevice the canonical form has no such key: revisions stored before it
        // existed keep their hash.
        #expect(!r.canonicalJSON.contains("vipDevice"))
        #expect(r.state?.services.map(\.announce) == [true, true])
    }

    @Test func everyFieldRoundTripsThroughTheCanonicalForm() throws {
        let full = """
            {
              "localAS": 65001, "routerId": { "d1": "10.20.0.2" },
              "peers": [ { "address": "10.20.0.1", "as": 65000, "password": "s3cret", "holdTime": 9, "bfd": true },
                         { "address": "fd00::1", "as": 65000 } ],
              "drain": { "med": 500, "gracefulShutdown": false, "seconds": 10 },
              "announceThreshold": 0.75, "vipDevice": "lo"
            }
            """
        let r = parse(site(full, extra: #", "announce": false"#))
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let state = try #require(r.state)
        let b = try #require(state.bgp)
        #expect(b.peers[0] == BGPPeer(address: .v4(0x0a14_0001), asn: 65000, password: "s3cret", holdTime: 9, bfd: true))
        #expect(b.peers[1].address.family == .ipv6)
        #expect(b.drain == BGPDrain(med: 500, gracefulShutdown: false, seconds: 10))
        #expect(b.announceThreshold == 0.75)
        #expect(b.vipDevice == "lo")
        #expect(state.services.map(\.announce) == [true, false])
        #expect(try Manifest.decode(canonicalJSON: r.canonicalJSON) == state)
        #expect(r.canonicalJSON.contains(#""announce": false"#) || r.canonicalJSON.contains(#""announce":false"#))
    }

    /// Each broken section gives errors at exactly these paths (and nothing is decoded).
    @Test(arguments: [
        (#"{"routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}]}"#, ["bgp.localAS"]),
        (#"{"localAS": 0, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}]}"#, ["bgp.localAS"]),
        (#"{"localAS": 65001, "peers": [{"address": "10.20.0.1", "as": 65000}]}"#, ["bgp.routerId"]),
        (#"{"localAS": 65001, "routerId": {}, "peers": [{"address": "10.20.0.1", "as": 65000}]}"#, ["bgp.routerId"]),
        (#"{"localAS": 65001, "routerId": {"d1": "fd00::2"}, "peers": [{"address": "10.20.0.1", "as": 65000}]}"#, ["bgp.routerId.d1"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2", "d2": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}]}"#, ["bgp.routerId.d2"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": []}"#, ["bgp.peers"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1"}]}"#, ["bgp.peers[0].as"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}, {"address": "10.20.0.1", "as": 65002}]}"#, ["bgp.peers[1].address"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000, "holdTime": 2}]}"#, ["bgp.peers[0].holdTime"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000, "password": "a\"b"}]}"#, ["bgp.peers[0].password"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000, "port": 179}]}"#, ["bgp.peers[0].port"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}], "announceThreshold": 1.5}"#, ["bgp.announceThreshold"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}], "drain": {"seconds": 7200}}"#, ["bgp.drain.seconds"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}], "vipDevice": "a/b"}"#, ["bgp.vipDevice"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}], "vipDevice": "an-interface-name-too-long"}"#, ["bgp.vipDevice"]),
        (#"{"localAS": 65001, "routerId": {"d1": "10.20.0.2"}, "peers": [{"address": "10.20.0.1", "as": 65000}], "vipDevice": 1}"#, ["bgp.vipDevice"]),
    ])
    func badSectionsAreNamedByPath(section: String, paths: [String]) {
        let r = parse(site(section))
        #expect(r.diagnostics.errors.map(\.path) == paths, "\(r.diagnostics.map(\.description))")
        #expect(r.state == nil)
        #expect(r.diagnostics.errors.allSatisfy { $0.line != nil && $0.hint != nil })
    }

    @Test func aSchedulerThatDiffersPerDirectorIsAWarning() {
        let r = parse(site(issueExample, scheduler: "wlc"))
        #expect(!r.diagnostics.hasErrors)
        #expect(r.diagnostics.warnings.map(\.path) == ["services[0].scheduler"])
        #expect(r.diagnostics.warnings.first?.message.contains("wlc") == true)
        // Not announced: nothing to warn about.
        let quiet = parse(site(issueExample, scheduler: "wlc").replacingOccurrences(
            of: #""scheduler": "wlc","#, with: #""scheduler": "wlc", "announce": false,"#))
        #expect(quiet.diagnostics.isEmpty, "\(quiet.diagnostics.map(\.description))")
    }

    @Test func tcpWithoutSloppyTcpOrSyncIsAWarning() {
        let r = parse(site(issueExample, settings: nil))
        #expect(!r.diagnostics.hasErrors)
        // The TCP service only: a UDP flow has no handshake to miss.
        #expect(r.diagnostics.warnings.map(\.path) == ["services[0].scheduler"])
        #expect(r.diagnostics.warnings.first?.hint?.contains("sloppyTcp") == true)
    }
}
