public import LVSModel
import Foundation
import LVSSocket

/// Where a director's BIRD and lvsctl meet: the config lvsctl renders and BIRD's control socket.
public struct BirdPaths: Hashable, Sendable {
    /// `--bird-config` / `LVSCTL_BIRD_CONFIG`: the file BIRD runs (`bird -c`).
    public var config: String
    /// `--bird-socket` / `LVSCTL_BIRD_SOCKET`.
    public var socket: String

    public static let defaultConfig = "/etc/lvsctl/bird.conf"

    public init(config: String = BirdPaths.defaultConfig, socket: String = BirdControl.defaultSocket) {
        self.config = config
        self.socket = socket
    }
}

/// One director's announcements over time: decides (``Announcement``), steps the drain clock
/// (``Announcer``), renders (``BirdConfig``) and makes BIRD take the result, only when the text
/// changes.
///
/// What must stay true: BIRD's config file is replaced only by a text BIRD's parser (`bird -p`)
/// accepted, and ``Update/configured`` says whether BIRD is running what was decided; when it is
/// not (BIRD down, a refusal) the next update tries again, whatever the file holds.
public actor BGPSpeaker {
    public let node: String
    public let paths: BirdPaths
    let control: BirdControl
    private var announcer = Announcer()
    /// The text BIRD last accepted from this speaker; nil until the first success and after a
    /// failure.
    private var configured: String?
    /// The last text BIRD's parser refused, with the error: the same text is not checked again
    /// (BIRD's answer does not change), and no candidate file is left lying around for it.
    private var refused: (text: String, error: String)?
    /// One update at a time: an update suspends while BIRD checks and loads its text, and a
    /// second one interleaved there would install an older decision after a newer one.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// - Parameters:
    ///   - birdc, bird: the programs (found on PATH by default); tests pass stand-ins.
    public init(node: String, paths: BirdPaths, birdc: String = "birdc", bird: String = "bird") {
        self.node = node
        self.paths = paths
        control = BirdControl(socket: paths.socket, birdc: birdc, bird: bird)
    }

    /// What one update decided and did.
    public struct Update: Sendable {
        public var verdicts: [IPAddress: AnnounceVerdict]
        public var transitions: [RouteTransition]
        public var states: [IPAddress: RouteState]
        /// BIRD runs the decided routes (false: see `error`).
        public var configured: Bool
        /// Why BIRD does not run them.
        public var error: String?
        /// When to update again to finish a drain (seconds, the caller's clock).
        public var nextDeadline: Double?
    }

    /// Decides, steps and configures. `bgp` nil: no manifest declares BGP (nothing is announced
    /// and BIRD is left alone).
    /// - Parameter notLocal: announced addresses the director does not hold (``VIPPlacement``).
    public func update(
        bgp: BGPConfig?, source: String, services: [ServiceReadiness], director: DirectorCondition, now: Double,
        notLocal: Set<IPAddress> = []
    ) async -> Update {
        guard let bgp else {
            return Update(verdicts: [:], transitions: [], states: [:], configured: true, error: nil, nextDeadline: nil)
        }
        await acquire()
        defer { release() }
        let verdicts = Announcement.verdicts(
            services: services, director: director, threshold: bgp.announceThreshold, notLocal: notLocal)
        var next = announcer
        let transitions = next.step(verdicts: verdicts, now: now, drainSeconds: Double(bgp.drain.seconds))
        let text = BirdConfig.render(bgp, node: node, routes: next.routes, source: source)
        var failure: String?
        if text != configured, let refused, refused.text == text {
            failure = refused.error
        } else if text != configured {
            do {
                try await install(text)
                configured = text
            } catch {
                // The routes stay as BIRD has them; the decision is kept so the drain clock keeps
                // running, and the next update installs what is due then. What BIRD runs is no
                // longer known (the file may hold a text BIRD never loaded: with BIRD down, a
                // decision A, then B, then A again would otherwise leave B in the file for BIRD
                // to start from), so the next update installs even an unchanged text.
                configured = nil
                failure = "\(error)"
            }
        }
        announcer = next
        return Update(
            verdicts: verdicts, transitions: transitions, states: announcer.states, configured: failure == nil, error: failure,
            nextDeadline: announcer.nextDeadline)
    }

    /// The routes as decided now.
    public var states: [IPAddress: RouteState] { announcer.states }

    /// BIRD's BGP sessions (one per peer).
    public func sessions() async throws -> [BirdProtocolStatus] {
        try await control.bgpSessions()
    }

    /// Checks `text` with BIRD's parser in a file beside the config, then moves it over the
    /// config and reconfigures. A refused text leaves the config file as it was.
    private func install(_ text: String) async throws {
        let candidate = paths.config + ".new"
        try AtomicFile.write(text, to: candidate)
        do {
            try await control.check(file: candidate)
        } catch BirdControl.Failure.rejected(_, let output) {
            unlink(candidate)
            // BIRD names the candidate, which is gone now: name the file it was meant for and
            // quote the lines BIRD points at, so the operator sees what BIRD refused.
            let failure = BirdControl.Failure.rejected(
                file: paths.config, output: BirdControl.quotingLines(output, of: text, file: candidate))
            // Only the parser's refusal is remembered: a refusal of the running BIRD (it cannot
            // read the file, say) may go away without the text changing.
            refused = (text, "\(failure)")
            throw failure
        } catch {
            unlink(candidate)
            throw error
        }
        guard rename(candidate, paths.config) == 0 else {
            throw AtomicFile.Failure(description: "cannot replace \(paths.config): \(String(cString: strerror(errno)))")
        }
        try await control.configure(file: paths.config)
    }
}
