import Foundation
import LVSModel
import LVSTestSupport
import Testing

@testable import LVSInterop

/// A scratch directory for files the importers read from disk.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-import-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func fifo(_ name: String) throws -> String {
        let p = path + "/" + name
        guard mkfifo(p, 0o600) == 0 else { throw ProcessRunner.Failure(description: "mkfifo \(p) failed") }
        return p
    }
}

let oneVS = """
    virtual_server 10.0.0.1 80 {
        lb_algo wrr
        lb_kind DR
        protocol TCP
        real_server 10.0.1.1 80 {
            weight 2
            TCP_CHECK {
                connect_timeout 3
            }
        }
    }

    """

/// What keepalived runs is what the import gives (issue #17): the two refusals of the probe's
/// real-world corpus, line ends, and the facts pinned against keepalived itself.
@Suite struct KeepalivedRunsItTests {
    @Test func unknownLbAlgoImportsAsWlcWithAWarningNamingTheLine() throws {
        let r = kaImport(oneVS.replacingOccurrences(of: "lb_algo wrr", with: "lb_algo fastest"))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let s = try #require(r.state?.services.first)
        #expect(s.service.scheduler == .wlc)
        let w = try #require(r.warnings(containing: "invalid scheduler 'fastest'").first)
        #expect(w.line == 2)
        #expect(w.file == "/virtual/keepalived.conf")
        #expect(w.message.contains("keepalived ignores the line"))
        #expect(w.message.contains("wlc"))
        #expect(w.description.hasPrefix("/virtual/keepalived.conf:2: warning:"))
    }

    @Test func invalidLbAlgoAfterAValidOneKeepsTheValidOne() throws {
        let r = kaImport(oneVS.replacingOccurrences(of: "lb_algo wrr", with: "lb_algo sh\nlb_algo bogus"))
        let s = try #require(r.state?.services.first)
        #expect(s.service.scheduler == .sh)
        #expect(r.warnings(containing: "scheduler set before it (sh)").count == 1)
    }

    @Test func persistenceTimeoutZeroImportsAsNoPersistence() throws {
        let r = kaImport(oneVS.replacingOccurrences(of: "protocol TCP", with: "protocol TCP\npersistence_timeout 0"))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        let s = try #require(r.state?.services.first)
        #expect(!s.service.flags.contains(.persistent))
        #expect(s.service.timeout == 0)
        let w = try #require(r.warnings(containing: "persistence_timeout '0'").first)
        #expect(w.line == 5)
        #expect(w.message.contains("not persistent"))
    }

    @Test func invalidPersistenceTimeoutKeepsTheEarlierOne() throws {
        let r = kaImport(oneVS.replacingOccurrences(
            of: "protocol TCP", with: "protocol TCP\npersistence_timeout 600\npersistence_timeout 99999999999999999999999"))
        let s = try #require(r.state?.services.first)
        #expect(s.service.flags.contains(.persistent))
        #expect(s.service.timeout == 600)
        #expect(r.warnings(containing: "keeps the timeout set before it (600 s)").count == 1)
    }

    /// The facts above, from keepalived 2.2.7 itself (`keepalived -t` checks a configuration).
    @Test func keepalivedItselfIgnoresBothLinesAndAcceptsCRLF() throws {
        let dir = try ScratchDirectory()
        let conf = try dir.write("k.conf", oneVS
            .replacingOccurrences(of: "lb_algo wrr", with: "lb_algo fastest\npersistence_timeout 0")
            .replacingOccurrences(of: "\n", with: "\r\n"))
        let r = try ProcessRunner.run(["keepalived", "-t", "-f", conf, "-l", "-D"], timeout: .seconds(30))
        let out = r.stdout + r.stderr
        // `-t` exits 5 when it reported configuration problems (these two), never by a signal.
        #expect(r.signal == nil && [0, 5].contains(r.status), "\(r)")
        // Nothing else is reported: the CRLF line ends are no problem to keepalived.
        let reported = out.split(separator: "\n").filter { $0.contains("Line ") }
        #expect(reported.count == 3, "\(reported)")
        #expect(out.contains("Invalid lvs_scheduler 'fastest' - ignoring"), "\(out)")
        #expect(out.contains("persistence_timeout invalid"), "\(out)")
        #expect(out.contains("no scheduler set, setting default 'wlc'"), "\(out)")
        // And lvsctl reads the same CRLF file as keepalived does.
        let imported = KeepalivedImporter.importFile(path: conf, manifestName: "k")
        #expect(!imported.diagnostics.hasErrors, "\(imported.diagnostics)")
        #expect(imported.state?.services.first?.service.scheduler == .wlc)
    }

