import Foundation
import LVSModel
import Testing

@testable import LVSInterop

@Suite struct KeepalivedSeedTests {
    @Test func twoVIPDirectorImportsFourServices() throws {
        let r = KeepalivedImporter.importFile(path: fixturePath("seed-two-vip-dr.conf"), manifestName: "director")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let state = try #require(r.state)
        #expect(state.manifest == "director")
        #expect(state.services.map(\.name) == ["vs-10-65-32-28-80", "vs-10-65-32-28-443", "vs-10-65-32-29-80", "vs-10-65-32-29-443"])
        let https = try #require(r.service("tcp/10.65.32.28:443"))
        #expect(https.service.scheduler == .rr)
        #expect(https.service.flags == [])
        #expect(https.service.timeout == 0)
        #expect(https.realServers.map(\.server.id.description) == ["10.65.32.13:443", "10.65.32.14:443"])
        for rs in https.realServers {
            #expect(rs.server.forwarding == .directRoute)
            #expect(rs.server.weight == 100)
            #expect(rs.healthCheck == nil)
        }
        let hc = try #require(https.healthCheck)
        #expect(hc.type == .tcp)
        #expect(hc.port == nil)
        #expect(hc.connectTimeout == 3)
        #expect(hc.retry == 3)  // keepalived's retry 3, the same meaning: down after 4 failures
        #expect(hc.delayBeforeRetry == 3)
        #expect(hc.interval == 6)
        #expect(hc.alpha == false)
        // 110.65.32.23 is a typo in the seed, but a valid address: imported as written.
        #expect(r.service("tcp/10.65.32.29:80")?.realServers.map(\.server.id.description) == ["10.65.32.22:80", "110.65.32.23:80"])
    }

    @Test func twoVIPDirectorWarnsAboutPortFixUpAndVRRP() {
        let r = KeepalivedImporter.importFile(path: fixturePath("seed-two-vip-dr.conf"), manifestName: "director")
        let fix = r.warnings(containing: "differs from the virtual server port 443")
        #expect(fix.count == 1)
        #expect(fix.first?.line == 60)
        #expect(fix.first?.file?.hasSuffix("seed-two-vip-dr.conf") == true)
        #expect(fix.first?.message.contains("10.65.32.14 port 80") == true)
        #expect(r.ignoredBlocks.map(\.keyword) == ["vrrp_sync_group", "vrrp_instance", "vrrp_instance"])
        #expect(r.ignoredBlocks.map(\.line) == [1, 7, 70])
        #expect(r.ignoredBlocks.map { $0.name ?? "" } == ["GOP", "VI_PRI_CONNECT", "VI_PRI_AUTH"])
        let vrrp = r.warnings(containing: "vrrp_instance VI_PRI_CONNECT (line 7): VRRP is not managed by lvsctl")
        #expect(vrrp.count == 1)
        #expect(vrrp.first?.hint?.contains("keep keepalived for VRRP") == true)
    }

    @Test func mixedDRAndTUNBlocksMergeIntoOneService() throws {
        let r = KeepalivedImporter.importFile(path: fixturePath("seed-mixed-dr-tun.conf"), manifestName: "mixed")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let state = try #require(r.state)
        #expect(state.services.count == 1)
        let s = try #require(r.service("tcp/10.10.36.11:80"))
        #expect(s.service.scheduler == .rr)
        #expect(s.realServers.map(\.server.id.description) == ["10.10.36.4:80", "10.10.36.7:80"])
        #expect(s.realServers.map(\.server.forwarding) == [.directRoute, .tunnel])
        #expect(s.realServers[1].server.tunnel == .default)
        #expect(s.realServers.allSatisfy { $0.server.weight == 100 })
        #expect(s.healthCheck?.type == .tcp)
        #expect(s.healthCheck?.port == nil)
        let dup = r.warnings(containing: "is declared again")
        #expect(dup.count == 1)
        #expect(dup.first?.line == 35)
        #expect(dup.first?.message.contains("first at") == true)
        #expect(r.ignoredBlocks.map(\.keyword) == ["vrrp_sync_group", "vrrp_instance"])
    }
}

