import Foundation
import LVSTestSupport
import Testing

/// keepalived as the reference implementation: the same keepalived.conf run by keepalived itself
/// (checkers only, `-C`) and by `lvsctl import keepalived` + `lvsctl apply` must give identical
/// `ipvsadm -Sn` output once every real server is healthy.
@Suite(.serialized) struct KeepalivedReferenceTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        /// A fixture under Tests/LVSInteropTests/Fixtures, or inline text.
        var fixture: String?
        var text: String?
        /// Subnets of the real servers, routed to the namespace that serves the health checks.
        var subnets: [String]
        /// Real-server addresses that must answer the checks.
        var addresses: [String]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "seed two-VIP DR director", fixture: "seed-two-vip-dr.conf",
             subnets: ["10.65.32.0/23", "110.65.32.0/24"],
             addresses: ["10.65.32.13", "10.65.32.14", "10.65.32.22", "110.65.32.23"]),
        Case(name: "seed mixed DR + TUN", fixture: "seed-mixed-dr-tun.conf",
             subnets: ["10.10.36.0/24"], addresses: ["10.10.36.4", "10.10.36.7"]),
        Case(name: "NAT with persistence, UDP ops, fwmark sh", text: """
            ! NAT port mapping with persistence and thresholds, a UDP one-packet service, a fwmark service
            virtual_server 192.168.50.10 80 {
                delay_loop 3
                lb_algo wrr
                lb_kind NAT
                protocol TCP
                persistence_timeout 600
                persistence_granularity 255.255.255.0
                real_server 10.77.0.11 8080 {
                    weight 3
                    uthreshold 100
                    lthreshold 10
                    TCP_CHECK {
                        connect_timeout 2
                    }
                }
                real_server 10.77.0.12 8080 {
                    weight 1
                    HTTP_GET {
                        url {
                            path /
                            status_code 200
                        }
                        connect_timeout 2
                    }
                }
            }
            virtual_server 192.168.50.10 53 {
                lb_algo rr
                lb_kind NAT
                protocol UDP
                ops
                real_server 10.77.0.11 53 {
                    weight 1
                }
            }
            virtual_server fwmark 7 {
                lb_algo sh
                sh-port
                sh-fallback
                lb_kind DR
                protocol TCP
                real_server 10.77.0.13 0 {
                    weight 2
                }
            }
            """, subnets: ["10.77.0.0/24"], addresses: ["10.77.0.11", "10.77.0.12", "10.77.0.13"]),
    ]

    @Test(arguments: cases) func keepalivedAndLvsctlProgramTheSameTable(_ c: Case) throws {
        let cli = try CLIRunner(fakeKernel: false)
        let conf: String
        if let fixture = c.fixture {
            conf = CLIRunner.packageRoot.appendingPathComponent("Tests/LVSInteropTests/Fixtures/\(fixture)").path
        } else {
            conf = try cli.write("keepalived.conf", c.text ?? "")
        }

        // lvsctl's side: import, apply into a fresh namespace.
        let lv = try NetworkNamespace(prefix: "lvka")
        defer { lv.close() }
        let manifest = cli.directory.appendingPathComponent("imported.json").path
        let imported = try cli.run(["import", "keepalived", conf, "--name", "imported", "--out", manifest])
        #expect(imported.status == 0, "\(imported)")
        let applied = try cli.run(["apply", "-f", manifest, "--netns", lv.name])
        #expect(applied.status == 0, "\(applied)")
        let expected = try lv.ipvsadmSave()
        #expect(!expected.isEmpty)

        // keepalived's side: its own namespace, real servers answering in a second one.
        let (live, log) = try KeepalivedLab.table(
            conf: conf, subnets: c.subnets, addresses: c.addresses, expected: expected, scratch: cli.directory.path)
        #expect(live == expected, "keepalived:\n\(live)\nlvsctl:\n\(expected)\nkeepalived log:\n\(log.suffix(3000))")
    }
}
