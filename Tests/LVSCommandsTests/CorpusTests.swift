import Foundation
import LVSTestSupport
import Testing

/// The hostile-input regression corpus (issue #17): Tests/Corpus/generate.py writes every input
/// into a scratch directory (nothing of megabytes is committed) with `cases.json`, and each case
/// runs the built binary as an operator would.
///
/// Every case must: end by itself (no signal: no Swift trap, no stack overflow) with an exit code
/// the case allows; answer within its time (5 s; 30 s for the two migrations of a 10,000-service
/// site); print every error with a location (the file and a line, or a JSON path; whole-file
/// problems name the file); and print no raw control character.
@Suite(.serialized) struct CorpusTests {
    struct Case: Decodable, CustomStringConvertible {
        var name: String
        var args: [String]
        var expect: [Int32]
        var timeout: Int
        var description: String { name }
    }

    /// Generates the corpus once per test process.
    static let corpus: Result<(URL, [Case]), ProcessRunner.Failure> = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-corpus-\(UUID().uuidString)")
        let script = CLIRunner.packageRoot.appendingPathComponent("Tests/Corpus/generate.py").path
        do {
            let r = try ProcessRunner.run(["python3", script, dir.path], timeout: .seconds(120))
            guard r.status == 0 else {
                return .failure(ProcessRunner.Failure(description: "generate.py failed: \(r)"))
            }
            let data = try Data(contentsOf: dir.appendingPathComponent("cases.json"))
            CorpusCleanup.register(dir)
            return .success((dir, try JSONDecoder().decode([Case].self, from: data)))
        } catch {
            return .failure(ProcessRunner.Failure(description: "\(error)"))
        }
    }()

    /// The case names, for the parameterised test (read from the generator's listing).
    static var cases: [Case] { (try? corpus.get().1) ?? [] }

    @Test func theCorpusIsGenerated() throws {
        let (_, cases) = try Self.corpus.get()
        #expect(cases.count >= 60)
    }

    @Test(arguments: cases) func answersWithinItsTimeWithALocatedMessage(_ c: Case) throws {
        let (dir, _) = try Self.corpus.get()
        let args = c.args.map { $0.replacingOccurrences(of: "{dir}", with: dir.path) }
        var env = ProcessInfo.processInfo.environment
        env["LVSCTL_DB"] = dir.appendingPathComponent("lvsctl.db").path
        env.removeValue(forKey: "LVSCTL_FAKE_KERNEL")
        let start = ContinuousClock.now
        let r = try ProcessRunner.run([CLIRunner.binary] + args, environment: env, timeout: .seconds(Int64(c.timeout)))
        let took = ContinuousClock.now - start
        #expect(!r.timedOut, "\(c.name): no answer within \(c.timeout) s")
        #expect(r.signal == nil, "\(c.name): ended by signal \(r.signal ?? 0)\n\(r.stderr.prefix(2000))")
        #expect(c.expect.contains(r.status), "\(c.name): exit \(r.status), expected one of \(c.expect)\n\(r.stderr.prefix(2000))")
        #expect(took < .seconds(Int64(c.timeout)), "\(c.name): took \(took)")
        // No raw control character (other than line ends) reaches the terminal.
        for (stream, text) in [("stdout", r.stdout), ("stderr", r.stderr)] {
            let raw = text.unicodeScalars.first { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
            #expect(raw == nil, "\(c.name): raw U+\(String(raw?.value ?? 0, radix: 16)) on \(stream)")
        }
        // Every error names where it is.
        for line in r.stderr.split(separator: "\n") where line.contains(": error: ") && !line.hasPrefix("lvsctl: error:") {
            #expect(Self.isLocated(String(line)), "\(c.name): error without a location: \(line.prefix(300))")
        }
        if r.status == 1 {
            #expect(r.stderr.contains(": error: ") || r.stderr.contains("error:"), "\(c.name): exit 1 without an error\n\(r)")
        }
    }

    /// `FILE:LINE[:COL]: error: …`, `FILE: error: PATH: …` (a JSON path), or a whole-file problem
    /// (`FILE: error: not a regular file …`, too large, empty, unreadable).
    static func isLocated(_ line: String) -> Bool {
        guard let range = line.range(of: ": error: ") else { return false }
        let place = line[..<range.lowerBound]
        let message = line[range.upperBound...]
        if place.isEmpty { return false }
        let parts = place.split(separator: ":")
        if parts.count >= 2, parts.dropFirst().allSatisfy({ $0.allSatisfy(\.isNumber) }) { return true }
        let wholeFile = ["not a regular file", "too large", "empty", "no such file", "permission denied", "cannot read"]
        if parts.count == 1, wholeFile.contains(where: { message.contains($0) }) { return true }
        // A JSON path before the message: `services[0].port: …`.
        if let colon = message.firstIndex(of: ":"), !message[..<colon].contains(" ") { return true }
        return false
    }

}

/// Removes the generated corpus (about 300 MB) when the test process exits.
enum CorpusCleanup {
    nonisolated(unsafe) static var directories: [URL] = []
    static func register(_ dir: URL) {
        if directories.isEmpty {
            atexit {
                for d in CorpusCleanup.directories { try? FileManager.default.removeItem(at: d) }
            }
        }
        directories.append(dir)
    }
}
