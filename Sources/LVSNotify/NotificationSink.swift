/// One way of delivering a notification. `send` throws ``DeliveryError`` when delivery failed.
public protocol NotificationSink: Sendable {
    /// `exec`, `webhook`, `smtp`: used in logs.
    var name: String { get }
    /// Whether operator actions (``Notification/Kind/operatorAction``) go to this sink too.
    var operatorActions: Bool { get }
    func send(_ notification: Notification) async throws
}

extension NotificationSink {
    /// Opt-in: a sink gets operator actions only when its config says so.
    public var operatorActions: Bool { false }

    /// Whether `notification` goes to this sink: the one rule ``Notifier`` applies.
    public func accepts(_ notification: Notification) -> Bool {
        notification.kind != .operatorAction || operatorActions
    }
}

/// A delivery that did not succeed, with what to look at.
public struct DeliveryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
