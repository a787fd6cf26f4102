/// The per-namespace IPVS sysctls a director pair needs (`/proc/sys/net/ipv4/vs/*`).
///
/// In a desired state a nil field means "leave it as it is"; in a live table nil means the
/// kernel has no such sysctl (an old kernel). Booleans read back from the kernel are normalised:
/// any non-zero value is `true`, so a hand-set `2` is not drift against a declared `true`.
public struct IPVSSysctls: Hashable, Sendable, Codable {
    /// `sync_threshold`: a connection is synced when its packet count reaches `threshold`, then
    /// every `period` packets (0: only on state changes). The kernel requires threshold < period
    /// unless period is 0.
    public struct SyncThreshold: Hashable, Sendable, Codable {
        public var threshold: UInt32
        public var period: UInt32
        public init(threshold: UInt32, period: UInt32) {
            self.threshold = threshold
            self.period = period
        }

        private enum CodingKeys: String, CodingKey {
            case threshold, period
        }
    }

    // Stored in plan files and audit rows: the keys are part of those formats.
    private enum CodingKeys: String, CodingKey {
        case sloppyTcp, sloppySctp, syncThreshold, syncRefreshPeriod, syncRetries, expireNodestConn
        case expireQuiescentTemplate, connReuseMode, backupOnly
    }

    /// `sloppy_tcp`: create connection entries from mid-stream TCP packets (any ACK).
    public var sloppyTcp: Bool?
    /// `sloppy_sctp`: the same for SCTP (any chunk, not only INIT).
    public var sloppySctp: Bool?
    public var syncThreshold: SyncThreshold?
    /// `sync_refresh_period`, seconds: resync a connection in the same state after this long (0 = off).
    public var syncRefreshPeriod: UInt32?
    /// `sync_retries`, 0–3: how often a sync message is resent without an answer.
    public var syncRetries: UInt32?
    /// `expire_nodest_conn`: drop connections whose real server is gone on their next packet.
    public var expireNodestConn: Bool?
    /// `expire_quiescent_template`: expire persistence templates of weight-0 real servers.
    public var expireQuiescentTemplate: Bool?
    /// `conn_reuse_mode`, a bitmap 0–3 (kernel default 1).
    public var connReuseMode: UInt32?
    /// `backup_only`: with a backup sync daemon running, do not balance (pure backup).
    public var backupOnly: Bool?

    public init(
        sloppyTcp: Bool? = nil, sloppySctp: Bool? = nil, syncThreshold: SyncThreshold? = nil,
        syncRefreshPeriod: UInt32? = nil, syncRetries: UInt32? = nil, expireNodestConn: Bool? = nil,
        expireQuiescentTemplate: Bool? = nil, connReuseMode: UInt32? = nil, backupOnly: Bool? = nil
    ) {
        self.sloppyTcp = sloppyTcp
        self.sloppySctp = sloppySctp
        self.syncThreshold = syncThreshold
        self.syncRefreshPeriod = syncRefreshPeriod
        self.syncRetries = syncRetries
        self.expireNodestConn = expireNodestConn
        self.expireQuiescentTemplate = expireQuiescentTemplate
        self.connReuseMode = connReuseMode
        self.backupOnly = backupOnly
    }

    /// The kernel's defaults (Linux 6.1, `Documentation/networking/ipvs-sysctl.rst`).
    public static let kernelDefault = IPVSSysctls(
        sloppyTcp: false, sloppySctp: false, syncThreshold: SyncThreshold(threshold: 3, period: 50),
        syncRefreshPeriod: 0, syncRetries: 0, expireNodestConn: false, expireQuiescentTemplate: false,
        connReuseMode: 1, backupOnly: false)

    /// One sysctl: its manifest name (under `settings`) and its file under `/proc/sys/net/ipv4/vs`.
    /// Cases are in manifest-name order, the order of the canonical form.
    public enum Field: String, CaseIterable, Hashable, Sendable, Codable {
        case backupOnly, connReuseMode, expireNodestConn, expireQuiescentTemplate, sloppySctp, sloppyTcp
        case syncRefreshPeriod, syncRetries, syncThreshold

        /// `sloppy_tcp`.
        public var sysctlName: String {
            switch self {
            case .backupOnly: "backup_only"
            case .connReuseMode: "conn_reuse_mode"
            case .expireNodestConn: "expire_nodest_conn"
            case .expireQuiescentTemplate: "expire_quiescent_template"
            case .sloppySctp: "sloppy_sctp"
            case .sloppyTcp: "sloppy_tcp"
            case .syncRefreshPeriod: "sync_refresh_period"
            case .syncRetries: "sync_retries"
            case .syncThreshold: "sync_threshold"
            }
        }

