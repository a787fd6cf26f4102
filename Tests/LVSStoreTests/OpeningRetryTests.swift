import Foundation
import GRDB
import LVSStore
import Testing

/// `Store.retryingWhileBusy`: an open that meets SQLITE_BUSY (a stale snapshot while another
/// process commits on a new store) is tried again; any other error, or a busy store past the
/// limit, is reported at once.
struct OpeningRetryTests {
    struct NotBusy: Error {}

    @Test func busyIsTriedAgainUntilTheOpenSucceeds() throws {
        var attempts = 0
        let value = try Store.retryingWhileBusy {
            attempts += 1
            if attempts < 3 { throw DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked") }
            return "open"
        }
        #expect(value == "open" && attempts == 3)
    }

    @Test func otherErrorsAreNotRetried() {
        var attempts = 0
        #expect(throws: NotBusy.self) {
            try Store.retryingWhileBusy {
                attempts += 1
                throw NotBusy()
            } as Void
        }
        #expect(attempts == 1)
        #expect(throws: DatabaseError.self) {
            try Store.retryingWhileBusy {
                attempts += 1
                throw DatabaseError(resultCode: .SQLITE_CORRUPT)
            } as Void
        }
        #expect(attempts == 2)
    }

    @Test func aStoreBusyPastTheLimitIsReported() {
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: DatabaseError.self) {
            try Store.retryingWhileBusy(limit: .milliseconds(200)) {
                throw DatabaseError(resultCode: .SQLITE_BUSY)
            } as Void
        }
        let took = clock.now - start
        #expect(took >= .milliseconds(200) && took < .seconds(5))
    }
}
