import Foundation
import LVSModel
import LVSPlan

/// The JSON text of a change's before/after value for an audit row: the same text as
/// `JSONEncoder` with sorted keys, written directly for the two values an apply writes by the
/// hundred thousand (services and real servers). Encoding them through `Codable` cost about as
/// much as everything else in an apply of a large table.
///
/// Self-checking: the first value of each kind is also encoded by `JSONEncoder`; if the texts
/// ever differ (a model field added without updating this type), this writer turns itself off
/// and `JSONEncoder` writes every row, so the stored text never changes.
final class AuditJSON {
    private let encoder: JSONEncoder
    private var serviceChecked = false
    private var realServerChecked = false
    private var fastPath = true

    init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    func text(_ value: Change.Value?) -> String? {
        guard let value else { return nil }
        if fastPath, let fast = Self.fastText(value) {
            switch value {
            case .service where !serviceChecked:
                serviceChecked = true
                if fast != slowText(value) { fastPath = false }
            case .realServer where !realServerChecked:
                realServerChecked = true
                if fast != slowText(value) { fastPath = false }
            default:
                break
            }
            if fastPath { return fast }
        }
        return slowText(value)
    }

    private func slowText(_ value: Change.Value) -> String? {
        guard let data = try? encoder.encode(value) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// nil when the value needs the general encoder (other kinds, fwmark services, strings that
    /// would need escaping).
    static func fastText(_ value: Change.Value) -> String? {
        switch value {
        case .service(let s):
            guard case .address(let p, let a, let port) = s.id else { return nil }
            let address = a.description
            guard plain(address), plain(p.rawValue), plain(s.scheduler.rawValue) else { return nil }
            var out = "{\"service\":{\"flags\":\(s.flags.rawValue),\"id\":{\"address\":{\"_0\":\"\(p.rawValue)\",\"_1\":\"\(address)\",\"port\":\(port)}},\"netmask\":\(s.netmask),"
            if let pe = s.persistenceEngine {
                guard plain(pe) else { return nil }
                out += "\"persistenceEngine\":\"\(pe)\","
            }
            out += "\"scheduler\":\"\(s.scheduler.rawValue)\",\"timeout\":\(s.timeout)}}"
            return out
        case .realServer(let r):
            let address = r.id.address.description
            guard plain(address) else { return nil }
            return "{\"realServer\":{\"forwarding\":\(r.forwarding.rawValue),\"id\":{\"address\":\"\(address)\",\"port\":\(r.id.port)},"
                + "\"lowerThreshold\":\(r.lowerThreshold),\"tunnel\":{\"checksum\":\(r.tunnel.checksum.rawValue),\"port\":\(r.tunnel.port),\"type\":\(r.tunnel.type.rawValue)},"
                + "\"upperThreshold\":\(r.upperThreshold),\"weight\":\(r.weight)}}"
        default:
            return nil
        }
    }

    /// Letters, digits, `.`, `:`, `-`, `_`: text `JSONEncoder` writes as it is.
    private static func plain(_ s: String) -> Bool {
        s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
        }
    }
}
