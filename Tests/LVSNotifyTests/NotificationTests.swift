import Foundation
import LVSModel
import LVSNotify
import Testing

let vip = VirtualService.ID.address(.tcp, IPAddress("10.0.0.1")!, port: 80)
let rs11 = RealServer.ID("10.0.0.11:80")!
let fixedDate = Date(timeIntervalSince1970: 1_764_086_879)  // 2025-11-25T16:07:59Z

func down(_ message: String = "connect refused") -> LVSNotify.Notification {
    .realServer(up: false, service: vip, realServer: rs11, serviceName: "web-http", manifest: "web", message: message, timestamp: fixedDate)
}

func up() -> LVSNotify.Notification {
    .realServer(up: true, service: vip, realServer: rs11, serviceName: "web-http", manifest: "web", message: "connected", timestamp: fixedDate)
}

@Suite struct NotificationTests {
    struct NamingCase: Sendable, CustomStringConvertible {
        var notification: LVSNotify.Notification
        var summary: String
        var subject: String
        var description: String { summary }
    }

    @Test(arguments: [
        NamingCase(notification: down(), summary: "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN", subject: "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80"),
        NamingCase(notification: up(), summary: "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 UP", subject: "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80"),
        NamingCase(
            notification: .quorum(gained: false, service: vip, message: "healthy weight 0 < 1"),
            summary: "SERVICE tcp/10.0.0.1:80 QUORUM_LOST", subject: "SERVICE tcp/10.0.0.1:80"),
        NamingCase(
            notification: .quorum(gained: true, service: .fwmark(7, .ipv4), message: "ok"),
            summary: "SERVICE fwmark/7 QUORUM_GAINED", subject: "SERVICE fwmark/7"),
        NamingCase(
            notification: LVSNotify.Notification(kind: .driftDetected, manifest: "web", message: "2 differences"),
            summary: "MANIFEST web DRIFT_DETECTED", subject: "MANIFEST web"),
        NamingCase(
            notification: LVSNotify.Notification(kind: .applyFailed, service: "tcp/10.0.0.1:80", manifest: "web", message: "EEXIST"),
            summary: "SERVICE tcp/10.0.0.1:80 APPLY_FAILED", subject: "SERVICE tcp/10.0.0.1:80"),
    ])
    func naming(_ c: NamingCase) {
        #expect(c.notification.summary == c.summary)
        #expect(c.notification.subject == c.subject)
    }

    @Test func execArgumentsAreKeepalivedStyle() {
        #expect(ExecHookSink.arguments(for: down()) == ["REALSERVER", "tcp/10.0.0.1:80/10.0.0.11:80", "DOWN"])
        let env = ExecHookSink.environment(for: down())
        #expect(env["LVSCTL_REALSERVER"] == "10.0.0.11:80")
        #expect(env["LVSCTL_TIMESTAMP"] == "2025-11-25T16:07:59Z")
    }

    @Test func webhookBodyIsSchemaVersion1() throws {
        let body = try WebhookSink.body(for: down())
        let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(json["version"] as? Int == 1)
        #expect(json["kind"] as? String == "realServerDown")
        #expect(json["type"] as? String == "REALSERVER")
        #expect(json["name"] as? String == "tcp/10.0.0.1:80/10.0.0.11:80")
        #expect(json["state"] as? String == "DOWN")
        #expect(json["service"] as? String == "tcp/10.0.0.1:80")
        #expect(json["serviceName"] as? String == "web-http")
        #expect(json["realServer"] as? String == "10.0.0.11:80")
        #expect(json["manifest"] as? String == "web")
        #expect(json["message"] as? String == "connect refused")
        #expect(json["timestamp"] as? String == "2025-11-25T16:07:59Z")
        #expect((json["host"] as? String)?.isEmpty == false)
        #expect(Set(json.keys).count == 12)
    }
}
