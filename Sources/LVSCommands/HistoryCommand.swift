import ArgumentParser
import Foundation
import LVSModel
import LVSStore

extension LVSCommand {
    /// `lvsctl history`: the audit of every kernel change lvsctl made.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show the audit history of kernel changes (newest first).")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only changes made for this manifest.")
        var manifest: String?

        @Option(help: ArgumentHelp("Only changes to this service (tcp/10.0.0.1:80, fwmark/7).", valueName: "service"))
        var service: String?

        @Option(help: ArgumentHelp("Only changes to this real server (10.0.0.11:80).", valueName: "address:port"))
        var realServer: String?

        @Option(help: ArgumentHelp("Only changes since this time (ISO 8601, or 30m, 2h, 7d ago).", valueName: "time"))
        var since: String?

        @Option(help: ArgumentHelp("Only changes before this time (ISO 8601, or 30m, 2h, 7d ago).", valueName: "time"))
        var until: String?

        @Option(help: "At most this many rows.")
        var limit: Int = 100

        @Flag(help: "Oldest first.")
        var reverse = false

        func run() throws {
            try guarded {
                var filter = AuditFilter()
                filter.manifest = manifest
                if let service {
                    guard let id = VirtualService.ID(service) else {
                        throw CLIError("--service \(service): not a service identity; use e.g. tcp/10.0.0.1:80 or fwmark/7")
                    }
                    filter.service = id
                }
                if let realServer {
                    guard let id = RealServer.ID(realServer) else {
                        throw CLIError("--real-server \(realServer): not address:port; use e.g. 10.0.0.11:80 or [2001:db8::1]:80")
                    }
                    filter.realServer = id
                }
                filter.since = try since.map { try parseTime($0, option: "--since") }
                filter.until = try until.map { try parseTime($0, option: "--until") }
                filter.limit = limit
                filter.order = reverse ? .oldestFirst : .newestFirst
                let rows = try global.openStore().audit(filter)
                switch global.output {
                case .text:
                    if rows.isEmpty { print("No audit rows."); return }
                    print("TIME                  RUN  ORIGIN     ACTION               OBJECT                                   RESULT   DETAIL")
                    for r in rows {
                        let object = [r.service.map { "\($0)" }, r.realServer.map { "\($0)" }]
                            .compactMap { $0 }.joined(separator: " ")
                        let detail = r.kernelError ?? Self.delta(before: r.before, after: r.after)
                        print([
                            pad(r.at.iso8601, 21), pad(String(r.runID), 4), pad(r.origin.rawValue, 10),
                            pad(r.action, 20), pad(object.isEmpty ? "(global)" : object, 40),
                            pad(r.result.rawValue, 8), detail,
                        ].joined(separator: " "))
                    }
                case .json:
                    try printJSON(rows.map(AuditJSON.init))
                }
            }
        }

        /// A short before → after summary of the fields that changed (weights, schedulers…).
        static func delta(before: String?, after: String?) -> String {
            func fields(_ s: String?) -> [String: String] {
                guard let s, let obj = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any],
                    let inner = obj.values.first as? [String: Any]
                else { return [:] }
                var out: [String: String] = [:]
                for (k, v) in inner where !(v is [String: Any]) && !(v is [Any]) { out[k] = "\(v)" }
                return out
            }
            let b = fields(before), a = fields(after)
            if b.isEmpty && a.isEmpty { return "" }
            if b.isEmpty { return "new" }
            if a.isEmpty { return "removed" }
            let changed = a.keys.sorted().filter { b[$0] != a[$0] }.map { "\($0) \(b[$0] ?? "-") → \(a[$0] ?? "-")" }
            return changed.joined(separator: ", ")
        }
    }
}

struct AuditJSON: Encodable {
    var id: Int64?
    var run: Int64
    var revision: Int64?
    var manifest: String
    var at: Date
    var action: String
    var service: String?
    var realServer: String?
    var before: String?
    var after: String?
    var result: String
    var errno: Int32?
    var kernelError: String?
    var durationMicroseconds: Int64
    var origin: String
    init(_ e: AuditEntry) {
        id = e.id
        run = e.runID
        revision = e.revisionID
        manifest = e.manifest
        at = e.at
        action = e.action
        service = e.service.map { "\($0)" }
        realServer = e.realServer.map { "\($0)" }
        before = e.before
        after = e.after
        result = e.result.rawValue
        errno = e.errno
        kernelError = e.kernelError
        durationMicroseconds = e.durationMicroseconds
        origin = e.origin.rawValue
    }
}

/// `2026-11-25T10:00:00Z`, or a duration ago: `30s`, `15m`, `2h`, `7d`.
func parseTime(_ text: String, option: String, now: Date = Date()) throws -> Date {
    if let d = ISO8601DateFormatter().date(from: text) { return d }
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    if let unit = text.last, let factor = units[unit], let n = Double(text.dropLast()), n >= 0 {
        return now.addingTimeInterval(-n * factor)
    }
    throw CLIError("\(option) \(text): not a time; use ISO 8601 (2026-11-25T10:00:00Z) or a duration ago (30m, 2h, 7d)")
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}
