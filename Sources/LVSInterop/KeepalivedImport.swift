import LVSModel

/// The result of importing a keepalived.conf: the desired state keepalived's checker process
/// would set up, every problem found, and the blocks lvsctl does not manage.
public struct KeepalivedImport: Hashable, Sendable {
    /// A configuration block the importer did not translate (VRRP, global settings, scripts…).
    public struct IgnoredBlock: Hashable, Sendable {
        /// The keyword (`vrrp_instance`).
        public var keyword: String
        /// The block's name, if it has one (`VI_1`).
        public var name: String?
        public var file: String
        public var line: Int
        /// Why it was not imported, and what to do.
        public var reason: String

        public init(keyword: String, name: String?, file: String, line: Int, reason: String) {
            self.keyword = keyword
            self.name = name
            self.file = file
            self.line = line
            self.reason = reason
        }
    }

    /// The imported state; nil when `diagnostics` has errors (fix them and import again).
    public var state: DesiredState?
    /// Errors and warnings, each with its file and line.
    public var diagnostics: [Diagnostic]
    /// Blocks that were not imported (each also has a warning in `diagnostics`).
    public var ignoredBlocks: [IgnoredBlock]
    /// Every file read, the top file first, then included files in reading order.
    public var files: [String]
    /// The VRRP blocks as keepalived reads them, when VRRP was imported (a node was given).
    public var vrrp: KeepalivedVRRP?

    public init(
        state: DesiredState?, diagnostics: [Diagnostic], ignoredBlocks: [IgnoredBlock], files: [String],
        vrrp: KeepalivedVRRP? = nil
    ) {
        self.state = state
        self.diagnostics = diagnostics
        self.ignoredBlocks = ignoredBlocks
        self.files = files
        self.vrrp = vrrp
    }
}
