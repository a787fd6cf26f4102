import CNetlink
import LVSKernel
import LVSModel

#if canImport(Glibc)
    import Glibc
#endif

/// The files under `/proc/sys/net/ipv4/vs` of one network namespace, opened once while the
/// thread is inside it.
///
/// `/proc/sys/net` shows the namespace of the thread that looks a file up; a file opened there
/// stays bound to that namespace's value. So the files are opened in the target namespace when
/// the kernel object is made, and read and written through those descriptors afterwards from
/// any namespace. A sysctl the kernel lacks (an old kernel) has no descriptor: it reads as nil
/// and writing it fails with ENOENT.
final class SysctlFiles {
    private var descriptors: [IPVSSysctls.Field: Int32] = [:]
    /// Opened read-only (no write permission, e.g. in a user namespace): writes fail with EACCES.
    private var readOnly: Set<IPVSSysctls.Field> = []

    static let directory = "/proc/sys/net/ipv4/vs/"

    /// Opens the files in the namespace at `namespacePath`, or in the current one. Must be called
    /// after IPVS is known to be loaded there (the directory exists only then).
    init(namespacePath: String?) throws(KernelError) {
        guard let path = namespacePath else {
            openAll()
            return
        }
        try insideNetworkNamespace(path, opening: "its sysctls") { () throws(KernelError) in openAll() }
    }

    deinit { closeAll() }

    private func openAll() {
        for f in IPVSSysctls.Field.allCases {
            let path = Self.directory + f.sysctlName
            var fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
            if fd < 0 && (lvs_errno() == EACCES || lvs_errno() == EPERM) {
                fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 { readOnly.insert(f) }
            }
            if fd >= 0 { descriptors[f] = fd }
        }
    }

    private func closeAll() {
        for fd in descriptors.values { close(fd) }
        descriptors.removeAll()
    }

    /// Every sysctl the kernel has, as it shows them.
    func read() throws(KernelError) -> IPVSSysctls {
        var out = IPVSSysctls()
        for f in IPVSSysctls.Field.allCases {
            guard let fd = descriptors[f] else { continue }
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else {
                let e = lvs_errno()
                throw KernelError(.other, errno: e, message: "reading \(Self.directory)\(f.sysctlName) failed: \(String(cString: strerror(e)))")
            }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            guard out.set(f, text: text) else {
                throw KernelError(.other, message: "\(Self.directory)\(f.sysctlName) holds '\(text.trimmingSuffixNewline)', not a value lvsctl understands")
            }
        }
        return out
    }

    /// Writes the set fields in `Field` order, stopping at the first the kernel refuses; returns
    /// that one's errno (0: all written).
    func write(_ values: IPVSSysctls) -> (errno: Int32, field: IPVSSysctls.Field?) {
        for f in values.fields {
            guard let text = values.text(f) else { continue }
            guard let fd = descriptors[f] else { return (ENOENT, f) }
            if readOnly.contains(f) { return (EACCES, f) }
            let bytes = Array((text + "\n").utf8)
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { return (lvs_errno(), f) }
        }
        return (0, nil)
    }
}

extension String {
    fileprivate var trimmingSuffixNewline: String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
