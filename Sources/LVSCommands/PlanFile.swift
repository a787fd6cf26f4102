import LVSPlan

/// What `lvsctl plan --out` saves and `lvsctl apply --plan` applies: the plan and the manifests it
/// was computed from (so that applying it records the same revisions).
struct PlanFile: Codable {
    struct ManifestDocument: Codable {
        var name: String
        /// The canonical JSON the revision stores.
        var content: String
        var sourcePath: String?
    }

    var formatVersion = 1
    var plan: Plan
    var manifests: [ManifestDocument]
}
