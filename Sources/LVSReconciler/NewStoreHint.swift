public import LVSModel
public import LVSPlan
public import LVSStore

/// A store with no record of any apply, while the kernel holds services a manifest declares and
/// nobody owns: most likely the services of an earlier store (deleted, replaced, or a mistyped
/// `--db`). The planner calls them foreign, which is right for a store that knows nothing of
/// them; this says why it does, and how to take them over.
public enum NewStoreHint {
    /// The note to print, or nil when it does not apply (the store has runs, or the plan finds no
    /// foreign service the manifests declare).
    /// - Parameter storePath: where the store is (or would be, for a command that did not create it).
    public static func note(store: Store, storePath: String, plan: Plan) -> String? {
        let foreign = plan.violations.filter { $0.kind == .foreignService }
        guard !foreign.isEmpty else { return nil }
        guard let runs = try? store.runs(limit: 1), runs.isEmpty else { return nil }
        var byManifest: [String: [VirtualService.ID]] = [:]
        for v in foreign {
            if let s = v.service { byManifest[v.manifest, default: []].append(s) }
        }
        let total = byManifest.values.reduce(0) { $0 + $1.count }
        let shown = byManifest.values.flatMap { $0 }.sorted().prefix(3).map(\.description).joined(separator: ", ")
        let manifests = byManifest.keys.sorted().joined(separator: ", ")
        return "the store \(storePath) has no record of any apply (it is new), but the kernel already holds \(total) "
            + "service\(total == 1 ? "" : "s") the manifest declares, owned by nobody (\(shown)\(total > 3 ? ", …" : "")): they look like "
            + "an earlier store's (a deleted or replaced database, or another --db). If lvsctl created them, take them over "
            + "with `lvsctl apply --take-over` of manifest \(manifests) (what already matches is not touched); "
            + "if another tool (keepalived, ipvsadm) manages them, stop it first"
    }
}
