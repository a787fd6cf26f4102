import Foundation
import LVSModel
import LVSPlan

/// The JSON text of a change's before/after value for an audit row (the object format of
/// `Model+Codable.swift`, `Manifests/lvsctl-objects-v1.schema.json`): the same text as
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
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
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

    /// nil when the value needs the general encoder (other kinds, strings that would need
    /// escaping). The shape is `Model+Codable.swift`'s with sorted keys.
    static func fastText(_ value: Change.Value) -> String? {
        switch value {
        case .service(let s):
            let id = s.id.description
            guard plain(id), plain(s.scheduler.rawValue) else { return nil }
            var out = "{\"service\":{\"flags\":["
            var first = true
            for name in s.flags.codingNames {
                out += first ? "\"\(name)\"" : ",\"\(name)\""
                first = false
            }
            out += "],\"id\":\"\(id)\",\"netmask\":\(s.netmask),"
            if let pe = s.persistenceEngine {
                guard plain(pe) else { return nil }
                out += "\"persistenceEngine\":\"\(pe)\","
            }
            out += "\"scheduler\":\"\(s.scheduler.rawValue)\",\"timeout\":\(s.timeout)}}"
            return out
        case .realServer(let r):
            let id = r.id.description
            guard plain(id) else { return nil }
            return "{\"realServer\":{\"forwarding\":\"\(r.forwarding.description)\",\"id\":\"\(id)\",\"lowerThreshold\":\(r.lowerThreshold),"
                + "\"tunnel\":{\"checksum\":\"\(r.tunnel.checksum.description)\",\"port\":\(r.tunnel.port),\"type\":\"\(r.tunnel.type.description)\"},"
                + "\"upperThreshold\":\(r.upperThreshold),\"weight\":\(r.weight)}}"
        default:
            return nil
        }
    }

    /// Letters, digits, `.`, `:`, `-`, `_`, `/`, `[`, `]`: text `JSONEncoder` (without escaping
    /// slashes) writes as it is.
    private static func plain(_ s: String) -> Bool {
        s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "/") || b == UInt8(ascii: "[") || b == UInt8(ascii: "]")
        }
    }
}
