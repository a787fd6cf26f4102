import Foundation
import LVSTestSupport
import Testing

/// `lvsctl import` as an operator migrating several sites runs it (issue #17).
@Suite struct ImportCLITests {
    static let conf = """
        virtual_server 10.0.0.1 80 {
            lb_algo wrr
            lb_kind DR
            protocol TCP
            real_server 10.0.1.1 80 {
                weight 1
            }
        }

        """

    /// Every import was called `keepalived`, so applying a second one planned to delete the
    /// first one's services. The name now comes from the file.
    @Test func importsAreNamedAfterTheirFile() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let a = try cli.write("site-a.conf", Self.conf)
        let b = try cli.write("site b.keepalived.conf", Self.conf.replacingOccurrences(of: "10.0.0.1 80", with: "10.0.0.2 80"))
        let ra = try cli.run(["import", "keepalived", a])
        #expect(ra.status == 0, "\(ra)")
        #expect(ra.stdout.contains("\"name\": \"site-a\""), "\(ra.stdout)")
        let rb = try cli.run(["import", "keepalived", b])
        #expect(rb.stdout.contains("\"name\": \"site-b.keepalived\""), "\(rb.stdout)")
        let named = try cli.run(["import", "keepalived", a, "--name", "edge"])
        #expect(named.stdout.contains("\"name\": \"edge\""), "\(named.stdout)")
        let dump = try cli.write("director-2.dump", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n")
        let ri = try cli.run(["import", "ipvsadm", dump])
        #expect(ri.stdout.contains("\"name\": \"director-2\""), "\(ri.stdout)")
        // Both imports applied: neither plans to delete the other's services.
        let ma = try cli.write("ma.json", ra.stdout), mb = try cli.write("mb.json", rb.stdout)
        #expect(try cli.run(["apply", "-f", ma]).status == 0)
        let second = try cli.run(["apply", "-f", mb])
        #expect(second.status == 0, "\(second)")
        #expect(!second.stdout.contains("delete"), "\(second.stdout)")
    }

    @Test func standardInputNeedsAName() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let r = try cli.run(["import", "ipvsadm", "-"], input: "-A -t 10.0.0.1:80 -s rr\n")
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.contains("give the manifest's name with --name"), "\(r.stderr)")
    }

    @Test func aFIFOIsRefusedAtOnce() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let fifo = cli.directory.appendingPathComponent("dump.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for args in [["import", "ipvsadm", fifo], ["import", "keepalived", fifo], ["validate", fifo]] {
            let r = try ProcessRunner.run([CLIRunner.binary] + args, environment: cli.environment, timeout: .seconds(10))
            #expect(!r.timedOut && r.status == 1, "\(args): \(r)")
            #expect(r.stderr.contains("\(fifo): error: not a regular file (a FIFO)"), "\(r.stderr)")
        }
    }

    @Test func theImportedManifestsProblemsAreNotBlamedOnTheOutputFile() throws {
        let cli = try CLIRunner(fakeKernel: true)
        // A service name the manifest cannot hold would come from --name.
        let a = try cli.write("k.conf", Self.conf)
        let out = cli.directory.appendingPathComponent("out.json").path
        let r = try cli.run(["import", "keepalived", a, "--name=bad name", "--out", out])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("(imported manifest)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

/// `--db` mistakes (issue #17): nothing is created where it should not be.
@Suite struct StorePathCLITests {
    @Test func readOnlyCommandsNeverCreateAStore() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let missing = cli.directory.appendingPathComponent("typo.db").path
        for args in [["history"], ["revisions"], ["show", "demo@1"], ["drift"]] {
            let r = try cli.run(args + ["--db", missing])
            #expect(r.status == 1, "\(args): \(r)")
            #expect(r.stderr.contains("\(missing): no lvsctl database here"), "\(args): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: missing), "\(args) created \(missing)")
        }
        // status and plan work before the first apply, without creating one either.
        let status = try cli.run(["status", "--db", missing])
        #expect(status.status == 0, "\(status)")
        let plan = try cli.run(["plan", "-f", CLIRunner.manifest("demo.json"), "--db", missing])
        #expect(plan.status == 0, "\(plan)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func noCommandCreatesTheDirectoriesOfAMistypedDb() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let path = cli.directory.appendingPathComponent("no/such/dir/lvsctl.db").path
        let r = try cli.run(["apply", "-f", CLIRunner.manifest("demo.json"), "--db", path])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("does not exist"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("no").path))
        // Nothing reached the kernel either.
        #expect(try cli.run(["status", "-o", "json"]).stdout.contains("10.10.0.100") == false)
    }

    @Test func anotherApplicationsDatabaseIsRefused() throws {
        let cli = try CLIRunner(fakeKernel: true)
        let path = cli.directory.appendingPathComponent("app.db").path
        _ = try cli.exec(["sqlite3", path, "CREATE TABLE t (x); INSERT INTO t VALUES (1);"])
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let r = try cli.run(["apply", "-f", CLIRunner.manifest("demo.json"), "--db", path])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("is an SQLite database of another application (tables: t)"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }
}
