import Foundation
import LVSBGP
import LVSModel
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let site = BGPConfig(
    localAS: 65001, routerID: ["d1": .v4(0x0a14_0002)],
    peers: [BGPPeer(address: .v4(0x0a14_0001), asn: 65000)], drain: BGPDrain(seconds: 0))

/// A directory with stand-ins for `bird` and `birdc`: `bird -p` logs when it starts and ends
/// (sleeping between, so that a second update has time to interleave), `birdc configure`
/// answers as BIRD does.
private struct FakeBird {
    let dir: URL
    var log: String { dir.appendingPathComponent("bird.log").path }
    var bird: String { dir.appendingPathComponent("bird").path }
    var birdc: String { dir.appendingPathComponent("birdc").path }
    var paths: BirdPaths { BirdPaths(config: dir.appendingPathComponent("bird.conf").path, socket: dir.appendingPathComponent("bird.ctl").path) }

    init(checkSeconds: Double) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsctl-speaker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"start $3\" >> \(log)\nsleep \(checkSeconds)\necho \"end $3\" >> \(log)\n"
            .write(toFile: bird, atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho 'Reconfigured'\n".write(toFile: birdc, atomically: true, encoding: .utf8)
        chmod(bird, 0o755)
        chmod(birdc, 0o755)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    var events: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map { String($0.split(separator: " ")[0]) }
    }
}

@Suite("BGPSpeaker")
struct BGPSpeakerTests {
    /// Three updates with three different decisions, started together: BIRD's parser runs for
    /// one at a time (never two `start`s in a row), and the file left is the last decision's.
    /// Without the speaker's one-at-a-time gate the actor runs the second update while the first
    /// waits for `bird -p`, and the log shows `start start start end end end`.
    @Test func concurrentUpdatesAreSerialised() async throws {
        let fake = try FakeBird(checkSeconds: 0.3)
        defer { fake.remove() }
        let speaker = BGPSpeaker(node: "d1", paths: fake.paths, birdc: fake.birdc, bird: fake.bird)
        let vips: [IPAddress] = [.v4(0x0a0a_0064), .v4(0x0a0a_0065), .v4(0x0a0a_0066)]
        // Update i announces the first i + 1 addresses: each renders a different text.
        let updates = await withTaskGroup(of: BGPSpeaker.Update.self) { group in
            for i in vips.indices {
                let services = vips.prefix(i + 1).enumerated().map { j, a in
                    ServiceReadiness(name: "s\(j)", address: a, converged: true, healthy: 1, total: 1)
                }
                group.addTask {
                    await speaker.update(bgp: site, source: "test", services: services, director: .serving, now: 0)
                }
            }
            var out: [BGPSpeaker.Update] = []
            for await u in group { out.append(u) }
            return out
        }
        #expect(updates.allSatisfy { $0.configured }, "\(updates.map { $0.error })")
        let events = fake.events
        #expect(events.count == 6, "\(events)")
        #expect(events == Array(repeating: ["start", "end"], count: events.count / 2).flatMap { $0 }, "bird -p ran for one update at a time: \(events)")
        // The file holds what the speaker decided last: its routes now, rendered.
        let routes = await speaker.states.compactMap { a, s in s.isAnnounced ? VIPRoute(address: a, preference: .normal) : nil }
        let onDisk = try String(contentsOfFile: fake.paths.config, encoding: .utf8)
        #expect(onDisk == BirdConfig.render(site, node: "d1", routes: routes, source: "test"))
    }

