import FoundationEssentials

/// keepalived's JSON state dump: what the VRRP process writes to `/tmp/keepalived.json` on
/// `SIGJSON` (signal 36 in 2.2.7; `keepalived --signum=JSON` prints it).
///
/// The way to learn the roles after the notify FIFO reached EOF: a reload does not report MASTER
/// instances again, and an address on an interface does not prove mastership (a SIGKILLed
/// keepalived leaves its addresses behind). The dump lists instances only, not sync groups.
/// Each entry is `{"data": {"iname": …, "state": N, "effective_priority": N, "vips": […], …},
/// "stats": {…}}`; the state numbers are keepalived's `VRRP_STATE_*` (0 INIT, 1 BACKUP,
/// 2 MASTER, 3 FAULT, 97 DELETED, 98 STOP). Other members are ignored.
public enum KeepalivedStateDump {
    /// One instance as the dump shows it.
    public struct Instance: Hashable, Sendable {
        public var name: String
        public var state: VRRPNotification.State
        /// `effective_priority` (the configured one after tracking adjustments).
        public var priority: Int
        /// `vips` as keepalived prints them: `10.0.0.100/24 dev eth0 scope global set`.
        public var addresses: [String]

        public init(name: String, state: VRRPNotification.State, priority: Int, addresses: [String]) {
            self.name = name
            self.state = state
            self.priority = priority
            self.addresses = addresses
        }
    }

    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// keepalived's `VRRP_STATE_*` number as a role.
    public static func state(_ number: Int) -> VRRPNotification.State {
        switch number {
        case 0: .other("INIT")
        case 1: .backup
        case 2: .master
        case 3: .fault
        case 97: .other("DELETED")
        case 98: .stop
        default: .other("STATE_\(number)")
        }
    }

    /// The instances in the dump, in its order.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> [Instance] {
        let entries: [Entry]
        do {
            entries = try JSONDecoder().decode([Entry].self, from: Data(bytes))
        } catch {
            throw ParseError(description: "keepalived's JSON state dump is not what lvsctl understands: \(error)")
        }
        return entries.map {
            Instance(name: $0.data.name, state: state($0.data.state), priority: $0.data.priority ?? 0, addresses: $0.data.addresses ?? [])
        }
    }

    private struct Entry: Decodable {
        var data: Fields
        private enum CodingKeys: String, CodingKey { case data }
    }

    private struct Fields: Decodable {
        var name: String
        var state: Int
        var priority: Int?
        var addresses: [String]?
        private enum CodingKeys: String, CodingKey {
            case name = "iname", state, priority = "effective_priority", addresses = "vips"
        }
    }
}
