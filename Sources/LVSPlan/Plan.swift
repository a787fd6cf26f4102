public import LVSModel

/// The changes that move the live table to the desired state, and what the caller must know
/// around them: the table they were computed against, guard refusals, drains and ownership.
///
/// A plan is a value: it can be saved as JSON (`formatVersion`), shown, and applied later; the
/// applier refuses it if the live table no longer has `baseFingerprint`.
///
/// Its JSON (`Plan+Codable.swift`) is the `plan` machine format: bump `currentFormatVersion`
/// with any change of its shape (the golden files in `Tests/LVSCommandsTests/Golden` fail
/// until the version changes).
public struct Plan: Hashable, Sendable {
    /// The version of this JSON format. 2: explicit keys, identities as strings, enumerations
    /// as strings, RFC 3339 times, typed reasons.
    public static let currentFormatVersion = 2

    public var formatVersion: Int
    /// `LiveTable.fingerprint` of the table the plan was computed against.
    public var baseFingerprint: String
    /// The time the plan was computed for (seconds since the epoch), as passed in.
    public var computedAt: Double
    /// The kernel writes, in the order they must run.
    public var changes: [Change]
    /// Live services owned by nobody (created by ipvsadm, keepalived…): listed, never touched.
    public var foreign: [VirtualService.ID]
    /// Draining real servers that still have connections.
    public var pendingDrains: [PendingDrain]
    /// Guard refusals; a plan with violations must not be applied.
    public var violations: [GuardViolation]
    /// Drains this plan starts; persist them once the plan is applied.
    public var drainsToStart: [DrainState]
    /// Drain records to remove once the plan is applied: drains that finish (the server is
    /// deleted), are cancelled (the server is back in the manifest) or are stale.
    public var drainsToFinish: [ServiceRealServerKey]
    /// Services that become owned by a manifest once the plan is applied (created or adopted).
    public var claims: [Claim]
    /// Services whose ownership ends once the plan is applied (deleted, or already gone).
    public var releases: [VirtualService.ID]

    public init(
        baseFingerprint: String, computedAt: Double, changes: [Change] = [], foreign: [VirtualService.ID] = [],
        pendingDrains: [PendingDrain] = [], violations: [GuardViolation] = [], drainsToStart: [DrainState] = [],
        drainsToFinish: [ServiceRealServerKey] = [], claims: [Claim] = [], releases: [VirtualService.ID] = []
    ) {
        self.formatVersion = Plan.currentFormatVersion
        self.baseFingerprint = baseFingerprint
        self.computedAt = computedAt
        self.changes = changes
        self.foreign = foreign
        self.pendingDrains = pendingDrains
        self.violations = violations
        self.drainsToStart = drainsToStart
        self.drainsToFinish = drainsToFinish
        self.claims = claims
        self.releases = releases
    }

    /// No kernel writes. (Bookkeeping such as a stale drain record may still be pending.)
    public var isEmpty: Bool { changes.isEmpty }

    /// Whether the store needs updating even if there is nothing to write to the kernel: a drain
    /// started on a server already at weight 0, a cancelled or stale drain record, a stale owner.
    public var hasBookkeeping: Bool {
        !drainsToStart.isEmpty || !drainsToFinish.isEmpty || !claims.isEmpty || !releases.isEmpty
    }

    /// Whether the plan may be applied: no guard refused it.
    public var isApplyable: Bool { violations.isEmpty }

    /// The ownership map after this plan is applied.
    public func owners(after current: [VirtualService.ID: String]) -> [VirtualService.ID: String] {
        var o = current
        for id in releases { o[id] = nil }
        for c in claims { o[c.service] = c.manifest }
        return o
    }

    /// The drain records after this plan is applied.
    public func drains(after current: [DrainState]) -> [DrainState] {
        let finished = Set(drainsToFinish)
        var out = current.filter { !finished.contains($0.key) }
        let started = Set(drainsToStart.map(\.key))
        out.removeAll { started.contains($0.key) }
        out += drainsToStart
        return out.sorted { $0.key < $1.key }
    }

    /// Change counts by symbol: (add, change, remove).
    public var counts: (add: Int, change: Int, remove: Int) {
        var a = 0, c = 0, r = 0
        for ch in changes {
            switch ch.action.symbol {
            case "+": a += 1
            case "-": r += 1
            default: c += 1
            }
        }
        return (a, c, r)
    }
}

/// A service a manifest takes ownership of.
public struct Claim: Hashable, Sendable {
    public var service: VirtualService.ID
    public var manifest: String
    public init(service: VirtualService.ID, manifest: String) {
        self.service = service
        self.manifest = manifest
    }
}

/// A draining real server that still has connections.
public struct PendingDrain: Hashable, Sendable {
    public var service: VirtualService.ID
    public var realServer: RealServer.ID
    public var manifest: String
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    /// Seconds since the epoch.
    public var startedAt: Double
    /// Seconds since the epoch; the server is deleted at the first plan after it.
    public var deadline: Double

    public init(
        service: VirtualService.ID, realServer: RealServer.ID, manifest: String, activeConnections: UInt32,
        inactiveConnections: UInt32, startedAt: Double, deadline: Double
    ) {
        self.service = service
        self.realServer = realServer
        self.manifest = manifest
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.startedAt = startedAt
        self.deadline = deadline
    }
}

/// A guard's refusal: the plan would do something dangerous that was not explicitly allowed.
public struct GuardViolation: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Too many real servers of one service removed or drained at once (`--allow-removal`).
        case removalFraction
        /// A whole service deleted (`--allow-delete`).
        case serviceDeletion
        /// A manifest declares a live service nobody owns (`--take-over` takes it over as declared; `lvsctl adopt` copies it as it is).
        case foreignService
        /// A manifest declares a service another manifest owns, or two manifests declare it.
        case ownershipConflict
        /// Two manifests in scope declare different kernel-wide settings.
        case settingsConflict
    }

    public var kind: Kind
    public var service: VirtualService.ID?
    public var manifest: String
    /// What would happen and how to allow it.
    public var message: String

    public init(kind: Kind, service: VirtualService.ID?, manifest: String, message: String) {
        self.kind = kind
        self.service = service
        self.manifest = manifest
        self.message = message
    }

    /// `web: tcp/10.0.0.100:80: would remove 3 of 4 real servers (75% > 50%); pass --allow-removal`.
    public var description: String {
        "\(manifest): " + (service.map { "\($0): " } ?? "") + message
    }
}