    @Test func crlfImportsExactlyLikeLF() throws {
        let text = try String(contentsOfFile: fixturePath("seed-two-vip-dr.conf"), encoding: .utf8)
        let lf = kaImport(text)
        let crlf = kaImport(text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(lf.state != nil)
        #expect(crlf.state == lf.state)
        #expect(crlf.diagnostics == lf.diagnostics)
        #expect(crlf.ignoredBlocks == lf.ignoredBlocks)
    }
}

@Suite struct KeepalivedIncludeLimitTests {
    @Test func aDiamondOfIncludesIsReadOncePerFile() throws {
        let dir = try ScratchDirectory()
        try dir.write("keepalived.conf", "include d0.conf\n" + oneVS)
        for i in 0..<30 { try dir.write("d\(i).conf", "include d\(i + 1).conf\ninclude d\(i + 1).conf\n") }
        try dir.write("d30.conf", "# bottom\n")
        let start = ContinuousClock.now
        let r = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "d")
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics.prefix(3))")
        #expect(r.files.count == 32)
        // The second include of each level is skipped, with a warning naming it.
        let skipped = r.warnings(containing: "already read at the top level")
        #expect(skipped.count == 30)
        #expect(skipped.first?.line == 2)
        #expect(r.state?.services.count == 1)
    }

    /// A file included in several blocks is expanded in each (keepalived does), up to the limit.
    @Test func aFileIncludedInTwoBlocksIsExpandedInEach() throws {
        let dir = try ScratchDirectory()
        try dir.write("servers.conf", "real_server 10.0.1.1 80 {\n weight 1\n}\nreal_server 10.0.1.2 80 {\n}\n")
        try dir.write("keepalived.conf", """
            virtual_server 10.0.0.1 80 {
                lb_kind DR
                protocol TCP
                include servers.conf
            }
            virtual_server 10.0.0.1 443 {
                lb_kind DR
                protocol TCP
                include servers.conf
            }

            """)
        let r = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "x")
        #expect(!r.diagnostics.hasErrors, "\(r.diagnostics)")
        #expect(r.state?.services.map(\.realServers.count) == [2, 2])
        #expect(r.files.count == 2)
    }

    @Test func aDiamondInsideABlockStopsAtTheTotalSizeLimit() throws {
        let dir = try ScratchDirectory()
        try dir.write("keepalived.conf", "virtual_server 10.0.0.1 80 {\n lb_kind DR\n protocol TCP\n include b0.conf\n}\n")
        for i in 0..<30 { try dir.write("b\(i).conf", "include b\(i + 1).conf\ninclude b\(i + 1).conf\n") }
        try dir.write("b30.conf", "real_server 10.0.1.1 80 {\n weight 1\n}\n" + String(repeating: "# padding\n", count: 100))
        let start = ContinuousClock.now
        let r = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "d")
        #expect(ContinuousClock.now - start < .seconds(5))
        let e = try #require(r.diagnostics.errors.first { $0.message.contains("expand to more than 20000 include expansions") })
        #expect(e.line != nil)
        #expect(e.file?.hasSuffix(".conf") == true)
        #expect(r.state == nil)
    }

    @Test func aFileIncludedInManyBlocksStopsAtTheTotalSizeLimit() throws {
        let dir = try ScratchDirectory()
        // A real server and 1 MiB of comments, included in 100 virtual servers: 100 MiB expanded.
        try dir.write("servers.conf", "real_server 10.0.1.1 80 {\n weight 1\n}\n"
            + String(repeating: "# a comment to make the file large\n", count: (1 << 20) / 35))
        try dir.write("keepalived.conf", (0..<100).map { "virtual_server 10.0.0.\($0) 80 {\n lb_kind DR\n protocol TCP\n include servers.conf\n}\n" }.joined())
        let r = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "m")
        let e = try #require(r.diagnostics.errors.first)
        #expect(e.message.contains("expand to more than 16 MiB"), "\(e)")
        // The 16th include is the one past the limit.
        #expect(e.line == 15 * 5 + 4)
        #expect(r.state == nil)
    }

    @Test func blocksNestedTooDeepAreAnErrorNotACrash() throws {
        let r = kaImport(String(repeating: "virtual_server 10.0.0.1 80 {\n", count: 50_000))
        let e = try #require(r.diagnostics.errors.first)
        #expect(e.message.contains("nested deeper than 16 levels"))
        #expect(e.line == 17)
    }

    @Test func includesNestedTooDeepAreAnErrorNamingTheLine() throws {
        let dir = try ScratchDirectory()
        try dir.write("keepalived.conf", "include c0.conf\n" + oneVS)
        for i in 0..<40 { try dir.write("c\(i).conf", "include c\(i + 1).conf\n") }
        try dir.write("c40.conf", "\n")
        let r = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "c")
        let e = try #require(r.diagnostics.errors.first)
        #expect(e.message.contains("nested deeper than 32 levels"))
        #expect(e.file?.hasSuffix("c30.conf") == true)
        #expect(e.line == 1)
    }

    @Test func aFIFOAsAnIncludeIsAnErrorNotAHang() throws {
        let dir = try ScratchDirectory()
        _ = try dir.fifo("pipe.conf")
        try dir.write("keepalived.conf", "include pipe.conf\n" + oneVS)
        let r = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "f")
        let e = try #require(r.diagnostics.errors.first)
        #expect(e.line == 1)
        #expect(e.message.contains("not a regular file (a FIFO)"), "\(e)")
    }

    @Test func aFIFOAsTheFileIsAnErrorNotAHang() throws {
        let dir = try ScratchDirectory()
        let fifo = try dir.fifo("keepalived.conf")
        let r = KeepalivedImporter.importFile(path: fifo, manifestName: "f")
        #expect(r.diagnostics.errors.map(\.message) == ["not a regular file (a FIFO); only regular files are read"])
        #expect(r.diagnostics.first?.file == fifo)
    }

    @Test func devicesAndDirectoriesAreRefused() throws {
        let dir = try ScratchDirectory()
        for (path, kind) in [("/dev/zero", "a character device"), (dir.path, "a directory")] {
            let r = KeepalivedImporter.importFile(path: path, manifestName: "z")
            #expect(r.diagnostics.errors.first?.message.contains("not a regular file (\(kind))") == true, "\(r.diagnostics)")
        }
        try dir.write("keepalived.conf", "include /dev/zero\n" + oneVS)
        let r = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "z")
        #expect(r.diagnostics.errors.first?.message == "include /dev/zero: not a regular file (a character device); only regular files are read")
    }

    @Test func anEmptyIncludeIsFineAndAnEmptyFileIsSaidToBeEmpty() throws {
        let dir = try ScratchDirectory()
        try dir.write("empty.conf", "")
        try dir.write("keepalived.conf", "include empty.conf\n" + oneVS)
        let ok = KeepalivedImporter.importFile(path: dir.path + "/keepalived.conf", manifestName: "e")
        #expect(ok.diagnostics.isEmpty, "\(ok.diagnostics)")
        #expect(ok.state?.services.count == 1)
        let empty = KeepalivedImporter.importFile(path: dir.path + "/empty.conf", manifestName: "e")
        #expect(empty.diagnostics.map(\.description) == [
            "\(dir.path)/empty.conf:1: error: the file is empty; give the keepalived.conf that holds the virtual_server blocks",
        ])
        let missing = KeepalivedImporter.importFile(path: dir.path + "/nope.conf", manifestName: "e")
        #expect(missing.diagnostics.first?.message == "no such file")
    }
}

