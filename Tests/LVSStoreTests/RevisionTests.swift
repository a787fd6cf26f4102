import Foundation
import LVSModel
import LVSStore
import Testing

@Suite("Revisions")
struct RevisionTests {
    @Test("revisions are numbered per manifest and stored whole")
    func numbering() throws {
        let dir = try TempDir()
        let clock = ManualClock()
        let store = try Store(path: dir.file("lvsctl.db"), clock: clock.source)
        let web1 = try store.saveRevision(
            manifest: "web", content: #"{"name":"web","v":1}"#, author: "alice", message: "first",
            sourcePath: "/etc/lvsctl/web.json")
        clock.advance(10)
        let dns1 = try store.saveRevision(manifest: "dns", content: #"{"name":"dns"}"#, author: "bob")
        clock.advance(10)
        let web2 = try store.saveRevision(manifest: "web", content: #"{"name":"web","v":2}"#, author: "carol")
        #expect([web1.number, dns1.number, web2.number] == [Int]([1, 1, 2]))
        #expect(web1.contentHash == SHA256.hex(Array(#"{"name":"web","v":1}"#.utf8)))
        #expect(web1.createdAt == clock.now.addingTimeInterval(-20))
        #expect(try store.revisions(manifest: "web").map(\.number) == [1, 2])
        #expect(try store.revision(manifest: "web", number: 1) == web1)
        #expect(try store.revision(manifest: "web", number: 3) == nil)
        #expect(try store.revision(id: dns1.id) == dns1)
        #expect(try store.latestRevision(manifest: "web") == web2)
        #expect(try store.latestRevision(manifest: "nope") == nil)
        #expect(try store.manifests() == ["dns", "web"])
        #expect(web2.sourcePath == nil && web1.message == "first" && web1.sourcePath == "/etc/lvsctl/web.json")
    }

    @Test("an unchanged manifest returns the latest revision instead of a new one")
    func unchangedHash() throws {
        let store = try Store.inMemory()
        let a = try store.saveRevision(manifest: "web", content: "A", author: "alice")
        let again = try store.saveRevision(manifest: "web", content: "A", author: "bob", message: "no-op")
        #expect(again == a)
        let b = try store.saveRevision(manifest: "web", content: "B", author: "alice")
        // Going back to A's content is a change relative to the latest (B), so it is a new revision.
        let rollback = try store.saveRevision(manifest: "web", content: "A", author: "alice", kind: .rollback, basedOn: 1)
        #expect([a.number, b.number, rollback.number] == [Int]([1, 2, 3]))
        #expect(rollback.kind == .rollback && rollback.basedOn == 1 && rollback.contentHash == a.contentHash)
        #expect(try store.revisions(manifest: "web").count == 3)
    }

    @Test("content given in pieces is stored in rows that split no character, and read back whole")
    func contentInPieces() throws {
        let dir = try TempDir()
        let store = try Store(path: dir.file("lvsctl.db"))
        // 700 KB of mixed one- to four-byte characters: rows of 256 KiB end inside some of them.
        let unit = "{\"name\": \"wéb-😀-ø\"},\n"
        let content = String(repeating: unit, count: 700_000 / unit.utf8.count)
        let bytes = Array(content.utf8)
        var calls = 0
        let saved = try store.saveRevision(manifest: "web", contentHash: SHA256.hex(bytes), author: "alice") { piece in
            calls += 1
            for start in stride(from: 0, to: bytes.count, by: 999) {  // pieces split characters too
                bytes[start..<min(start + 999, bytes.count)].withUnsafeBytes { piece($0) }
            }
        }
        #expect(calls == 1 && saved.number == 1 && saved.content.isEmpty)
        let rows = try store.queryForTesting(
            "SELECT length(CAST(text AS BLOB)) FROM revision_chunk WHERE revision_id = \(saved.id) ORDER BY seq")
        #expect(rows.count == 3, "\(rows)")
        #expect(rows.dropLast().allSatisfy { Int($0[0] ?? "") ?? 0 > 256 * 1024 - 4 }, "\(rows)")
        #expect(try store.revision(id: saved.id)?.content == content)
        #expect(try store.revisions(manifest: "web", withContent: false).map(\.content) == [""])
        // Unchanged: the content is not written again, nor even produced.
        let again = try store.saveRevision(manifest: "web", contentHash: SHA256.hex(bytes), author: "bob") { _ in calls += 1 }
        #expect(calls == 1 && again.id == saved.id)
        // Empty content is one empty row, read back as "".
        let empty = try store.saveRevision(manifest: "web", content: "", author: "alice")
        #expect(try store.revision(id: empty.id)?.content == "")
        // Pieces that fill a row exactly (1 KiB each: 256 make a row).
        let exact = try store.saveRevision(manifest: "web", contentHash: SHA256.hex(bytes), author: "alice") { piece in
            for start in stride(from: 0, to: bytes.count, by: 1024) {
                bytes[start..<min(start + 1024, bytes.count)].withUnsafeBytes { piece($0) }
            }
        }
        #expect(try store.revision(id: exact.id)?.content == content)
    }

    @Test("revisions survive reopening the file")
    func persistence() throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        let saved = try Store(path: path).saveRevision(manifest: "web", content: "{}", author: "alice", kind: .import)
        let reopened = try Store(path: path)
        #expect(try reopened.latestRevision(manifest: "web") == saved)
        #expect(saved.kind == .import)
    }

    struct AuthorCase: CustomStringConvertible {
        var name: String
        var environment: [String: String]
        var expected: String
        var description: String { name }
    }

    @Test("the author comes from CI variables or the user", arguments: [
        AuthorCase(name: "explicit", environment: ["LVSCTL_AUTHOR": "deploy-bot", "USER": "root"], expected: "deploy-bot"),
        AuthorCase(
            name: "gitlab",
            environment: [
                "CI_JOB_ID": "812", "CI_PIPELINE_ID": "77", "CI_PROJECT_PATH": "net/lb", "GITLAB_USER_LOGIN": "alice",
                "USER": "gitlab-runner",
            ],
            expected: "gitlab-ci net/lb pipeline 77 job 812 (alice)"),
        AuthorCase(
            name: "github",
            environment: [
                "GITHUB_RUN_ID": "9001", "GITHUB_WORKFLOW": "deploy", "GITHUB_REPOSITORY": "acme/lb",
                "GITHUB_ACTOR": "bob", "USER": "runner",
            ],
            expected: "github-actions acme/lb workflow deploy run 9001 (bob)"),
        AuthorCase(name: "github minimal", environment: ["GITHUB_RUN_ID": "5"], expected: "github-actions run 5"),
        AuthorCase(
            name: "jenkins", environment: ["BUILD_NUMBER": "12", "JENKINS_URL": "https://ci", "JOB_NAME": "lb-apply"],
            expected: "jenkins lb-apply build 12"),
        AuthorCase(name: "sudo", environment: ["SUDO_USER": "carol", "USER": "root"], expected: "carol (via sudo)"),
        AuthorCase(name: "user", environment: ["USER": "dave", "LOGNAME": "other"], expected: "dave"),
        AuthorCase(name: "logname", environment: ["LOGNAME": "erin"], expected: "erin"),
        AuthorCase(name: "blank values ignored", environment: ["CI_JOB_ID": " ", "USER": "frank"], expected: "frank"),
        AuthorCase(name: "password database", environment: [:], expected: "from-passwd"),
    ])
    func author(_ c: AuthorCase) {
        #expect(Author.current(environment: c.environment, userName: { "from-passwd" }) == c.expected)
    }

    @Test("the author is stored with the revision")
    func authorStored() throws {
        let store = try Store.inMemory()
        let author = Author.current(environment: ["GITHUB_RUN_ID": "42", "GITHUB_WORKFLOW": "lb"])
        let revision = try store.saveRevision(manifest: "web", content: "{}", author: author)
        #expect(try store.latestRevision(manifest: "web")?.author == "github-actions workflow lb run 42")
        #expect(revision.author == author)
    }
}
