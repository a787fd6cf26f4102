/// A service one manifest declares while another owns it, or while nobody does (created by
/// ipvsadm or keepalived). The one wording of these refusals: the manifest check of `apply`,
/// the planner's guard and the store's ownership write all say it this way.
public struct OwnershipConflict: Hashable, Sendable, CustomStringConvertible {
    /// `tcp/10.0.0.1:80`.
    public var service: String
    /// The manifest that owns it; nil when nobody does (a foreign service).
    public var owner: String?
    /// The manifest that declares it.
    public var claimant: String

    public init(service: VirtualService.ID, owner: String?, claimant: String) {
        self.init(service: "\(service)", owner: owner, claimant: claimant)
    }

    public init(service: String, owner: String?, claimant: String) {
        self.service = service
        self.owner = owner
        self.claimant = claimant
    }

    /// What is wrong, without the service: `is owned by manifest 'a', not by 'b'`.
    public var problem: String {
        guard let owner else {
            return "exists in the kernel but is not managed by lvsctl (created by ipvsadm or keepalived?)"
        }
        return "is owned by manifest '\(owner)', not by '\(claimant)'"
    }

    /// What to do about it.
    public var remedy: String {
        guard let owner else {
            return "take it over as manifest '\(claimant)' declares it with `lvsctl apply --take-over` (what already matches is not touched), or remove it from the manifest"
        }
        return "declare it in one manifest only: remove it from '\(claimant)', or from '\(owner)' and apply '\(owner)' first"
    }

    /// `service tcp/10.0.0.1:80 is owned by manifest 'a', not by 'b'; declare it in one manifest only: …`.
    public var description: String { "service \(service) \(problem); \(remedy)" }
}
