import Foundation
import LVSModel

/// Something an operator should hear about: a real server or a service changed state, drift
/// was found, or an apply failed.
///
/// Named like keepalived's notify scripts see it: a ``type`` (`REALSERVER`, `SERVICE`,
/// `MANIFEST`), a ``name`` (`tcp/10.0.0.1:80/10.0.0.11:80`) and a ``state`` (`DOWN`).
/// Inside modules that also import Foundation, spell it `LVSNotify.Notification`
/// (Foundation has a `Notification` type too).
public struct Notification: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case realServerUp
        case realServerDown
        case quorumLost
        case quorumGained
        case driftDetected
        case applyFailed
        /// An operator's apply, rollback, drain, undrain or drift --fix: sent only to the sinks
        /// that opted in (`operatorActions`), so a chat channel can carry the audit trail.
        case operatorAction
        /// A VRRP instance or sync group changed role (keepalived's notify FIFO, or its state
        /// dump after a reload): the seed's notify.sh words, `GROUP G1 MASTER`.
        case vrrpMaster
        case vrrpBackup
        case vrrpFault
        case vrrpStop
        /// A virtual address's BGP route changed (`lvsctl run` with a `bgp` section): the
        /// director announces it, drains it (less preferred), or withdrew it.
        case vipAnnounced
        case vipDraining
        case vipWithdrawn

        /// The keepalived-style state word passed to hooks.
        public var state: String {
            switch self {
            case .realServerUp: "UP"
            case .realServerDown: "DOWN"
            case .quorumLost: "QUORUM_LOST"
            case .quorumGained: "QUORUM_GAINED"
            case .driftDetected: "DRIFT_DETECTED"
            case .applyFailed: "APPLY_FAILED"
            case .operatorAction: "OPERATOR_ACTION"
            case .vrrpMaster: "MASTER"
            case .vrrpBackup: "BACKUP"
            case .vrrpFault: "FAULT"
            case .vrrpStop: "STOP"
            case .vipAnnounced: "ANNOUNCED"
            case .vipDraining: "DRAINING"
            case .vipWithdrawn: "WITHDRAWN"
            }
        }

        /// Whether this kind reports a state (deduplicated) rather than an occurrence.
        public var isStateChange: Bool {
            switch self {
            case .realServerUp, .realServerDown, .quorumLost, .quorumGained: true
            case .vrrpMaster, .vrrpBackup, .vrrpFault, .vrrpStop: true
            case .vipAnnounced, .vipDraining, .vipWithdrawn: true
            case .driftDetected, .applyFailed, .operatorAction: false
            }
        }
    }

    public var kind: Kind
    /// The virtual service, as `VirtualService.ID` prints it (`tcp/10.0.0.1:80`).
    public var service: String?
    /// The service's name in its manifest (`web-http`).
    public var serviceName: String?
    /// The real server, as `RealServer.ID` prints it (`10.0.0.11:80`).
    public var realServer: String?
    /// The manifest concerned.
    public var manifest: String?
    /// One human sentence: what happened and why (`connect refused`, `timeout after 3 s`).
    public var message: String
    public var timestamp: Date
    /// For a VRRP role change: `INSTANCE` or `GROUP` (the hook's TYPE) and the instance's or
    /// group's name (its NAME).
    public var vrrpType: String?
    public var vrrpName: String?
    /// For a BGP route change: the virtual address (the hook's NAME, TYPE `VIP`).
    public var vip: String?

    public init(
        kind: Kind, service: String? = nil, serviceName: String? = nil, realServer: String? = nil,
        manifest: String? = nil, message: String, timestamp: Date = Date()
    ) {
        self.kind = kind
        self.service = service
        self.serviceName = serviceName
        self.realServer = realServer
        self.manifest = manifest
        self.message = message
        self.timestamp = timestamp
    }

    /// A real server went up or down.
    public static func realServer(
        up: Bool, service: VirtualService.ID, realServer: RealServer.ID, serviceName: String? = nil,
        manifest: String? = nil, message: String, timestamp: Date = Date()
    ) -> Notification {
        Notification(
            kind: up ? .realServerUp : .realServerDown, service: "\(service)", serviceName: serviceName,
            realServer: "\(realServer)", manifest: manifest, message: message, timestamp: timestamp)
    }

    /// A VRRP instance (`group` false) or sync group changed role; nil for a state that is not
    /// a role (INIT, a priority report).
    public static func vrrp(
        group: Bool, name: String, state: String, manifest: String? = nil, message: String, timestamp: Date = Date()
    ) -> Notification? {
        let kind: Kind
        switch state {
        case "MASTER": kind = .vrrpMaster
        case "BACKUP": kind = .vrrpBackup
        case "FAULT": kind = .vrrpFault
        case "STOP": kind = .vrrpStop
        default: return nil
        }
        var n = Notification(kind: kind, manifest: manifest, message: message, timestamp: timestamp)
        n.vrrpType = group ? "GROUP" : "INSTANCE"
        n.vrrpName = name
        return n
    }

    /// A service lost or gained quorum.
    public static func quorum(
        gained: Bool, service: VirtualService.ID, serviceName: String? = nil, manifest: String? = nil,
        message: String, timestamp: Date = Date()
    ) -> Notification {
        Notification(
            kind: gained ? .quorumGained : .quorumLost, service: "\(service)", serviceName: serviceName,
            manifest: manifest, message: message, timestamp: timestamp)
    }

    /// A virtual address's route changed to `state` (`announced`, `draining`, `withdrawn`).
    public static func vip(
        _ address: String, state: String, manifest: String? = nil, message: String, timestamp: Date = Date()
    ) -> Notification? {
        let kind: Kind
        switch state {
        case "announced": kind = .vipAnnounced
        case "draining": kind = .vipDraining
        case "withdrawn": kind = .vipWithdrawn
        default: return nil
        }
        var n = Notification(kind: kind, manifest: manifest, message: message, timestamp: timestamp)
        n.vip = address
        return n
    }

    /// `REALSERVER`, `SERVICE`, `MANIFEST`, `INSTANCE` / `GROUP` for VRRP, or `VIP` for a BGP
    /// route: what ``name`` names.
    public var type: String {
        if let vrrpType { return vrrpType }
        if vip != nil { return "VIP" }
        if realServer != nil { return "REALSERVER" }
        if service != nil { return "SERVICE" }
        return "MANIFEST"
    }

    /// `tcp/10.0.0.1:80/10.0.0.11:80`, `tcp/10.0.0.1:80`, or the manifest name.
    public var name: String {
        if let vrrpName { return vrrpName }
        if let vip { return vip }
        if let service, let realServer { return "\(service)/\(realServer)" }
        if let service { return service }
        if let realServer { return realServer }
        return manifest ?? "-"
    }

    public var state: String { kind.state }

    /// What deduplication is keyed on: `REALSERVER tcp/10.0.0.1:80/10.0.0.11:80`.
    public var subject: String { "\(type) \(name)" }

    /// `REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN`.
    public var summary: String { "\(type) \(name) \(state)" }
}