@Suite struct KeepalivedIncludeTests {
    @Test func globAndNestedIncludes() throws {
        let r = KeepalivedImporter.importFile(path: fixturePath("include/keepalived.conf"), manifestName: "inc")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        #expect(r.files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["keepalived.conf", "10-web.conf", "20-dns.conf", "level1.conf", "level2.conf"])
        let state = try #require(r.state)
        #expect(state.services.map { $0.service.id.description } == ["tcp/192.0.2.10:80", "udp/192.0.2.53:53", "tcp/192.0.2.20:443"])
        let web = try #require(r.service("tcp/192.0.2.10:80"))
        #expect(web.service.scheduler == .wrr)
        #expect(web.realServers.first?.server == RealServer(id: RealServer.ID(address: v4("10.0.0.11"), port: 8080), forwarding: .masquerade, weight: 3))
        let dns = try #require(r.service("udp/192.0.2.53:53"))
        #expect(dns.service.flags == [.onePacket])
        #expect(dns.realServers.first?.server.weight == 1)
        let sh = try #require(r.service("tcp/192.0.2.20:443"))
        #expect(sh.service.flags == [.sched2])
        #expect(sh.healthCheck?.connectTimeout == 2)
        #expect(r.ignoredBlocks.first?.keyword == "global_defs")
        #expect(r.ignoredBlocks.first?.line == 2)
    }

    @Test func includeCycleIsAnError() {
        let r = KeepalivedImporter.importFile(path: fixturePath("cycle/a.conf"), manifestName: "cyc")
        #expect(r.state == nil)
        let e = r.diagnostics.errors.filter { $0.message.contains("include cycle") }
        #expect(e.count == 1)
        #expect(e.first?.line == 2)
        #expect(e.first?.file?.hasSuffix("b.conf") == true)
    }

    @Test func missingIncludeFileIsAnErrorButEmptyGlobOnlyWarns() {
        let dir = fixturePath("include")
        let r = KeepalivedImporter.importText("include nothere.conf\ninclude none.d/*.conf\n", file: dir + "/x.conf", manifestName: "m")
        #expect(r.diagnostics.errors.map(\.line) == [1])
        #expect(r.diagnostics.warnings.contains { $0.line == 2 && $0.message.contains("no file matches") })
    }
}

@Suite struct KeepalivedKeywordTests {
    @Test func defaultsFromKeepalivedSource() throws {
        let r = kaImport("""
            virtual_server 192.0.2.1 80 {
                real_server 10.0.0.1 8080 {
                    TCP_CHECK {
                    }
                }
            }
            """)
        let s = try #require(r.state?.services.first)
        // No protocol → UDP, no lb_algo → wlc, no lb_kind → NAT (each with a warning).
        #expect(s.service.id == .address(.udp, v4("192.0.2.1"), port: 80))
        #expect(s.service.scheduler == .wlc)
        #expect(s.realServers[0].server.forwarding == .masquerade)
        #expect(s.realServers[0].server.id.port == 8080)
        #expect(s.realServers[0].server.weight == 1)
        #expect(r.warnings(containing: "defaults to UDP").first?.line == 1)
        #expect(r.warnings(containing: "uses wlc").count == 1)
        #expect(r.warnings(containing: "uses NAT").count == 1)
        let hc = try #require(s.healthCheck)
        #expect(hc.connectTimeout == 5)
        #expect(hc.interval == 60)
        #expect(hc.retry == 1 && hc.failuresBeforeDown == 2)  // keepalived's default retry 1
        #expect(hc.delayBeforeRetry == 1)
    }