@Suite struct DiagnosticHygieneTests {
    @Test func controlCharactersFromTheInputAreEscaped() throws {
        let hostile = "\u{1B}]0;pwned\u{07}\u{1B}[2J"
        let r = kaImport(oneVS.replacingOccurrences(of: "lb_algo wrr", with: "lb_algo \(hostile)"))
        let w = try #require(r.warnings(containing: "invalid scheduler").first)
        #expect(w.description.contains("\\u{1B}]0;pwned\\u{7}\\u{1B}[2J"), "\(w.description)")
        #expect(!w.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
    }

    @Test func quotedValuesAreBoundedExcerpts() throws {
        let huge = String(repeating: "z", count: 1_000_000)
        let r = kaImport(oneVS.replacingOccurrences(of: "lb_algo wrr", with: "lb_algo \(huge)"))
        let w = try #require(r.warnings(containing: "invalid scheduler").first)
        #expect(w.message.contains("'" + String(repeating: "z", count: 80) + "…'"))
        #expect(w.description.count < 600)
    }

    @Test func ipvsadmMessagesAreEscapedToo() throws {
        let r = IPVSAdmImport.parse("-A -t 10.0.0.1:80 -s w\u{1B}[2Jrr\n", file: "dump", manifestName: "m")
        let d = try #require(r.diagnostics.first)
        #expect(d.description.contains("\\u{1B}[2J"), "\(d.description)")
    }
}

