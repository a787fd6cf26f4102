import Foundation
import LVSModel
import LVSNotify
import LVSTestSupport
import Testing

/// A sink that keeps what it is given (for the dedupe rules; the real sinks have their own tests).
final class KeepingSink: NotificationSink, @unchecked Sendable {
    let name = "keep"
    let operatorActions: Bool
    let sent = Recorder<String>()
    init(operatorActions: Bool = false) { self.operatorActions = operatorActions }
    func send(_ notification: LVSNotify.Notification) async throws { sent.append(notification.summary) }
}

struct FailingSink: NotificationSink {
    let name = "failing"
    func send(_ notification: LVSNotify.Notification) async throws { throw DeliveryError("relay down") }
}

@Suite struct NotifierTests {
    @Test func sendsOnlyOnRealStateChanges() async {
        let sink = KeepingSink()
        let notifier = Notifier(sinks: [sink])
        #expect(await notifier.notify(down()))
        #expect(await notifier.notify(down("still refused")) == false)
        #expect(await notifier.notify(up()))
        #expect(await notifier.notify(up()) == false)
        #expect(await notifier.notify(down()))
        #expect(await notifier.notify(.quorum(gained: false, service: vip, message: "0 < 1")))
        #expect(await notifier.notify(.quorum(gained: false, service: vip, message: "0 < 1")) == false)
        await notifier.flush()
        #expect(sink.sent.values.sorted() == [
            "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN",
            "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN",
            "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 UP",
            "SERVICE tcp/10.0.0.1:80 QUORUM_LOST",
        ])
        #expect(await notifier.lastSentStates() == [
            "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80": "DOWN", "SERVICE tcp/10.0.0.1:80": "QUORUM_LOST",
        ])
    }

    /// Operator actions go only to the sinks that opted in; everything else to every sink.
    @Test func operatorActionsOnlyToOptedInSinks() async {
        let chat = KeepingSink(operatorActions: true)
        let pager = KeepingSink()
        let notifier = Notifier(sinks: [chat, pager])
        let action = LVSNotify.Notification(kind: .operatorAction, manifest: "web", message: "alice applied web@3")
        #expect(await notifier.notify(action))
        #expect(await notifier.notify(action), "an occurrence: every action is sent")
        #expect(await notifier.notify(down()))
        await notifier.flush()
        #expect(chat.sent.values.sorted() == ["MANIFEST web OPERATOR_ACTION", "MANIFEST web OPERATOR_ACTION", "REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN"])
        #expect(pager.sent.values == ["REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN"])
    }

    /// The configured sinks carry their config's opt-in (default off).
    @Test func configuredSinksCarryTheirOptIn() throws {
        var config = NotifyConfig()
        config.exec = ExecHookConfig(path: "/bin/true", operatorActions: true)
        config.webhook = WebhookConfig(url: try #require(URL(string: "http://127.0.0.1:9/")))
        let sinks = config.makeSinks()
        #expect(sinks.map(\.name) == ["exec", "webhook"])
        #expect(sinks.map(\.operatorActions) == [true, false])
    }

    @Test func occurrencesAreAlwaysSent() async {
        let sink = KeepingSink()
        let notifier = Notifier(sinks: [sink])
        let drift = LVSNotify.Notification(kind: .driftDetected, manifest: "web", message: "1 difference")
        #expect(await notifier.notify(drift))
        #expect(await notifier.notify(drift))
        await notifier.flush()
        #expect(sink.sent.values.count == 2)
    }

    @Test func restoredStatesSuppressTheRepeatAfterARestart() async {
        let sink = KeepingSink()
        let notifier = Notifier(sinks: [sink], initialStates: ["REALSERVER tcp/10.0.0.1:80/10.0.0.11:80": "DOWN"])
        #expect(await notifier.notify(down()) == false)
        #expect(await notifier.notify(up()))
        await notifier.flush()
        #expect(sink.sent.values == ["REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 UP"])
    }

    @Test func aFailingSinkDoesNotStopTheOthers() async {
        let sink = KeepingSink()
        let notifier = Notifier(sinks: [FailingSink(), sink])
        await notifier.notify(down())
        await notifier.flush()
        #expect(sink.sent.values.count == 1)
        let failures = await notifier.recentFailures()
        #expect(failures.map(\.sink) == ["failing"])
        #expect(failures.first?.error == "relay down")
    }

    @Test func slowSinkDoesNotBlockTheCaller() async throws {
        let dir = try TempDir()
        let hook = try dir.script("slow.sh", "sleep 4; echo \"$3\" >> \(dir.path)/out")
        let notifier = Notifier(config: NotifyConfig(exec: ExecHookConfig(path: hook, timeout: 10)))
        let start = ContinuousClock.now
        await notifier.notify(down())
        // The hook takes 4 s; the caller must not wait for it (generous for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(2))
        await notifier.flush()
        #expect(dir.read("out") == "DOWN\n")
    }

    /// The seed's notify.sh behaviour end to end: a real hook, called once per change.
    @Test func execHookSeesEachChangeOnce() async throws {
        let dir = try TempDir()
        let hook = try dir.script("notify.sh", "echo \"$1 $2 $3\" >> \(dir.path)/out")
        let notifier = Notifier(config: NotifyConfig(exec: ExecHookConfig(path: hook)))
        for n in [down(), down(), down(), up(), up()] {
            await notifier.notify(n)
            await notifier.flush()
        }
        #expect(dir.read("out") == """
            REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN
            REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 UP

            """)
    }

    @Test func configBuildsEverySink() {
        let config = NotifyConfig(
            exec: ExecHookConfig(path: "/bin/true"),
            webhook: WebhookConfig(url: URL(string: "http://127.0.0.1:9/")!),
            smtp: SMTPConfig(host: "127.0.0.1", from: "a@b", to: ["c@d"]))
        #expect(config.makeSinks().map(\.name) == ["exec", "webhook", "smtp"])
    }
}