    @Test func persistenceAndGranularity() throws {
        let r = kaImport("""
            virtual_server 192.0.2.1 443 {
                protocol TCP
                lb_kind DR
                persistence_granularity 255.255.255.0
                persistence_engine sip
                real_server 10.0.0.1 443 {
                }
            }
            virtual_server 2001:db8::1 443 {
                protocol TCP
                lb_kind DR
                persistence_timeout
                persistence_granularity 64
                real_server 2001:db8::10 443 {
                }
            }
            virtual_server 192.0.2.2 80 {
                protocol TCP
                lb_kind DR
                persistence_timeout 1800
                real_server 10.0.0.2 80 {
                }
            }
            """)
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let a = try #require(r.service("tcp/192.0.2.1:443"))
        #expect(a.service.flags == [.persistent])
        #expect(a.service.timeout == 360)
        #expect(a.service.netmask == 0xffff_ff00)
        #expect(a.service.persistenceEngine == "sip")
        #expect(a.name == "vs-192-0-2-1-443")
        let b = try #require(r.service("tcp/[2001:db8::1]:443"))
        #expect(b.service.timeout == 360)
        #expect(b.service.netmask == 64)
        #expect(b.name == "vs-2001-db8--1-443")
        #expect(b.realServers[0].server.id.address == IPAddress("2001:db8::10"))
        let c = try #require(r.service("tcp/192.0.2.2:80"))
        #expect(c.service.timeout == 1800)
        #expect(c.service.netmask == 0xffff_ffff)
    }

    @Test func fwmarkServicesAndIPv6Family() throws {
        let r = kaImport("""
            virtual_server fwmark 7 {
                lb_algo rr
                lb_kind DR
                real_server 10.0.0.31 80 {
                }
            }
            virtual_server fwmark 8 {
                ip_family inet6
                lb_kind NAT
                real_server 2001:db8::31 8080 {
                }
            }
            """)
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let a = try #require(r.state?.services.first { $0.service.id == .fwmark(7, .ipv4) })
        #expect(a.name == "fwmark-7")
        #expect(a.realServers[0].server.id.port == 0)
        #expect(r.warnings(containing: "clears the port").first?.line == 4)
        let b = try #require(r.state?.services.first { $0.service.id == .fwmark(8, .ipv6) })
        #expect(b.name == "fwmark-8-ipv6")
        #expect(b.service.netmask == 128)
        #expect(b.realServers[0].server.id.port == 8080)
    }