@Suite struct IPVSAdmHygieneTests {
    @Test func anUnknownSchedulerIsAnErrorAtTheDumpLine() throws {
        let r = IPVSAdmImport.parse("-A -t 10.0.0.1:80 -s fastest\n", file: "dump", manifestName: "m")
        #expect(r.state == nil)
        #expect(r.diagnostics.map(\.description).first?.hasPrefix("dump:1: error: unknown scheduler 'fastest'") == true)
    }

    @Test func anEmptyDumpIsSaidToBeEmpty() throws {
        let r = IPVSAdmImport.parse("", file: "dump", manifestName: "m")
        #expect(r.diagnostics.map(\.message) == ["the dump is empty: the manifest has no services"])
        #expect(r.state?.services.isEmpty == true)
    }

    @Test func crlfDumpImportsExactlyLikeLF() throws {
        let dump = """
            -A -t 10.0.0.1:80 -s wrr -p 300
            -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 3
            -a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1
            -A -u 10.0.0.2:53 -s rr
            -a -u 10.0.0.2:53 -r 10.0.1.3:53 -m -w 1

            """
        let lf = IPVSAdmImport.parse(dump, file: "d", manifestName: "m")
        let crlf = IPVSAdmImport.parse(dump.replacingOccurrences(of: "\n", with: "\r\n"), file: "d", manifestName: "m")
        #expect(lf.state?.services.count == 2)
        #expect(crlf.state == lf.state)
        #expect(crlf.diagnostics == lf.diagnostics)
    }
}

/// Migration of a big site is linear (issue #17: 8k virtual servers took 128 s, 16k real servers
/// in one virtual server 266 s, an 8k × 10 ipvsadm dump 73 s). The bounds are loose (debug
/// build, a shared CI machine); the quadratic versions were far beyond them.
@Suite(.serialized) struct ImportScalingTests {
    static func keepalived(services: Int, realServers: Int) -> String {
        var s = ""
        s.reserveCapacity(services * (120 + realServers * 90))
        for i in 0..<services {
            s += "virtual_server 10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255) 80 {\n  lb_algo wrr\n  lb_kind DR\n  protocol TCP\n"
            for r in 0..<realServers {
                s += "  real_server 172.\(16 + (r >> 16 & 15)).\(r >> 8 & 255).\(r & 255) 80 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n"
            }
            s += "}\n"
        }
        return s
    }

