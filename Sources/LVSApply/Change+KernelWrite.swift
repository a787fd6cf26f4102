public import LVSKernel
import LVSModel
public import LVSPlan

extension Change {
    /// The one kernel write that performs this change, with full objects on every SET.
    ///
    /// - Throws: a description of what the change lacks, for a plan that was not made by
    ///   `Planner` (a hand-edited plan file).
    public func kernelWrite() throws(ChangeProblem) -> KernelWrite {
        switch action {
        case .createService:
            guard let s = after?.service else { throw ChangeProblem("createService needs the service in 'after'") }
            return .createService(s)
        case .updateService:
            guard let s = after?.service else { throw ChangeProblem("updateService needs the service in 'after'") }
            return .updateService(s)
        case .deleteService:
            guard let id = service else { throw ChangeProblem("deleteService needs 'service'") }
            return .deleteService(id)
        case .addRealServer:
            guard let id = service, let r = after?.realServer else {
                throw ChangeProblem("addRealServer needs 'service' and the real server in 'after'")
            }
            return .addRealServer(id, r)
        case .updateRealServer, .drainRealServer:
            guard let id = service, let r = after?.realServer else {
                throw ChangeProblem("\(action.rawValue) needs 'service' and the real server in 'after'")
            }
            return .updateRealServer(id, r)
        case .deleteRealServer:
            guard let id = service, let r = realServer else {
                throw ChangeProblem("deleteRealServer needs 'service' and 'realServer'")
            }
            return .deleteRealServer(id, r)
        case .setTimeouts:
            guard let t = after?.timeouts else { throw ChangeProblem("setTimeouts needs the timeouts in 'after'") }
            return .setTimeouts(t)
        case .setSysctls:
            guard let v = after?.sysctls, !v.isEmpty else { throw ChangeProblem("setSysctls needs the sysctls in 'after'") }
            return .setSysctls(v)
        case .startSyncDaemon:
            guard let d = after?.syncDaemon else { throw ChangeProblem("startSyncDaemon needs the daemon in 'after'") }
            return .startSyncDaemon(d)
        case .stopSyncDaemon:
            guard let d = before?.syncDaemon else { throw ChangeProblem("stopSyncDaemon needs the daemon in 'before'") }
            return .stopSyncDaemon(d.state)
        case .createKeepalivedConfig, .updateKeepalivedConfig:
            throw ChangeProblem("\(action.rawValue) writes a file, not the kernel")
        }
    }

    /// The kernel writes that take this change back, from its `before` values: create → delete,
    /// update → update back, add → delete, drain → restore the weight, delete real server →
    /// re-add, delete service → re-create it with its real servers.
    public func undoWrites() throws(ChangeProblem) -> [KernelWrite] {
        switch action {
        case .createService:
            guard let id = service ?? after?.service?.id else { throw ChangeProblem("createService needs 'service'") }
            return [.deleteService(id)]
        case .updateService:
            guard let s = before?.service else { throw ChangeProblem("updateService needs the old service in 'before' to be undone") }
            return [.updateService(s)]
        case .deleteService:
            guard case .entry(let e)? = before else {
                throw ChangeProblem("deleteService needs the old service and its real servers in 'before' to be undone")
            }
            return [.createService(e.service)] + e.realServers.map { .addRealServer(e.service.id, $0) }
        case .addRealServer:
            guard let id = service, let r = realServer ?? after?.realServer?.id else {
                throw ChangeProblem("addRealServer needs 'service' and 'realServer'")
            }
            return [.deleteRealServer(id, r)]
        case .updateRealServer, .drainRealServer:
            guard let id = service, let r = before?.realServer else {
                throw ChangeProblem("\(action.rawValue) needs the old real server in 'before' to be undone")
            }
            return [.updateRealServer(id, r)]
        case .deleteRealServer:
            guard let id = service, let r = before?.realServer else {
                throw ChangeProblem("deleteRealServer needs the old real server in 'before' to be undone")
            }
            return [.addRealServer(id, r)]
        case .setTimeouts:
            guard let t = before?.timeouts else { throw ChangeProblem("setTimeouts needs the old timeouts in 'before' to be undone") }
            return [.setTimeouts(t)]
        case .setSysctls:
            // Fields the kernel lacked (nil before) were never written.
            guard let v = before?.sysctls else { throw ChangeProblem("setSysctls needs the old sysctls in 'before' to be undone") }
            return v.isEmpty ? [] : [.setSysctls(v)]
        case .startSyncDaemon:
            guard let d = after?.syncDaemon else { throw ChangeProblem("startSyncDaemon needs the daemon in 'after'") }
            return [.stopSyncDaemon(d.state)]
        case .stopSyncDaemon:
            guard let d = before?.syncDaemon else { throw ChangeProblem("stopSyncDaemon needs the daemon in 'before' to be undone") }
            return [.startSyncDaemon(d)]
        case .createKeepalivedConfig, .updateKeepalivedConfig:
            throw ChangeProblem("\(action.rawValue) writes a file, not the kernel")
        }
    }
}

/// What is missing from a change for it to be applied or undone.
public struct ChangeProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
