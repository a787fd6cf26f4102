import LVSManifest
import LVSModel
import Testing

@Suite("Good manifests map to exact model values")
struct GoodManifestTests {
    private func state(_ text: String) throws -> DesiredState {
        let r = parse(text)
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics.map(\.description))")
        return try #require(r.state)
    }

    @Test func defaultsApply() throws {
        let s = try state(doc(svc()))
        let spec = try #require(s.services.first)
        #expect(s.manifest == "t")
        #expect(spec.service.scheduler == .wlc)
        #expect(spec.service.flags == [])
        #expect(spec.service.timeout == 0)
        #expect(spec.service.netmask == 0xFFFF_FFFF)
        let rs = spec.realServers[0].server
        #expect(rs.id == RealServer.ID(address: .v4(0x0A00_0002), port: 80))
        #expect(rs.forwarding == .directRoute && rs.weight == 1 && rs.tunnel == .default)
        #expect(s.settings == GlobalSettings())
    }

    @Test func persistenceWithNetmask() throws {
        let s = try state(doc(svc(#""scheduler": "wrr", "persistence": {"timeout": 3600, "netmask": "255.255.255.0"}"#)))
        let v = s.services[0].service
        #expect(v.flags == .persistent && v.timeout == 3600 && v.netmask == 0xFFFF_FF00 && v.scheduler == .wrr)
        let d = try state(doc(svc(#""persistence": {}"#))).services[0].service
        #expect(d.timeout == 300 && d.netmask == 0xFFFF_FFFF && d.isPersistent)
    }

    @Test func ipv6PrefixLengthAndDefaultNetmask() throws {
        let text = doc(#"{"name": "a", "protocol": "tcp", "address": "2001:db8::1", "port": 443, "persistence": {"timeout": 60, "prefixLength": 64}, "realServers": [{"address": "2001:db8::2"}]},"#
            + "\n" + #"{"name": "b", "protocol": "udp", "address": "2001:db8::1", "port": 53, "realServers": []}"#)
        let s = try state(text)
        #expect(s.services[0].service.netmask == 64)
        #expect(s.services[1].service.netmask == 128)
        #expect(s.services[1].service.flags == [])
    }

    @Test func schedulerFlagsMapToSchedBits() throws {
        let sh = try state(doc(svc(#""scheduler": "sh", "schedulerFlags": ["sh-fallback", "sh-port"]"#))).services[0].service
        #expect(sh.flags == [.sched1, .sched2])
        let mh = try state(doc(svc(#""scheduler": "mh", "schedulerFlags": ["mh-port"]"#))).services[0].service
        #expect(mh.flags == .sched2)
        let r = parse(doc(svc(#""scheduler": "rr", "schedulerFlags": ["flag-3"]"#)))
        #expect(r.state?.services[0].service.flags == .sched3)
        #expect(r.diagnostics.warnings.contains { $0.path == "services[0].schedulerFlags[0]" && $0.message.contains("ignores flag-3") })
    }

    @Test func onePacketForUDPAndFwmark() throws {
        let udp = try state(doc(#"{"name": "d", "protocol": "udp", "address": "10.0.0.53", "port": 53, "onePacket": true, "realServers": [{"address": "10.0.0.2"}]}"#))
        #expect(udp.services[0].service.flags == .onePacket)
        let fw = try state(doc(#"{"name": "m", "fwmark": 9, "family": "ipv6", "onePacket": true, "realServers": [{"address": "2001:db8::9"}]}"#))
        #expect(fw.services[0].service.id == .fwmark(9, .ipv6))
        #expect(fw.services[0].service.flags == .onePacket)
        #expect(fw.services[0].realServers[0].server.id.port == 0)
    }

    @Test func tunnelDefaultsAndOverrides() throws {
        let text = doc(svc(#""forwarding": "tunnel", "tunnel": {"type": "gue", "port": 6080, "checksum": "csum"}"#,
                           rs: #"{"address": "10.0.0.2"}, {"address": "10.0.0.3", "tunnel": {"type": "gre", "checksum": "csum"}}, {"address": "10.0.0.4", "forwarding": "dr"}, {"address": "10.0.0.5", "tunnel": {"type": "gue", "port": 5555, "checksum": "remcsum"}}"#))
        let rs = try state(text).services[0].realServers.map(\.server)
        #expect(rs[0].forwarding == .tunnel && rs[0].tunnel == TunnelSettings(type: .gue, port: 6080, checksum: .checksum))
        #expect(rs[1].tunnel == TunnelSettings(type: .gre, port: 0, checksum: .checksum))
        #expect(rs[2].forwarding == .directRoute && rs[2].tunnel == .default)
        #expect(rs[3].tunnel == TunnelSettings(type: .gue, port: 5555, checksum: .remoteChecksum))
    }

    @Test func natMapsPortsAndThresholds() throws {
        let text = doc(svc(#""forwarding": "nat""#, rs: #"{"address": "10.0.0.2", "port": 8080, "weight": 0, "upperThreshold": 100, "lowerThreshold": 50}"#))
        let rs = try state(text).services[0].realServers[0].server
        #expect(rs.id.port == 8080 && rs.forwarding == .masquerade && rs.weight == 0)
        #expect(rs.upperThreshold == 100 && rs.lowerThreshold == 50)
    }

    @Test func policyFieldsAndSorryServer() throws {
        let text = doc(svc(#""drain": {"timeout": 30}, "quorum": 2, "hysteresis": 1, "inhibitOnFailure": true, "sorryServer": {"address": "10.0.0.9"}, "healthCheck": {"type": "https", "port": 8443, "path": "/h", "statusCodes": [200, 204], "digest": "0123456789ABCDEF0123456789abcdef", "host": "example.com", "insecureSkipVerify": true, "connectTimeout": 0.5, "retry": 2, "delayBeforeRetry": 1.5, "interval": 4, "rise": 2, "fall": 3, "alpha": true}"#,
                           rs: #"{"address": "10.0.0.2", "weight": 2}, {"address": "10.0.0.3", "healthCheck": {"type": "exec", "command": ["/bin/true"]}}"#))
        let spec = try state(text).services[0]
        #expect(spec.drainTimeout == 30 && spec.quorum == 2 && spec.hysteresis == 1 && spec.inhibitOnFailure)
        #expect(spec.sorryServer == RealServer(id: RealServer.ID(address: .v4(0x0A00_0009), port: 80), forwarding: .directRoute, weight: 1))
        #expect(spec.healthCheck == HealthCheck(
            type: .https, port: 8443, path: "/h", statusCodes: [200, 204], digest: "0123456789abcdef0123456789abcdef",
            host: "example.com", insecureSkipVerify: true, connectTimeout: 0.5, retry: 2, delayBeforeRetry: 1.5,
            interval: 4, rise: 2, fall: 3, alpha: true))
        #expect(spec.realServers[0].healthCheck == nil)
        #expect(spec.realServers[1].healthCheck == HealthCheck(type: .exec, command: ["/bin/true"]))
    }

    @Test func settingsMapToTimeoutsAndSyncDaemons() throws {
        let s = try state(doc(svc(), settings: #"{"timeouts": {"tcp": 100}, "syncDaemons": [{"state": "backup", "interface": "eth0", "syncId": 3, "maxLength": 1400, "group": "239.1.2.3", "port": 9000, "ttl": 2}]}"#))
        #expect(s.settings.timeouts == Timeouts(tcp: 100, tcpFin: 0, udp: 0))
        #expect(s.settings.syncDaemons == [SyncDaemon(state: .backup, interface: "eth0", syncID: 3, maxLength: 1400, group: .v4(0xEF01_0203), port: 9000, ttl: 2)])
        let none = try state(doc(svc(), settings: #"{"syncDaemons": []}"#))
        #expect(none.settings.syncDaemons == [])
    }

    @Test func encodeRoundTripsAStateBuiltInCode() throws {
        let v6 = try #require(IPAddress("2001:db8::7"))
        let state = DesiredState(
            manifest: "adopted",
            services: [
                ServiceSpec(name: "fw", service: VirtualService(id: .fwmark(3, .ipv4), scheduler: .sh, flags: [.sched1, .persistent], timeout: 120, netmask: 0xFFFF_0000),
                            realServers: [RealServerSpec(server: RealServer(id: RealServer.ID(address: v6, port: 0), forwarding: .tunnel, weight: 4, tunnel: TunnelSettings(type: .gue, port: 6080, checksum: .none)))],
                            healthCheck: HealthCheck(type: .tcp, port: 22)),
                ServiceSpec(name: "nat", service: VirtualService(id: .address(.udp, .v4(0x0A00_0001), port: 53), scheduler: .rr, flags: .onePacket),
                            realServers: [RealServerSpec(server: RealServer(id: RealServer.ID(address: .v4(0x0A00_0102), port: 5353), forwarding: .masquerade))],
                            drainTimeout: 10, quorum: 1),
            ],
            settings: GlobalSettings(timeouts: Timeouts(tcp: 1, tcpFin: 2, udp: 3), syncDaemons: []))
        let text = Manifest.encode(state)
        let back = parse(text)
        #expect(!back.diagnostics.hasErrors, "\(back.diagnostics.map(\.description))")
        #expect(back.state == state)
        #expect(back.canonicalJSON == text)
    }
}
