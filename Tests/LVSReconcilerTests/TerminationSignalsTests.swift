import LVSReconciler
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `TerminationSignals.holding`: a signal arriving inside the body is held and reported, and the
/// dispositions are as before afterwards. The guest test `sigtermDuringACLIApplyWaitsUntilItsWritesAreAudited`
/// checks the whole CLI path against the real kernel.
@Suite(.serialized) struct TerminationSignalsTests {
    func handler(_ sig: Int32) -> sighandler_t? {
        var now = sigaction()
        sigaction(sig, nil, &now)
        return now.__sigaction_handler.sa_handler
    }

    @Test func aSignalInsideTheBodyIsHeldAndReported() throws {
        try #require(handler(SIGTERM) == nil, "this test needs SIGTERM at its default disposition")
        let (value, signal) = TerminationSignals.holding { () -> Int in
            // Raise only if held: were it not, the default action would end the test process.
            guard handler(SIGTERM) != nil else { return -1 }
            // The test runner's threads may block SIGTERM; let it through on this one.
            var only = sigset_t(), saved = sigset_t()
            sigemptyset(&only)
            sigaddset(&only, SIGTERM)
            pthread_sigmask(SIG_UNBLOCK, &only, &saved)
            raise(SIGTERM)
            pthread_sigmask(SIG_SETMASK, &saved, nil)
            return 7
        }
        #expect(value == 7)
        #expect(signal == SIGTERM)
        #expect(handler(SIGTERM) == nil, "the default disposition is back")
        #expect(TerminationSignals.holding { 1 }.signal == nil, "nothing arrived this time")
    }

    @Test func anIgnoredSignalIsLeftAlone() {
        var before = sigaction()
        sigaction(SIGHUP, nil, &before)
        defer { sigaction(SIGHUP, &before, nil) }
        signal(SIGHUP, SIG_IGN)
        let (_, signal) = TerminationSignals.holding { () -> Bool in
            raise(SIGHUP)
            return true
        }
        #expect(signal == nil)
        #expect(handler(SIGHUP).map { unsafeBitCast($0, to: Int.self) } == unsafeBitCast(SIG_IGN, to: Int.self))
    }
}
