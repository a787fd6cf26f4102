import LVSModel
import LVSPlan

/// What a rollout did, director by director: the model of the `rollout` machine format
/// (`RolloutDocument` in LVSCommands writes it) and of the text report.
public struct RolloutReport: Sendable {
    public enum Mode: String, Sendable { case plan, apply }

    public enum Outcome: String, Sendable {
        /// apply: every selected director converged. plan: nothing to do anywhere.
        case converged
        /// plan: changes pending on some director.
        case changesPending
        /// A director failed (apply, gate, preflight or rollback); see `stop`.
        case failed
        /// SIGINT or SIGTERM: the directors in progress were finished, the rest not started.
        case interrupted
        /// A saved plan no longer matches a director (nothing was applied).
        case stalePlan
    }

    public var id: String
    public var mode: Mode
    public var manifest: String
    /// sha256 of the manifest's canonical form.
    public var manifestDigest: String
    public var inventory: String
    public var author: String
    public var startedAt: Double
    public var finishedAt: Double
    /// `--batches` as given (apply).
    public var batchSpec: String?
    /// The director names of each batch, in order (apply).
    public var batches: [[String]]
    public var outcome: Outcome
    public var stop: Stop?
    public var directors: [DirectorReport]

    public init(id: String, mode: Mode, manifest: String, manifestDigest: String, inventory: String, author: String, startedAt: Double) {
        self.id = id
        self.mode = mode
        self.manifest = manifest
        self.manifestDigest = manifestDigest
        self.inventory = inventory
        self.author = author
        self.startedAt = startedAt
        finishedAt = startedAt
        batches = []
        outcome = .converged
        directors = []
    }

    /// Where and why the rollout stopped.
    public struct Stop: Hashable, Sendable {
        /// 1-based batch number.
        public var batch: Int?
        public var director: String?
        public var gate: Gate?
        public var reason: String
        public init(batch: Int? = nil, director: String? = nil, gate: Gate? = nil, reason: String) {
            self.batch = batch
            self.director = director
            self.gate = gate
            self.reason = reason
        }
    }

    /// The exit status: apply 0 only when every selected director converged; plan 0 (nothing to
    /// do), 2 (changes) or 1 (an error, refusal or unreachable director).
    public var exitStatus: Int32 {
        switch outcome {
        case .converged: 0
        case .changesPending: 2
        case .failed, .interrupted, .stalePlan: 1
        }
    }
}

public struct DirectorReport: Sendable {
    public enum State: String, Sendable {
        /// plan: changes pending.
        case changesPending
        /// Nothing to change (plan and apply).
        case upToDate
        /// Applied and every gate passed.
        case converged
        /// Apply or a gate failed and the director was not rolled back (`--no-rollback`, or it
        /// had no earlier revision).
        case failed
        /// Changed, then rolled back to its previous revision, verified by the gates.
        case rolledBack
        /// Changed, and the rollback failed or did not pass its gates.
        case rollbackFailed
        /// ssh could not reach it.
        case unreachable
        /// Its plan has guard refusals.
        case refused
        /// Its lvsctl failed, or prints formats this one does not read.
        case error
        /// The rollout stopped before its batch.
        case notStarted
    }

    public var name: String
    public var ssh: String
    public var pair: String?
    /// The role used for ordering (live VRRP role, else the inventory's).
    public var role: PairRole?
    public var roleSource: String?
    /// 1-based batch number (apply).
    public var batch: Int?
    public var state: State
    public var plan: PlanSummary?
    /// The live table's fingerprint when planned (what `rollout apply --plan` compares).
    public var tableFingerprint: String?
    /// The latest revision of the manifest before the rollout (nil: none).
    public var revisionBefore: Int?
    public var revisionAfter: Int?
    /// Kernel changes applied.
    public var applied: Int
    public var auditRows: Int
    public var gates: [GateResult]
    public var rollback: RollbackReport?
    public var error: String?
    public var seconds: Double

    public init(_ d: Inventory.Director, state: State) {
        name = d.name
        ssh = d.ssh + (d.sshPort.map { ":\($0)" } ?? "")
        pair = d.pair
        self.state = state
        applied = 0
        auditRows = 0
        gates = []
        seconds = 0
    }

    public var converged: Bool { state == .upToDate || state == .converged }
}

/// A plan in numbers, and its refusals.
public struct PlanSummary: Hashable, Sendable {
    public var add: Int
    public var change: Int
    public var remove: Int
    public var refusals: [String]
    /// One line per change (`~ 10.0.0.11:80 of tcp/10.0.0.100:80: weight 3 → 5`).
    public var changes: [String]

    public init(_ plan: Plan) {
        let c = plan.counts
        add = c.add
        change = c.change
        remove = c.remove
        refusals = plan.violations.map(\.description)
        changes = plan.changes.map(\.summary)
    }

    public var isEmpty: Bool { add + change + remove == 0 }
    public var text: String { "+\(add) ~\(change) -\(remove)" }
}

public struct RollbackReport: Sendable {
    /// The revision rolled back to.
    public var to: Int
    /// The new revision the rollback stored.
    public var revision: Int?
    public var applied: Int
    public var gates: [GateResult]
    public var succeeded: Bool
    public var error: String?

    public init(to: Int) {
        self.to = to
        applied = 0
        gates = []
        succeeded = false
    }
}
