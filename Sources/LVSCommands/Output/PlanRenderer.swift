import LVSModel
import LVSPlan

/// Renders a plan for people: one line per kernel write with `+` / `~` / `-`, grouped the way it
/// will run, followed by pending drains, foreign services, guard refusals and a summary line.
struct PlanRenderer {
    var plan: Plan

    /// The whole text.
    func render() -> String {
        var text = ""
        render { text += $0 }
        return text
    }

    /// Prints the text to standard output as it is rendered: a plan of 100,000 writes is tens of
    /// megabytes of text, which need not be in memory at once.
    func print() {
        render { Swift.print($0, terminator: "") }
    }

    /// Renders the text in pieces of about 64 KiB, handed to `write` in order.
    func render(_ write: (String) -> Void) {
        var out = ""
        out.reserveCapacity(Self.pieceBytes + 1024)
        func flushIfLong() {
            if out.utf8.count >= Self.pieceBytes {
                write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        defer { if !out.isEmpty { write(out) } }
        let takenOver = plan.takenOver
        if plan.changes.isEmpty && !plan.violations.isEmpty {
            // Not "no changes": the manifest is not applied, and the refusals below say why.
            out += "Nothing can be applied: the plan is refused (see below).\n"
        } else if plan.changes.isEmpty {
            out += "No changes. The IPVS table matches the manifest.\n"
        } else {
            out += "lvsctl will make these changes, in this order (+ create, ~ edit in place, - remove):\n\n"
            for c in plan.changes {
                out += "  \(c.action.symbol) \(c.subject)"
                out += ": "
                out += c.reasonText
                out += "\n"
                let origin = c.path.isEmpty ? c.manifest : "\(c.manifest): \(c.path)"
                out += "      from \(origin)\n"
                flushIfLong()
            }
            out += "\n"
        }
        for d in plan.pendingDrains {
            out += "  draining \(d.realServer) of \(d.service): \(d.activeConnections) active, "
                + "\(d.inactiveConnections) inactive connections; deleted when they reach 0 or at the deadline\n"
        }
        if !takenOver.isEmpty {
            out += "Taken over (created outside lvsctl; owned by the manifest from this apply on; only the changes above touch them):\n"
            for id in takenOver { out += "  \(id)\n" }
        }
        if !plan.foreign.isEmpty {
            out += "Foreign services (created outside lvsctl; left alone; `--take-over` takes over those the manifest declares):\n"
            for id in plan.foreign { out += "  \(id)\n" }
        }
        if !plan.violations.isEmpty {
            out += "Refused by the safety guards (nothing will be applied):\n"
            for v in plan.violations { out += "  ! \(v.message)\n" }
        }
        let c = plan.counts
        if !plan.changes.isEmpty {
            let files = plan.changes.count { $0.action.isFileWrite }
            let writes = plan.changes.count - files
            let fileNote = files == 0 ? "" : ", \(files) file" + (files == 1 ? "" : "s")
            out += "Plan: \(c.add) to add, \(c.change) to change, \(c.remove) to remove "
                + "(\(writes) kernel write\(writes == 1 ? "" : "s")\(fileNote)).\n"
        }
    }

    private static let pieceBytes = 64 * 1024
}

extension Plan {
    /// Services the plan claims that exist already (`--take-over` of foreign services), as
    /// opposed to claims of the services it creates.
    var takenOver: [VirtualService.ID] {
        let created = Set(changes.filter { $0.action == .createService }.compactMap(\.service))
        return claims.map(\.service).filter { !created.contains($0) }
    }
}