    /// A text BIRD's parser refuses: the error names the config file, carries BIRD's message and
    /// the line it points at, and the file on disk is the one BIRD accepted before.
    @Test func refusedTextLeavesTheFileAndQuotesTheLine() async throws {
        let fake = try FakeBird(checkSeconds: 0)
        defer { fake.remove() }
        let speaker = BGPSpeaker(node: "d1", paths: fake.paths, birdc: fake.birdc, bird: fake.bird)
        let one = [ServiceReadiness(name: "web", address: .v4(0x0a0a_0064), converged: true, healthy: 1, total: 1)]
        let first = await speaker.update(bgp: site, source: "test", services: one, director: .serving, now: 0)
        #expect(first.configured)
        let accepted = try String(contentsOfFile: fake.paths.config, encoding: .utf8)
        // From now on `bird -p` refuses, as BIRD 2.0.12 does a link-local neighbour without an
        // interface: at the `}` that closes the protocol (it checks the options there).
        try "#!/bin/sh\necho refused >> \(fake.log)\nn=$(grep -n '^}' \"$3\" | tail -1 | cut -d: -f1)\necho \"bird: $3:$n:1 Link-local addresses require defined interface\" >&2\nexit 1\n"
            .write(toFile: fake.bird, atomically: true, encoding: .utf8)
        chmod(fake.bird, 0o755)
        var refused = site
        refused.peers = [BGPPeer(address: try #require(IPAddress("fe80::1")), asn: 65000)]
        let second = await speaker.update(bgp: refused, source: "test", services: one, director: .serving, now: 1)
        #expect(!second.configured)
        let error = try #require(second.error)
        #expect(error.hasPrefix("BIRD rejects the config rendered for \(fake.paths.config):"), "\(error)")
        #expect(error.contains("Link-local addresses require defined interface"), "\(error)")
        // The whole block is quoted, from its protocol line to the brace BIRD points at.
        #expect(error.contains("  line 16: protocol bgp peer_fe80__1 {\n  line 17: local as 65001;\n  line 18: neighbor fe80::1 as 65000;"), "\(error)")
        #expect(error.contains("  line 20: }\n"), "\(error)")
        #expect(error.contains("is unchanged and BIRD keeps its routes"), "\(error)")
        #expect(try String(contentsOfFile: fake.paths.config, encoding: .utf8) == accepted)
        #expect(!FileManager.default.fileExists(atPath: fake.paths.config + ".new"))
        // The same text again: the same error, without asking BIRD's parser again.
        let third = await speaker.update(bgp: refused, source: "test", services: one, director: .serving, now: 2)
        #expect(third.error == second.error)
        #expect(fake.events.filter { $0 == "refused" }.count == 1, "\(fake.events)")
    }

    /// BIRD down while the decision goes A → B → A: the file must end as A (what BIRD will start
    /// from), and once BIRD answers the speaker reconfigures it. A speaker that remembered A as
    /// "configured" through the failures would skip the third install and leave B in the file.
    @Test func afterAFailureTheNextUpdateInstallsEvenAnUnchangedText() async throws {
        let fake = try FakeBird(checkSeconds: 0)
        defer { fake.remove() }
        let down = fake.dir.appendingPathComponent("down").path
        try "#!/bin/sh\nif [ -e \(down) ]; then echo 'Unable to connect to server control socket (x): Connection refused'; exit 1; fi\necho configure >> \(fake.log)\necho 'Reconfigured'\n"
            .write(toFile: fake.birdc, atomically: true, encoding: .utf8)
        chmod(fake.birdc, 0o755)
        let speaker = BGPSpeaker(node: "d1", paths: fake.paths, birdc: fake.birdc, bird: fake.bird)
        let a = [ServiceReadiness(name: "web", address: .v4(0x0a0a_0064), converged: true, healthy: 1, total: 1)]
        let b = a + [ServiceReadiness(name: "dns", address: .v4(0x0a0a_0065), converged: true, healthy: 1, total: 1)]
        #expect(await speaker.update(bgp: site, source: "test", services: a, director: .serving, now: 0).configured)
        let textA = try String(contentsOfFile: fake.paths.config, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: down, contents: nil)
        let toB = await speaker.update(bgp: site, source: "test", services: b, director: .serving, now: 1)
        #expect(!toB.configured && toB.error?.contains("BIRD is not running on \(fake.paths.socket)") == true, "\(toB.error ?? "")")
        let backToA = await speaker.update(bgp: site, source: "test", services: a, director: .serving, now: 2)
        #expect(!backToA.configured)
        #expect(try String(contentsOfFile: fake.paths.config, encoding: .utf8) == textA, "the file holds the decision BIRD will start from")
        try FileManager.default.removeItem(atPath: down)
        let up = await speaker.update(bgp: site, source: "test", services: a, director: .serving, now: 3)
        #expect(up.configured)
        #expect(fake.events.filter { $0 == "configure" }.count == 2, "configured at first and again once BIRD answered: \(fake.events)")
    }
}