    @Test func tenThousandVirtualServersImportInUnder30Seconds() throws {
        let text = Self.keepalived(services: 10_000, realServers: 1)
        let start = ContinuousClock.now
        let r = kaImport(text)
        let took = ContinuousClock.now - start
        #expect(!r.diagnostics.hasErrors)
        #expect(r.state?.services.count == 10_000)
        #expect(took < .seconds(30), "took \(took)")
        print("keepalived 10k virtual servers: \(took)")
    }

    @Test func sixteenThousandRealServersInOneVirtualServerImportInUnder30Seconds() throws {
        let text = Self.keepalived(services: 1, realServers: 16_000)
        let start = ContinuousClock.now
        let r = kaImport(text)
        let took = ContinuousClock.now - start
        #expect(!r.diagnostics.hasErrors)
        #expect(r.state?.services.first?.realServers.count == 16_000)
        #expect(took < .seconds(30), "took \(took)")
        print("keepalived 16k real servers: \(took)")
    }

    @Test func anIPVSAdmDumpOf10kBy10ImportsInUnder30Seconds() throws {
        var lines: [String] = []
        for i in 0..<10_000 {
            let a = "10.\(i >> 8 & 255).\(i & 255).1:80"
            lines.append("-A -t \(a) -s wrr")
            for r in 0..<10 { lines.append("-a -t \(a) -r 192.168.\(r).1:80 -g -w 1") }
        }
        let text = lines.joined(separator: "\n") + "\n"
        let start = ContinuousClock.now
        let r = IPVSAdmImport.parse(text, file: "dump", manifestName: "m")
        let took = ContinuousClock.now - start
        #expect(!r.diagnostics.hasErrors)
        #expect(r.state?.services.count == 10_000)
        #expect(took < .seconds(30), "took \(took)")
        print("ipvsadm 10k × 10: \(took)")
    }
}

@Suite struct EscapedTests {
    @Test func controlCharactersBecomeVisibleEscapes() {
        #expect(Escaped.text("a\u{1B}[2Jb\u{07}\u{7F}\u{85}\u{202E}") == "a\\u{1B}[2Jb\\u{7}\\u{7F}\\u{85}\\u{202E}")
        #expect(Escaped.text("plain café ✓") == "plain café ✓")
        #expect(Escaped.lines("one\n\ttwo\u{1B}\r\n") == "one\n\ttwo\\u{1B}\\u{D}\n")
    }

    @Test func excerptsAreBounded() {
        #expect(Escaped.excerpt(String(repeating: "x", count: 81)) == String(repeating: "x", count: 80) + "…")
        #expect(Escaped.excerpt(String(repeating: "x", count: 80)) == String(repeating: "x", count: 80))
        #expect(Escaped.excerpt("\u{1B}", limit: 1) == "\\u{1B}")
        let d = Diagnostic(.error, file: "f", message: String(repeating: "m", count: 5000))
        #expect(d.description.count < Diagnostic.partLimit + 40)
    }

    @Test func inputFileRefusesWhatIsNotARegularFileOrTooLarge() throws {
        let dir = try ScratchDirectory()
        let big = try dir.write("big", String(repeating: "x", count: 2000))
        #expect(InputFile.read(big, limit: 1000) == .failure(.tooLarge(path: big, size: 2000, limit: 1000)))
        #expect(try InputFile.read(big, limit: 2000).get().count == 2000)
        #expect(InputFile.read("/dev/zero") == .failure(.notRegular(path: "/dev/zero", kind: "a character device")))
        #expect(InputFile.read(dir.path + "/nope") == .failure(.notFound(path: dir.path + "/nope")))
        let fifo = try dir.fifo("p")
        #expect(InputFile.read(fifo) == .failure(.notRegular(path: fifo, kind: "a FIFO")))
        #expect(InputFile.Failure.tooLarge(path: "m.json", size: 70 << 20, limit: 64 << 20).description
            == "m.json: the file is too large (70 MiB; the limit is 64 MiB)")
    }
}
