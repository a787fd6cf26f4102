import CNetlink
import Glibc
import LVSKernel

/// Runs `body` on the calling thread inside the network namespace at `path`, then returns the
/// thread to the namespace it was in. What `body` opens (a netlink socket, a /proc/sys file)
/// stays bound to the target namespace after the thread leaves it.
///
/// What must stay true: the thread is back in its own namespace when this returns, or the error
/// says it could not get back (the caller must then not use the thread for anything else).
/// `what` names the thing opened, for that error.
func insideNetworkNamespace<T>(
    _ path: String, opening what: String, _ body: () throws(KernelError) -> T
) throws(KernelError) -> T {
    let original = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    guard original >= 0 else {
        let e = lvs_errno()
        throw KernelError(.other, errno: e, message: "opening /proc/thread-self/ns/net failed: \(String(cString: strerror(e)))")
    }
    defer { close(original) }
    let target = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard target >= 0 else {
        let e = lvs_errno()
        throw KernelError(.other, errno: e, message: "cannot open network namespace \(path): \(String(cString: strerror(e))); check the path (ip netns list)")
    }
    defer { close(target) }
    guard lvs_setns_net(target) == 0 else {
        let e = lvs_errno()
        throw KernelError(e == EPERM ? .permissionDenied : .other, errno: e, message: "cannot enter network namespace \(path) (setns): \(String(cString: strerror(e))); run as root")
    }
    let result = Result<T, KernelError> { () throws(KernelError) -> T in try body() }
    guard lvs_setns_net(original) == 0 else {
        let e = lvs_errno()
        throw KernelError(.other, errno: e, message: "cannot return to the original network namespace after opening \(what): \(String(cString: strerror(e)))")
    }
    return try result.get()
}
