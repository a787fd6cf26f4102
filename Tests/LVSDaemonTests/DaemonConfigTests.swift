import Foundation
import LVSDaemon
import LVSModel
import Testing

/// `daemon.json` is read like a manifest: unknown keys, wrong types and values out of range are
/// errors with file, line, column and JSON path; every key of the reference is read.
@Suite struct DaemonConfigTests {
    func errors(_ text: String) -> [Diagnostic] {
        do {
            _ = try DaemonConfig.parse(Array(text.utf8), file: "daemon.json")
            return []
        } catch let e as DaemonConfig.LoadError {
            return e.diagnostics
        } catch {
            Issue.record("unexpected \(error)")
            return []
        }
    }

    @Test(arguments: [
        (#"{"intervall": 5}"#, "intervall", "did you mean 'interval'?", 1),
        (#"{"notify": {"webhook": {"url": "https://x.example/h", "operatorAction": true}}}"#, "notify.webhook.operatorAction", "did you mean 'operatorActions'?", 1),
        (#"{"interval": 0}"#, "interval", "out of range", 1),
        (#"{"interval": "10"}"#, "interval", "must be a number of seconds", 1),
        (#"{"jitter": 2}"#, "jitter", "out of range (0-1, a fraction of the interval)", 1),
        (#"{"maxConcurrentProbes": 1e9}"#, "maxConcurrentProbes", "not a whole number", 1),
        (#"{"maxConcurrentProbes": 0}"#, "maxConcurrentProbes", "out of range (1-4096)", 1),
        (#"{"lockTimeout": -1}"#, "lockTimeout", "out of range", 1),
        (#"{"interval": 60, "maxBackoff": 30}"#, "maxBackoff", "shorter than interval", 1),
        (#"{"metricsAddress": "nope"}"#, "metricsAddress", "not HOST:PORT", 1),
        ("{\n  \"notify\": {\"exec\": {\"timeout\": 5}}\n}", "notify.exec.path", "missing required field 'path'", 2),
        (#"{"notify": {"exec": {"path": "notify.sh"}}}"#, "notify.exec.path", "not an absolute path", 1),
        (#"{"notify": {"webhook": {"url": "ftp://x"}}}"#, "notify.webhook.url", "not an http:// or https:// URL", 1),
        (#"{"notify": {"smtp": {"host": "relay", "from": "a@b", "to": []}}}"#, "notify.smtp.to", "no recipient", 1),
        (#"{"notify": {"smtp": {"host": "relay", "from": "a@b", "to": ["c@d"], "port": 70000}}}"#, "notify.smtp.port", "out of range", 1),
        (#"{"notify": {"smtp": {"host": "relay", "from": "a@b", "to": [1]}}}"#, "notify.smtp.to[0]", "must be a string", 1),
        (#"{"notify": {"webhook": {"url": "http://x", "headers": {"A": 1}}}}"#, "notify.webhook.headers.A", "must be a string", 1),
        (#"[1]"#, "", "must be an object", 1),
        ("{\"interval\": 5,}", "", "", 1),
    ])
    func refused(_ text: String, _ path: String, _ message: String, _ line: Int) {
        let found = errors(text)
        #expect(!found.isEmpty, "\(text) was accepted")
        guard let first = found.first else { return }
        #expect(first.file == "daemon.json")
        if !path.isEmpty { #expect(first.path == path, "\(first)") }
        #expect(first.line == line && first.column != nil, "\(first)")
        if !message.isEmpty { #expect(first.description.contains(message), "\(first)") }
    }

    @Test func everyKeyIsRead() throws {
        let text = """
            {
              "interval": 2.5, "jitter": 0, "maxBackoff": 60, "allowExecChecks": true, "metricsAddress": "",
              "maxConcurrentProbes": 8, "lockTimeout": 3,
              "notify": {
                "exec": { "path": "/bin/true", "timeout": 4, "operatorActions": true },
                "webhook": { "url": "https://chat.example.com/hook", "headers": { "Authorization": "Bearer t" }, "timeout": 5, "operatorActions": true },
                "smtp": { "host": "relay", "port": 2525, "from": "lvsctl@d1", "to": ["ops@example.com"], "heloName": "d1",
                          "subjectPrefix": "[d1]", "timeout": 6, "operatorActions": false }
              }
            }
            """
        let c = try DaemonConfig.parse(Array(text.utf8), file: "daemon.json")
        #expect(c.interval == 2.5 && c.jitter == 0 && c.maxBackoff == 60 && c.allowExecChecks && c.metricsAddress == "")
        #expect(c.maxConcurrentProbes == 8 && c.lockTimeout == 3)
        #expect(c.notify.exec == ExecHookConfigMatcher.exec)
        #expect(c.notify.webhook?.url.absoluteString == "https://chat.example.com/hook" && c.notify.webhook?.headers == ["Authorization": "Bearer t"])
        #expect(c.notify.webhook?.timeout == 5 && c.notify.webhook?.operatorActions == true)
        #expect(c.notify.smtp?.port == 2525 && c.notify.smtp?.heloName == "d1" && c.notify.smtp?.subjectPrefix == "[d1]")
        #expect(c.notify.smtp?.timeout == 6 && c.notify.smtp?.operatorActions == false && c.notify.smtp?.to == ["ops@example.com"])
    }

    /// The reader's keys are the schema's (`Manifests/lvsctl-daemonConfig-v1.schema.json`), whose
    /// every key `Manifests/REFERENCE.md` documents (ReferenceTests).
    @Test func keysAreTheSchemas() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("Manifests/lvsctl-daemonConfig-v1.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let defs = try #require(schema["$defs"] as? [String: [String: Any]])
        let byDefinition = ["daemonConfig": "", "notify": "notify", "execSink": "notify.exec", "webhookSink": "notify.webhook", "smtpSink": "notify.smtp"]
        #expect(Set(defs.keys) == Set(byDefinition.keys))
        for (def, path) in byDefinition {
            let props = try #require(defs[def]?["properties"] as? [String: Any])
            #expect(defs[def]?["additionalProperties"] as? Bool == false)
            #expect(Set(props.keys) == Set(DaemonConfig.Keys.byPath[path] ?? []), "\(def)")
        }
    }

    /// The example installed with lvsctl and the defaults file `make install` writes are valid.
    @Test func shippedConfigsAreValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in ["daemon.json.example", "daemon.json"] {
            let path = root.appendingPathComponent("Sources/lvsctl/systemd/\(name)").path
            _ = try DaemonConfig.load(path: path)
        }
        let defaults = try DaemonConfig.load(path: root.appendingPathComponent("Sources/lvsctl/systemd/daemon.json").path)
        #expect(defaults == DaemonConfig(), "daemon.json as installed spells out the defaults")
    }
}

import LVSNotify

enum ExecHookConfigMatcher {
    static let exec = ExecHookConfig(path: "/bin/true", timeout: 4, operatorActions: true)
}
