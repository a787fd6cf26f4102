import Foundation
import LVSModel
import LVSStore
import Testing

@Suite("Writer lock")
struct LockTests {
    @Test("a second writer waits, times out naming the holder, and gets the lock after release")
    func contention() throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        let first = try Store(path: path)
        let second = try Store(path: path)
        let clock = ContinuousClock()

        let error = try first.withWriterLock(timeout: .seconds(1)) {
            let contents = try String(contentsOfFile: first.lockPath, encoding: .utf8)
            #expect(contents == "\(getpid())\n")
            let started = clock.now
            let error = try #require(throws: StoreError.self) {
                try second.withWriterLock(timeout: .milliseconds(300)) { Issue.record("second writer ran while locked") }
            }
            #expect(clock.now - started >= .milliseconds(300))
            return error
        }
        #expect(error == .lockTimeout(lockPath: path + ".lock", holderPID: getpid(), waitedSeconds: 0.3))
        #expect(
            error.description
                == "another lvsctl is applying (lock \(path).lock held by pid \(getpid())); waited 0.3 s — retry later or raise --lock-timeout"
        )

        let ran = try second.withWriterLock(timeout: .milliseconds(300)) { true }
        #expect(ran)
        #expect(try mode(path + ".lock") == 0o600)
    }

    @Test("the lock is released when the body throws")
    func releasedOnError() throws {
        let dir = try TempDir()
        let store = try Store(path: dir.file("lvsctl.db"))
        struct Boom: Error {}
        #expect(throws: Boom.self) { try store.withWriterLock(timeout: .seconds(1)) { throw Boom() } }
        #expect(try store.withWriterLock(timeout: .milliseconds(100)) { 7 } == 7)
    }

    @Test("a waiting writer proceeds as soon as the holder releases")
    func waitsThenProceeds() async throws {
        let dir = try TempDir()
        let path = dir.file("lvsctl.db")
        let holder = try Store(path: path)
        let waiter = try Store(path: path)
        let release = DispatchSemaphore(value: 0)
        let locked = DispatchSemaphore(value: 0)
        let thread = Thread {
            _ = try? holder.withWriterLock(timeout: .seconds(1)) {
                locked.signal()
                release.wait()
            }
        }
        thread.start()
        locked.wait()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { release.signal() }
        let value = try waiter.withWriterLock(timeout: .seconds(5)) { "got it" }
        #expect(value == "got it")
    }

    @Test("seconds in the timeout message", arguments: [(30.0, "30"), (0.3, "0.3"), (1.5, "1.5"), (2.04, "2")])
    func secondsFormat(_ input: Double, _ expected: String) {
        let error = StoreError.lockTimeout(lockPath: "/x.lock", holderPID: nil, waitedSeconds: input)
        #expect(error.description == "another lvsctl is applying (lock /x.lock held by another process); waited \(expected) s — retry later or raise --lock-timeout")
    }
}
