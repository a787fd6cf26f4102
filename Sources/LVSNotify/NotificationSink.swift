/// One way of delivering a notification. `send` throws ``DeliveryError`` when delivery failed.
public protocol NotificationSink: Sendable {
    /// `exec`, `webhook`, `smtp`: used in logs.
    var name: String { get }
    func send(_ notification: Notification) async throws
}

/// A delivery that did not succeed, with what to look at.
public struct DeliveryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
