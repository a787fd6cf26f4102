import LVSVRRP
import Testing

/// Dumps keepalived 2.2.7 wrote on SIGJSON, captured on this project's build host (keepalived -P in
/// a network namespace with the sync group VI_1 + VI_2, alone, so master; then with 1 in the
/// maintenance track file of VI_1, so both in FAULT), as written (final newline aside).
private let masterDump = #"""
[{"data":{"iname":"VI_1","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transition":1796619942.395246,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":51,"base_priority":150,"effective_priority":150,"vipset":true,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":false,"preempt_delay":0,"state":2,"wantstate":2,"version":2,"smtp_alert":false,"notify_deleted":false,"vips":["10.77.0.100\/24 dev eth0 scope global set"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":5,"become_master":1,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}},{"data":{"iname":"VI_2","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transition":1796619942.388990,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":52,"base_priority":150,"effective_priority":150,"vipset":true,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":false,"preempt_delay":0,"state":2,"wantstate":2,"version":2,"smtp_alert":false,"notify_deleted":false,"vips":["10.77.0.101\/24 dev eth0 scope global set"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":5,"become_master":1,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}]
"""#

private let faultDump = #"""
[{"data":{"iname":"VI_1","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transition":1796619950.662865,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":51,"base_priority":150,"effective_priority":150,"vipset":false,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":false,"preempt_delay":0,"state":3,"wantstate":3,"version":2,"smtp_alert":false,"notify_deleted":false,"vips":["10.77.0.100\/24 dev eth0 scope global"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":11,"become_master":1,"release_master":1,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":1}},{"data":{"iname":"VI_2","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transition":1796619950.682327,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":52,"base_priority":150,"effective_priority":150,"vipset":false,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":false,"preempt_delay":0,"state":3,"wantstate":3,"version":2,"smtp_alert":false,"notify_deleted":false,"vips":["10.77.0.101\/24 dev eth0 scope global"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":10,"become_master":1,"release_master":1,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}]
"""#

@Suite("keepalived JSON state dump")
struct KeepalivedStateDumpTests {
    @Test func masterAndFaultAsKeepalivedWroteThem() throws {
        let master = try KeepalivedStateDump.parse(Array(masterDump.utf8))
        #expect(master == [
            .init(name: "VI_1", state: .master, priority: 150, addresses: ["10.77.0.100/24 dev eth0 scope global set"]),
            .init(name: "VI_2", state: .master, priority: 150, addresses: ["10.77.0.101/24 dev eth0 scope global set"]),
        ])
        let fault = try KeepalivedStateDump.parse(Array(faultDump.utf8))
        #expect(fault.map(\.state) == [.fault, .fault])
    }

    @Test func statesAndBadInput() {
        #expect(KeepalivedStateDump.state(1) == .backup && KeepalivedStateDump.state(98) == .stop)
        #expect(KeepalivedStateDump.state(0) == .other("INIT"))
        for bad in ["", "{}", #"[{"data": {"state": 2}}]"#, #"[{"data": {"iname": "VI_1", "state": "MASTER"}}]"#] {
            #expect(throws: KeepalivedStateDump.ParseError.self) { try KeepalivedStateDump.parse(Array(bad.utf8)) }
        }
    }
}
