import Foundation
import LVSSocket

/// Mails each notification through a plain SMTP relay, like the seed's `sendmail.py`.
///
/// The dialogue is the minimal one: greeting (220), `EHLO` (falling back to `HELO` when EHLO is
/// refused), `MAIL FROM`, one `RCPT TO` per recipient, `DATA` with a dot-stuffed text body,
/// `QUIT`. No STARTTLS and no AUTH in v1: point it at a local MTA or a relay that accepts
/// the director without authentication. `timeout` bounds the whole session.
public struct SMTPSink: NotificationSink {
    public var config: SMTPConfig
    public var name: String { "smtp" }
    public var operatorActions: Bool { config.operatorActions }

    public init(config: SMTPConfig) {
        self.config = config
    }

    /// `[lvsctl] REALSERVER tcp/10.0.0.1:80/10.0.0.11:80 DOWN`.
    public static func subject(for n: Notification, prefix: String) -> String {
        prefix.isEmpty ? n.summary : "\(prefix) \(n.summary)"
    }

    /// The full message (headers and body) with CRLF line ends, before dot-stuffing.
    public static func message(for n: Notification, config: SMTPConfig, host: String, date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        var lines = [
            "From: \(config.from)",
            "To: \(config.to.joined(separator: ", "))",
            "Subject: \(headerSafe(subject(for: n, prefix: config.subjectPrefix)))",
            "Date: \(f.string(from: date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(headerSafe(host))>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            "\(n.type) \(n.name) is now \(n.state) on \(host).",
            "",
            n.message,
            "",
            "kind: \(n.kind.rawValue)",
        ]
        if let s = n.service { lines.append("service: \(s)") }
        if let s = n.serviceName { lines.append("service name: \(s)") }
        if let r = n.realServer { lines.append("real server: \(r)") }
        if let m = n.manifest { lines.append("manifest: \(m)") }
        lines.append("time: \(iso8601(n.timestamp))")
        return lines.map { $0.replacingOccurrences(of: "\r", with: "") }
            .flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
            .joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 5321 §4.5.2: a line starting with "." gets one more.
    static func dotStuffed(_ message: String) -> String {
        message.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
            .joined(separator: "\r\n")
    }

    static func headerSafe(_ s: String) -> String {
        s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    public func send(_ notification: Notification) async throws {
        guard !config.to.isEmpty else { throw DeliveryError("smtp: no recipients; set notify.smtp.to in the daemon config") }
        let host = ProcessInfo.processInfo.hostName
        let helo = config.heloName ?? host
        let body = Self.dotStuffed(Self.message(for: notification, config: config, host: host))
        let config = self.config
        let result: String? = await BlockingSocket.offload {
            do {
                try SMTPSession.deliver(config: config, helo: helo, data: body)
                return nil
            } catch let e as DeliveryError {
                return e.message
            } catch {
                return "\(error)"
            }
        }
        if let result { throw DeliveryError(result) }
    }
}

/// One blocking SMTP session.
enum SMTPSession {
    struct Reply {
        var code: Int
        var text: String
    }

    static func deliver(config: SMTPConfig, helo: String, data: String) throws {
        let where_ = "smtp \(config.host):\(config.port)"
        let sock: BlockingSocket
        do throws(BlockingSocket.Failure) {
            sock = try BlockingSocket.connect(host: config.host, port: config.port, timeout: config.timeout)
        } catch {
            throw DeliveryError("\(where_): \(error)")
        }
        var reader = LineReader(socket: sock)
        func expect(_ step: String, _ accepted: Set<Int>) throws -> Reply {
            let reply: Reply
            do throws(BlockingSocket.Failure) {
                reply = try reader.readReply()
            } catch {
                throw DeliveryError("\(where_): \(step): \(error)")
            }
            guard accepted.contains(reply.code) else {
                throw DeliveryError("\(where_): \(step) refused: \(reply.code) \(reply.text)")
            }
            return reply
        }
        func command(_ line: String, _ step: String, _ accepted: Set<Int>) throws -> Reply {
            do throws(BlockingSocket.Failure) {
                try sock.send(Array((line + "\r\n").utf8))
            } catch {
                throw DeliveryError("\(where_): \(step): \(error)")
            }
            return try expect(step, accepted)
        }
        _ = try expect("greeting", [220])
        do {
            _ = try command("EHLO \(helo)", "EHLO", [250])
        } catch {
            _ = try command("HELO \(helo)", "HELO", [250])
        }
        _ = try command("MAIL FROM:<\(config.from)>", "MAIL FROM", [250])
        for rcpt in config.to {
            _ = try command("RCPT TO:<\(rcpt)>", "RCPT TO \(rcpt)", [250, 251])
        }
        _ = try command("DATA", "DATA", [354])
        var payload = data
        if !payload.hasSuffix("\r\n") { payload += "\r\n" }
        payload += ".\r\n"
        do throws(BlockingSocket.Failure) {
            try sock.send(Array(payload.utf8))
        } catch {
            throw DeliveryError("\(where_): message body: \(error)")
        }
        _ = try expect("end of DATA", [250])
        // The message is accepted; a failing QUIT does not undo that.
        _ = try? command("QUIT", "QUIT", [221])
    }

    /// Reads CRLF lines and multi-line replies (`250-…` continued, `250 …` last).
    struct LineReader {
        let socket: BlockingSocket
        var buffer: [UInt8] = []

        init(socket: BlockingSocket) { self.socket = socket }

        mutating func readLine() throws(BlockingSocket.Failure) -> String {
            while true {
                if let i = buffer.firstIndex(of: 10) {
                    var line = Array(buffer[..<i])
                    buffer.removeFirst(i + 1)
                    if line.last == 13 { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                let chunk = try socket.receive()
                if chunk.isEmpty { throw .closed }
                buffer += chunk
                if buffer.count > 65536 { throw .system("reply line longer than 64 KiB") }
            }
        }

        mutating func readReply() throws(BlockingSocket.Failure) -> Reply {
            var texts: [String] = []
            while true {
                let line = try readLine()
                let chars = Array(line)
                guard chars.count >= 3, let code = Int(String(chars[0..<3])) else {
                    throw .system("not an SMTP reply: \(line.prefix(60))")
                }
                texts.append(chars.count > 4 ? String(chars[4...]) : "")
                if chars.count == 3 || chars[3] == " " { return Reply(code: code, text: texts.joined(separator: " ")) }
            }
        }
    }
}
