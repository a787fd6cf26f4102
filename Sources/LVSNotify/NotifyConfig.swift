import Foundation

/// Where notifications go; part of the daemon's config, never of a manifest.
/// Read from `daemon.json` by `DaemonConfig` (LVSDaemon), key by key; never synthesised.
public struct NotifyConfig: Hashable, Sendable {
    public var exec: ExecHookConfig?
    public var webhook: WebhookConfig?
    public var smtp: SMTPConfig?

    public init(exec: ExecHookConfig? = nil, webhook: WebhookConfig? = nil, smtp: SMTPConfig? = nil) {
        self.exec = exec
        self.webhook = webhook
        self.smtp = smtp
    }

    /// The sinks this config describes, in the order exec, webhook, smtp.
    public func makeSinks() -> [any NotificationSink] {
        var sinks: [any NotificationSink] = []
        if let exec { sinks.append(ExecHookSink(config: exec)) }
        if let webhook { sinks.append(WebhookSink(config: webhook)) }
        if let smtp { sinks.append(SMTPSink(config: smtp)) }
        return sinks
    }
}

/// A program run as `PROGRAM TYPE NAME STATE` (keepalived's notify argument order).
public struct ExecHookConfig: Hashable, Sendable {
    /// Absolute path of the program.
    public var path: String
    /// Seconds before the program is killed and the delivery counted as failed.
    public var timeout: Double
    /// Whether operator actions (apply, rollback, drain, undrain, drift --fix) are sent here too.
    public var operatorActions: Bool

    public init(path: String, timeout: Double = 10, operatorActions: Bool = false) {
        self.path = path
        self.timeout = timeout
        self.operatorActions = operatorActions
    }
}

/// An HTTP(S) endpoint that receives each notification as a JSON POST.
public struct WebhookConfig: Hashable, Sendable {
    public var url: URL
    /// Extra request headers (for example `Authorization`).
    public var headers: [String: String]
    /// Seconds for the whole request.
    public var timeout: Double
    /// Whether operator actions (apply, rollback, drain, undrain, drift --fix) are sent here too.
    public var operatorActions: Bool

    public init(url: URL, headers: [String: String] = [:], timeout: Double = 10, operatorActions: Bool = false) {
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.operatorActions = operatorActions
    }
}

/// A plain SMTP relay (no TLS, no authentication in v1: use a local or trusted relay).
public struct SMTPConfig: Hashable, Sendable {
    public var host: String
    public var port: UInt16
    public var from: String
    public var to: [String]
    /// The name sent with EHLO/HELO; nil = this machine's host name.
    public var heloName: String?
    /// Prefix of the Subject line.
    public var subjectPrefix: String
    /// Seconds for the whole SMTP session.
    public var timeout: Double
    /// Whether operator actions (apply, rollback, drain, undrain, drift --fix) are sent here too.
    public var operatorActions: Bool

    public init(
        host: String, port: UInt16 = 25, from: String, to: [String], heloName: String? = nil,
        subjectPrefix: String = "[lvsctl]", timeout: Double = 30, operatorActions: Bool = false
    ) {
        self.operatorActions = operatorActions
        self.host = host
        self.port = port
        self.from = from
        self.to = to
        self.heloName = heloName
        self.subjectPrefix = subjectPrefix
        self.timeout = timeout
    }
}