    @Test func virtualServerGroupExpansion() throws {
        let r = kaImport("""
            virtual_server_group WEB {
                192.0.2.1-3 80
                2001:db8::10 80
                192.0.2.16/31 443
                fwmark 9
            }
            virtual_server group WEB {
                protocol TCP
                lb_algo wrr
                lb_kind DR
                real_server 10.0.0.1 {
                    weight 5
                }
            }
            """)
        let state = try #require(r.state, "\(r.diagnostics)")
        #expect(state.services.map(\.name) == (1...7).map { "WEB-\($0)" })
        #expect(state.services.map { $0.service.id.description } == [
            "tcp/192.0.2.1:80", "tcp/192.0.2.2:80", "tcp/192.0.2.3:80", "tcp/[2001:db8::10]:80",
            "tcp/192.0.2.16:443", "tcp/192.0.2.17:443", "fwmark/9",
        ])
        #expect(state.services[4].realServers[0].server.id.port == 443)
        #expect(state.services[6].realServers[0].server.id.port == 0)
        #expect(state.services.allSatisfy { $0.realServers[0].server.weight == 5 && $0.service.scheduler == .wrr })
    }

    @Test func tunnelTypes() throws {
        let r = kaImport("""
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind TUN type gue port 6080 csum
                real_server 10.0.0.1 80 {
                }
                real_server 10.0.0.2 80 {
                    lvs_method TUN type gre csum
                }
                real_server 10.0.0.3 80 {
                    lvs_method TUN type ipip
                }
                real_server 10.0.0.4 80 {
                    lvs_method TUN type gue port 5555 remcsum
                }
                real_server 10.0.0.5 8080 {
                    lvs_method NAT
                }
            }
            """)
        let s = try #require(r.state?.services.first, "\(r.diagnostics)")
        let t = s.realServers.map(\.server.tunnel)
        #expect(t[0] == TunnelSettings(type: .gue, port: 6080, checksum: .checksum))
        #expect(t[1] == TunnelSettings(type: .gre, port: 0, checksum: .checksum))
        #expect(t[2] == TunnelSettings(type: .ipip))
        #expect(t[3] == TunnelSettings(type: .gue, port: 5555, checksum: .remoteChecksum))
        #expect(t[4] == .default)
        #expect(s.realServers.map(\.server.forwarding) == [.tunnel, .tunnel, .tunnel, .tunnel, .masquerade])
        #expect(s.realServers[4].server.id.port == 8080)
    }

    @Test func checkersMapToHealthCheckFields() throws {
        let r = kaImport("""
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind NAT
                delay_loop 10
                alpha
                virtualhost vs.example
                real_server 10.0.0.1 8080 {
                    HTTP_GET {
                        url {
                            path /health
                            digest 9B3A0C85A887A256D6939DA88AABD8CD
                            status_code 200 301-302
                        }
                        url {
                            path /second
                        }
                        connect_port 8081
                        nb_get_retry 4
                    }
                }
                real_server 10.0.0.2 8080 {
                    retry 2
                    SSL_GET {
                        url {
                            path /
                            virtualhost u.example
                        }
                        connect_ip 10.9.9.9
                    }
                }
                real_server 10.0.0.3 8080 {
                    MISC_CHECK {
                        misc_path "/usr/local/bin/check.sh 10.0.0.3 8080"
                        misc_timeout 7
                    }
                }
                real_server 10.0.0.4 8080 {
                    TCP_CHECK {
                        delay_loop 2
                        alpha no
                        delay_before_retry 0.5
                    }
                }
            }
            """)
        let s = try #require(r.state?.services.first, "\(r.diagnostics)")
        #expect(s.healthCheck == nil)
        let http = try #require(s.realServers[0].healthCheck)
        #expect(http.type == .http)
        #expect(http.path == "/health")
        #expect(http.digest == "9b3a0c85a887a256d6939da88aabd8cd")
        #expect(http.statusCodes == [200, 301, 302])
        #expect(http.port == 8081)
        #expect(http.retry == 4)
        #expect(http.delayBeforeRetry == 3)
        #expect(http.interval == 10)
        #expect(http.alpha)
        #expect(http.host == "vs.example")
        #expect(r.warnings(containing: "has 2 urls").first?.line == 8)
        #expect(r.warnings(containing: "nb_get_retry is deprecated").first?.line == 18)
        let https = try #require(s.realServers[1].healthCheck)
        #expect(https.type == .https)
        #expect(https.insecureSkipVerify)
        #expect(https.host == "u.example")
        #expect(https.retry == 2)
        #expect(https.statusCodes == Array(200...299))
        #expect(r.warnings(containing: "connect_ip 10.9.9.9").first?.line == 23)
        let misc = try #require(s.realServers[2].healthCheck)
        #expect(misc.type == .exec)
        #expect(misc.command == ["/usr/local/bin/check.sh", "10.0.0.3", "8080"])
        #expect(misc.connectTimeout == 7)
        #expect(misc.retry == 0)
        let tcp = try #require(s.realServers[3].healthCheck)
        #expect(tcp.interval == 2)
        #expect(tcp.alpha == false)
        #expect(tcp.delayBeforeRetry == 0.5)
    }

    @Test func serviceLevelKeywords() throws {
        let r = kaImport("""
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_algo mh
                mh-fallback
                mh-port
                lb_kind DR
                quorum 3
                hysteresis 1
                inhibit_on_failure
                weight 2
                retry 5
                connect_timeout 4
                delay_before_retry 2
                sorry_server 10.0.0.99 8080
                real_server 10.0.0.1 80 {
                    uthreshold 100
                    lthreshold 10
                    TCP_CHECK {
                    }
                }
                real_server 10.0.0.2 80 {
                    weight 0
                    TCP_CHECK {
                    }
                }
            }
            """)
        let s = try #require(r.state?.services.first, "\(r.diagnostics)")
        #expect(s.service.scheduler == .mh)
        #expect(s.service.flags == [.sched1, .sched2])
        #expect(s.inhibitOnFailure)
        #expect(s.realServers[0].server.weight == 2)
        #expect(s.realServers[0].server.upperThreshold == 100)
        #expect(s.realServers[0].server.lowerThreshold == 10)
        #expect(s.realServers[1].server.weight == 0)
        // quorum 3 > total weight 2: keepalived reduces it; hysteresis 1 < 2 stays.
        #expect(s.quorum == 2)
        #expect(s.hysteresis == 1)
        #expect(r.warnings(containing: "exceeds the total weight").count == 1)
        #expect(s.sorryServer == RealServer(id: RealServer.ID(address: v4("10.0.0.99"), port: 80), forwarding: .directRoute, weight: 1))
        #expect(r.warnings(containing: "sorry server 10.0.0.99 port 8080").first?.line == 14)
        let hc = try #require(s.healthCheck)
        #expect(hc.retry == 5)
        #expect(hc.connectTimeout == 4)
        #expect(hc.delayBeforeRetry == 2)
    }

    @Test func schedulerFlagBeforeLbAlgoIsIgnoredLikeKeepalived() throws {
        let r = kaImport("""
            virtual_server 192.0.2.1 80 {
                protocol TCP
                sh-port
                lb_algo sh
                lb_kind DR
                real_server 10.0.0.1 80 {
                }
            }
            """)
        #expect(r.state?.services.first?.service.flags == [])
        #expect(r.warnings(containing: "only applies to the sh scheduler").first?.line == 3)
    }

    @Test func notManagedKeywordsAreListedWithLines() throws {
        let r = kaImport("""
            global_defs {
                notification_email { a@b }
            }
            vrrp_script chk { script "/bin/true" }
            static_ipaddress {
                192.0.2.1/24 dev eth0
            }
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind DR
                ha_suspend
                quorum_up "/bin/up"
                real_server 10.0.0.1 80 {
                    notify_up /bin/up
                    lb_kind TUN
                    frobnicate 1
                }
            }
            """)
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        #expect(r.ignoredBlocks.map(\.keyword) == ["global_defs", "vrrp_script", "static_ipaddress"])
        #expect(r.ignoredBlocks.map(\.line) == [1, 4, 5])
        #expect(r.warnings(containing: "ha_suspend").first?.line == 11)
        #expect(r.warnings(containing: "quorum_up").first?.line == 12)
        #expect(r.warnings(containing: "notify_up").first?.line == 14)
        #expect(r.warnings(containing: "lb_kind is not a real_server keyword").first?.line == 15)
        #expect(r.warnings(containing: "unknown keyword 'frobnicate'").first?.line == 16)
        #expect(r.state?.services.first?.realServers.first?.server.forwarding == .directRoute)
    }

    @Test func lexerHandlesCommentsQuotesAndBracesOnOneLine() throws {
        let r = kaImport("""
            # comment
            ! another comment
            virtual_server 192.0.2.1 80 { protocol TCP ; lb_kind DR # trailing
              real_server 10.0.0.1 80 { weight 7 } }
            @other virtual_server 192.0.2.9 80 { }
            """)
        // `;` is not a separator in keepalived: "protocol TCP ; lb_kind DR" is one statement.
        #expect(r.state?.services.first?.realServers.first?.server.weight == 7)
        #expect(r.warnings(containing: "config id 'other'").first?.line == 5)
        #expect(r.warnings(containing: "uses NAT").count == 1)
    }
}
