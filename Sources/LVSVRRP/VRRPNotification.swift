import LVSModel

/// One line keepalived writes to `vrrp_notify_fifo`:
/// `INSTANCE "VI_1" MASTER 150` or `GROUP "G1" BACKUP 0`.
///
/// The states seen in the lab are MASTER, BACKUP, FAULT, STOP and, with priority-change
/// notifications on, MASTER_PRIORITY / BACKUP_PRIORITY; keepalived also knows
/// MASTER_RX_LOWER_PRI. A state lvsctl does not know is kept as `.other` rather than refused, so a
/// newer keepalived does not break the reader. Groups always report priority 0.
public struct VRRPNotification: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case instance = "INSTANCE"
        case group = "GROUP"
    }

    public enum State: Hashable, Sendable, CustomStringConvertible {
        case master, backup, fault, stop
        /// The priority changed while master / backup (`notify_priority_changes`).
        case masterPriority, backupPriority
        /// A master received an advert of lower priority (`MASTER_RX_LOWER_PRI`).
        case masterReceivedLowerPriority
        case other(String)

        public init(_ word: String) {
            switch word {
            case "MASTER": self = .master
            case "BACKUP": self = .backup
            case "FAULT": self = .fault
            case "STOP": self = .stop
            case "MASTER_PRIORITY": self = .masterPriority
            case "BACKUP_PRIORITY": self = .backupPriority
            case "MASTER_RX_LOWER_PRI": self = .masterReceivedLowerPriority
            default: self = .other(word)
            }
        }

        /// The word keepalived writes.
        public var description: String {
            switch self {
            case .master: "MASTER"
            case .backup: "BACKUP"
            case .fault: "FAULT"
            case .stop: "STOP"
            case .masterPriority: "MASTER_PRIORITY"
            case .backupPriority: "BACKUP_PRIORITY"
            case .masterReceivedLowerPriority: "MASTER_RX_LOWER_PRI"
            case .other(let w): w
            }
        }

        /// Whether this is a change of role (a transition to audit and notify), as opposed to
        /// a priority report within the same role.
        public var isTransition: Bool {
            switch self {
            case .master, .backup, .fault, .stop: true
            case .masterPriority, .backupPriority, .masterReceivedLowerPriority, .other: false
            }
        }
    }

    public var kind: Kind
    public var name: String
    public var state: State
    public var priority: Int

    public init(kind: Kind, name: String, state: State, priority: Int) {
        self.kind = kind
        self.name = name
        self.state = state
        self.priority = priority
    }

    /// The line as keepalived writes it (without the newline).
    public var description: String { "\(kind.rawValue) \"\(name)\" \(state) \(priority)" }

    /// Why a line is not a VRRP notification.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var line: String
        public var reason: String
        public var description: String { "unexpected line on the VRRP notify FIFO: '\(excerpt: line)': \(reason)" }
    }

    /// Parses one line (a trailing `\n` or `\r\n` is ignored).
    ///
    /// The name is everything between the first and the last double quote, so a name with a
    /// space survives; the state is one word of capitals, digits and `_`; the priority an
    /// integer.
    public static func parse(_ line: some StringProtocol) throws(ParseError) -> VRRPNotification {
        var text = String(line)
        while text.last == "\n" || text.last == "\r" || text.last == "\r\n" { text.removeLast() }
        func fail(_ reason: String) -> ParseError { ParseError(line: text, reason: reason) }

        guard let space = text.firstIndex(of: " ") else { throw fail("expected INSTANCE or GROUP, a quoted name, a state and a priority") }
        guard let kind = Kind(rawValue: String(text[..<space])) else {
            throw fail("'\(excerpt: text[..<space])' is neither INSTANCE nor GROUP")
        }
        let rest = text[text.index(after: space)...]
        guard rest.first == "\"", let close = rest.lastIndex(of: "\""), close > rest.startIndex else {
            throw fail("the name must be in double quotes")
        }
        let name = String(rest[rest.index(after: rest.startIndex)..<close])
        guard !name.isEmpty else { throw fail("the name is empty") }
        let words = rest[rest.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 2 else { throw fail("expected a state and a priority after the name") }
        let word = String(words[0])
        guard word.unicodeScalars.allSatisfy({ ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }) else {
            throw fail("'\(excerpt: word)' is not a state")
        }
        guard let priority = Int(words[1]), priority >= 0, priority <= 255 else {
            throw fail("'\(excerpt: words[1])' is not a priority (0-255)")
        }
        return VRRPNotification(kind: kind, name: name, state: State(word), priority: priority)
    }
}
