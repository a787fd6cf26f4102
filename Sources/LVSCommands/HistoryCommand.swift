import ArgumentParser
import Foundation
import LVSModel
import LVSReconciler
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

        @Option(help: ArgumentHelp("Only changes since this time (RFC 3339, or 30m, 2h, 7d ago).", valueName: "time"))
        var since: String?

        @Option(help: ArgumentHelp("Only changes before this time (RFC 3339, or 30m, 2h, 7d ago).", valueName: "time"))
        var until: String?

        @Option(help: "At most this many rows.")
        var limit: Int = 100

        @Flag(help: "Oldest first.")
        var reverse = false

        func validate() throws {
            try OptionRange.check(limit, "--limit", OptionRange.limit, unit: "rows")
        }

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
                let store = try global.openStore(.read)
                // A run a killed process left `running` has writes that are not history until
                // they are found in the kernel (or not): close it first, as plan and drift do.
                for note in InterruptedRuns.closeIfIdle(store: store, openKernel: { try global.openKernel() }).notes {
                    printError("lvsctl: note: \(note)")
                }
                let rows = try store.audit(filter)
                try Output.emit(HistoryDocument(entries: rows, runs: try HistoryDocument.runs(of: rows, in: store)), global.output)
            }
        }
    }
}

/// `2026-11-25T10:00:00Z` (RFC 3339), or a duration ago: `30s`, `15m`, `2h`, `7d`.
func parseTime(_ text: String, option: String, now: Date = Date()) throws -> Date {
    // RFC 3339, as every machine format writes times (with or without milliseconds).
    if let t = RFC3339.parse(text) { return Date(timeIntervalSince1970: t) }
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    if let unit = text.last, let factor = units[unit], let n = Double(text.dropLast()) {
        // 99999999999999999999d (past any Int64 of seconds) trapped later; nan and inf too.
        let seconds = try OptionRange.check(
            n * factor, option, OptionRange.durationAgo, unit: "a duration ago of seconds", written: text)
        return now.addingTimeInterval(-seconds)
    }
    throw CLIError("\(option) \(text): not a time; use RFC 3339 (2026-11-25T10:00:00Z) or a duration ago (30m, 2h, 7d)")
}