        public var isBoolean: Bool {
            switch self {
            case .backupOnly, .expireNodestConn, .expireQuiescentTemplate, .sloppySctp, .sloppyTcp: true
            case .connReuseMode, .syncRefreshPeriod, .syncRetries, .syncThreshold: false
            }
        }
    }

    /// The fields that are set, in `Field` order.
    public var fields: [Field] { Field.allCases.filter { text($0) != nil } }

    public var isEmpty: Bool { fields.isEmpty }

    /// The value as `/proc/sys` takes and shows it (`1`, `3 50`); nil when unset.
    public func text(_ f: Field) -> String? {
        func b(_ v: Bool?) -> String? { v.map { $0 ? "1" : "0" } }
        switch f {
        case .backupOnly: return b(backupOnly)
        case .connReuseMode: return connReuseMode.map { "\($0)" }
        case .expireNodestConn: return b(expireNodestConn)
        case .expireQuiescentTemplate: return b(expireQuiescentTemplate)
        case .sloppySctp: return b(sloppySctp)
        case .sloppyTcp: return b(sloppyTcp)
        case .syncRefreshPeriod: return syncRefreshPeriod.map { "\($0)" }
        case .syncRetries: return syncRetries.map { "\($0)" }
        case .syncThreshold: return syncThreshold.map { "\($0.threshold) \($0.period)" }
        }
    }

    /// Sets a field from the text of its `/proc/sys` file (whitespace-separated integers, as the
    /// kernel prints them); false when the text is not a value of the field.
    @discardableResult
    public mutating func set(_ f: Field, text: String) -> Bool {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        let n = words.compactMap { Int64($0) }
        guard !n.isEmpty, n.count == words.count else { return false }
        if f == .syncThreshold {
            guard n.count == 2, let t = UInt32(exactly: n[0]), let p = UInt32(exactly: n[1]) else { return false }
            syncThreshold = SyncThreshold(threshold: t, period: p)
            return true
        }
        guard n.count == 1 else { return false }
        if f.isBoolean {
            set(f, bool: n[0] != 0)
            return true
        }
        guard let v = UInt32(exactly: n[0]) else { return false }
        switch f {
        case .connReuseMode: connReuseMode = v
        case .syncRefreshPeriod: syncRefreshPeriod = v
        case .syncRetries: syncRetries = v
        default: return false
        }
        return true
    }

    private mutating func set(_ f: Field, bool v: Bool) {
        switch f {
        case .backupOnly: backupOnly = v
        case .expireNodestConn: expireNodestConn = v
        case .expireQuiescentTemplate: expireQuiescentTemplate = v
        case .sloppySctp: sloppySctp = v
        case .sloppyTcp: sloppyTcp = v
        default: break
        }
    }

    /// These values with `other`'s set fields laid over them (what the kernel holds after
    /// `other` is written).
    public func merging(_ other: IPVSSysctls) -> IPVSSysctls {
        var out = self
        for f in other.fields { if let t = other.text(f) { out.set(f, text: t) } }
        return out
    }

    /// Only the fields named.
    public func restricted(to keep: [Field]) -> IPVSSysctls {
        var out = IPVSSysctls()
        for f in keep { if let t = text(f) { out.set(f, text: t) } }
        return out
    }

    /// Why the kernel would refuse writing these values (EINVAL), or nil: `sync_retries` is
    /// limited to 0–3 and `sync_threshold` needs threshold < period unless period is 0
    /// (`proc_do_sync_threshold`). Values above INT_MAX are refused too.
    public var kernelRejection: String? {
        if let r = syncRetries, r > 3 { return "sync_retries \(r) is out of range (0-3)" }
        if let t = syncThreshold {
            if t.threshold > UInt32(Int32.max) || t.period > UInt32(Int32.max) { return "sync_threshold is out of range" }
            if t.period != 0 && t.threshold >= t.period {
                return "sync_threshold \(t.threshold) \(t.period): the threshold must be below the period (or the period 0)"
            }
        }
        if let v = connReuseMode, v > UInt32(Int32.max) { return "conn_reuse_mode \(v) is out of range" }
        // Seconds converted to jiffies: INT_MAX / HZ with Debian's HZ=250.
        if let v = syncRefreshPeriod, v > 8_589_934 { return "sync_refresh_period \(v) is out of range (0-8589934)" }
        return nil
    }
}
