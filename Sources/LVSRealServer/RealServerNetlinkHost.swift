import Foundation
import LVSModel
import LVSNetlink

#if canImport(Glibc)
    import Glibc
#endif

/// The real host: rtnetlink for links and addresses, /proc/sys for sysctls, in the namespace
/// the process is in (`RouteNetlink.enterNetworkNamespace` first to work on another).
public final class RealServerNetlinkHost: RealServerHost {
    private let rt: RouteNetlink

    public init() throws {
        do {
            rt = try RouteNetlink()
        } catch {
            throw RealServerError("\(error)")
        }
    }

    public func link(_ name: String) throws -> LinkInfo? { try wrap { () throws(RouteNetlinkError) in try rt.link(named: name) } }
    public func setLink(_ link: LinkInfo, up: Bool) throws {
        try wrap { () throws(RouteNetlinkError) in try rt.setLink(index: link.index, up: up) }
    }
    public func addresses() throws -> [InterfaceAddress] { try wrap { () throws(RouteNetlinkError) in try rt.addresses() } }
    public func addAddress(_ address: IPAddress, prefixLength: UInt8, link: LinkInfo) throws {
        try wrap { () throws(RouteNetlinkError) in try rt.addAddress(address, prefixLength: prefixLength, interfaceIndex: link.index) }
    }
    public func deleteAddress(_ address: IPAddress, prefixLength: UInt8, link: LinkInfo) throws {
        try wrap { () throws(RouteNetlinkError) in try rt.deleteAddress(address, prefixLength: prefixLength, interfaceIndex: link.index) }
    }

    private func wrap<T>(_ body: () throws(RouteNetlinkError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            let hint = error.errno == EPERM || error.errno == EACCES ? "; run as root (CAP_NET_ADMIN)" : ""
            throw RealServerError("\(error.message)\(hint)")
        }
    }

    public func readSysctl(_ setting: SysctlSetting) throws -> String? {
        let fd = open(setting.path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw RealServerError("cannot read \(setting.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw RealServerError("cannot read \(setting.path): \(String(cString: strerror(errno)))") }
        return String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func writeSysctl(_ setting: SysctlSetting) throws {
        let fd = open(setting.path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            let hint = e == EACCES || e == EPERM || e == EROFS ? "; run as root" : ""
            throw RealServerError("cannot set \(setting.name): \(setting.path): \(String(cString: strerror(e)))\(hint)")
        }
        defer { close(fd) }
        let bytes = Array((setting.value + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else {
            throw RealServerError("cannot set \(setting.name) to \(setting.value): \(String(cString: strerror(errno)))")
        }
    }
}
