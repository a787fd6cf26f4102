import FoundationEssentials
import LVSModel

/// What the running kernel can offer a manifest: which schedulers and persistence engines are
/// loaded, built in, or installed as loadable modules.
///
/// `nil` sets mean "unknown": validation skips the check (that is how `lvsctl validate` runs
/// offline). The kernel loads `ip_vs_<name>` on demand when a service asks for it, so "installed"
/// counts as available.
public struct KernelCapabilities: Hashable, Sendable {
    public var availableSchedulers: Set<Scheduler>?
    /// Persistence engine names (`sip` for module `ip_vs_pe_sip`).
    public var availablePersistenceEngines: Set<String>?

    public init(availableSchedulers: Set<Scheduler>? = nil, availablePersistenceEngines: Set<String>? = nil) {
        self.availableSchedulers = availableSchedulers
        self.availablePersistenceEngines = availablePersistenceEngines
    }

    /// Probes the running kernel: `/sys/module/ip_vs_<name>` (loaded or built in),
    /// `/lib/modules/$(uname -r)/modules.builtin`, and the `ip_vs_<name>.ko*` files under
    /// `/lib/modules/$(uname -r)` (installed).
    public static func probe() -> KernelCapabilities {
        probe(root: "/", release: nil)
    }

    /// Probes a file tree laid out like `/` (for tests); `release` defaults to the one in
    /// `<root>/proc/sys/kernel/osrelease`. Returns unknown (nil) sets when neither `sys/module`
    /// nor the release's module directory can be read.
    public static func probe(root: String, release: String?) -> KernelCapabilities {
        let fm = FileManager.default
        let base = root.hasSuffix("/") ? root : root + "/"
        let release = release ?? readText(base + "proc/sys/kernel/osrelease")
            .map { String($0.filter { !$0.isWhitespace }) }
        var modules = Set<String>()
        var known = false

        if let loaded = try? fm.contentsOfDirectory(atPath: base + "sys/module") {
            known = true
            modules.formUnion(loaded.filter { $0.hasPrefix("ip_vs") })
        }
        if let release, !release.isEmpty, !release.contains("/") {
            let dir = base + "lib/modules/" + release
            var isDir = false
            if fm.fileExists(atPath: dir, isDirectory: &isDir), isDir {
                known = true
                var listed = false
                for list in ["modules.builtin", "modules.dep"] {
                    guard let text = readText(dir + "/" + list) else { continue }
                    listed = true
                    for line in text.split(separator: "\n") {
                        let path = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                        if let name = moduleName(path) { modules.insert(name) }
                    }
                }
                if !listed, let files = try? fm.subpathsOfDirectory(atPath: dir) {
                    for f in files { if let name = moduleName(f) { modules.insert(name) } }
                }
            }
        }
        guard known else { return KernelCapabilities() }
        let schedulers = Set(Scheduler.known.filter { modules.contains($0.moduleName) })
        let engines: Set<String> = modules.contains("ip_vs_pe_sip") ? ["sip"] : []
        return KernelCapabilities(availableSchedulers: schedulers, availablePersistenceEngines: engines)
    }

    /// `kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz` → `ip_vs_rr`; nil for anything not IPVS.
    static func moduleName(_ path: String) -> String? {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard file.hasPrefix("ip_vs"), let dot = file.firstIndex(of: ".") else { return nil }
        let ext = file[dot...]
        guard [".ko", ".ko.xz", ".ko.zst", ".ko.gz"].contains(String(ext)) else { return nil }
        // Module names use '_' but files may use '-'.
        return String(file[..<dot].map { $0 == "-" ? "_" : $0 })
    }

    private static func readText(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
