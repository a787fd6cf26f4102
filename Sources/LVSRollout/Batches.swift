import LVSModel

/// `--limit`: which directors of the inventory a rollout reaches.
///
/// A limit is a comma-separated list of terms, any of which selects a director: its name, a glob
/// over names (`lb-fra-*`, `d?`), or a label `key=value`. Several `--limit` options must all
/// select a director (intersection). A term that selects nothing is an error, so a typo never
/// shrinks a rollout silently.
public enum Selection {
    public static func select(_ inventory: Inventory, limits: [String]) throws(SelectionError) -> [Inventory.Director] {
        var chosen = inventory.directors
        for limit in limits {
            let terms = limit.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed }
            guard !terms.isEmpty, !terms.contains(where: \.isEmpty) else {
                throw SelectionError("--limit \(Escaped.excerpt(limit)) has an empty term; give names, globs or key=value labels separated by commas")
            }
            var picked = Set<String>()
            for term in terms {
                let hits = inventory.directors.filter { matches($0, term) }
                if hits.isEmpty {
                    throw SelectionError(
                        "--limit term \(Escaped.excerpt(term)) selects no director; the inventory has "
                            + inventory.directors.prefix(20).map(\.name).joined(separator: ", ")
                            + (inventory.directors.count > 20 ? ", …" : ""))
                }
                picked.formUnion(hits.map(\.name))
            }
            chosen = chosen.filter { picked.contains($0.name) }
        }
        if chosen.isEmpty { throw SelectionError("the --limit options together select no director") }
        return chosen
    }

    static func matches(_ d: Inventory.Director, _ term: String) -> Bool {
        if let eq = term.firstIndex(of: "=") {
            let key = String(term[..<eq]), value = String(term[term.index(after: eq)...])
            if key == "pair" { return d.pair == value }
            return d.labels[key] == value
        }
        if term.contains("*") || term.contains("?") { return glob(term, d.name) }
        return d.name == term
    }

    /// `*` any run of characters, `?` one character.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

public struct SelectionError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// `--batches 1,25%,100%`: the size of each batch, as Ansible's `serial`: a count or a
/// percentage of the selected directors (rounded down, at least 1); the last size repeats until
/// every director has had its batch.
public struct BatchSpec: Hashable, Sendable, CustomStringConvertible {
    public enum Size: Hashable, Sendable, CustomStringConvertible {
        case count(Int)
        case percent(Double)

        public var description: String {
            switch self {
            case .count(let n): "\(n)"
            case .percent(let p): p == p.rounded() ? "\(Int(p))%" : "\(p)%"
            }
        }

        /// Directors in a batch of this size, out of `total`.
        public func resolve(total: Int) -> Int {
            switch self {
            case .count(let n): return n
            case .percent(let p): return max(1, Int((Double(total) * p / 100).rounded(.down)))
            }
        }
    }

    public var sizes: [Size]

    public init(sizes: [Size]) {
        precondition(!sizes.isEmpty)
        self.sizes = sizes
    }

    /// One director after another.
    public static let serial = BatchSpec(sizes: [.count(1)])

    public var description: String { sizes.map(\.description).joined(separator: ",") }

    public static func parse(_ text: String) throws(SelectionError) -> BatchSpec {
        var sizes: [Size] = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = String(raw).trimmed
            if item.hasSuffix("%"), let p = Double(item.dropLast()), p > 0, p <= 100, p.isFinite {
                sizes.append(.percent(p))
            } else if let n = Int(item), n >= 1 {
                sizes.append(.count(n))
            } else {
                throw SelectionError(
                    "--batches \(Escaped.excerpt(text)): \(Escaped.excerpt(item)) is neither a count (1 or more) nor a percentage (above 0% up to 100%); "
                        + "give a list such as 1,25%,100%")
            }
        }
        return BatchSpec(sizes: sizes)
    }
}

/// The order and batches of a rollout: pair-aware.
///
/// What must stay true: within a pair the backup is changed (and verified) before the master,
/// and the two members of a pair are never in one batch. A member whose role is unknown keeps
/// its inventory place relative to its partner.
public enum BatchPlanner {
    /// The directors in rollout order: inventory order, except that the members of each pair
    /// take the pair's places backup first (`roles`: as ``PairRoles/resolve(status:declared:)``
    /// decided; a director missing from it is ordered by that rule without a live status).
    public static func order(_ directors: [Inventory.Director], roles: [String: PairRole]) -> [Inventory.Director] {
        var slots: [String: [Int]] = [:]
        for (i, d) in directors.enumerated() { if let p = d.pair { slots[p, default: []].append(i) } }
        var out = directors
        for (_, indices) in slots where indices.count > 1 {
            let members = indices.map { directors[$0] }
            func rank(_ d: Inventory.Director) -> Int {
                switch roles[d.name] ?? PairRoles.resolve(status: nil, declared: d.role).role {
                case .backup?: 0
                case nil: 1
                case .master?: 2
                }
            }
            // Stable: equal ranks keep inventory order.
            let sorted = members.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
            for (slot, d) in zip(indices, sorted) { out[slot] = d }
        }
        return out
    }

    /// Splits ordered directors into batches of the spec's sizes, never putting two members of
    /// one pair in a batch: a member whose partner is already in the batch waits for the next one,
    /// and the next director in order takes its place (so each batch keeps its size when it can).
    public static func batches(_ ordered: [Inventory.Director], spec: BatchSpec) -> [[Inventory.Director]] {
        var queue = ordered
        var out: [[Inventory.Director]] = []
        var k = 0
        while !queue.isEmpty {
            let size = spec.sizes[min(k, spec.sizes.count - 1)].resolve(total: ordered.count)
            var batch: [Inventory.Director] = []
            var pairs = Set<String>()
            var rest: [Inventory.Director] = []
            for d in queue {
                if batch.count < size, d.pair.map({ !pairs.contains($0) }) ?? true {
                    batch.append(d)
                    if let p = d.pair { pairs.insert(p) }
                } else {
                    rest.append(d)
                }
            }
            out.append(batch)
            queue = rest
            k += 1
        }
        return out
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
