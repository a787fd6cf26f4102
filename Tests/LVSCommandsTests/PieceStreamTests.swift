import Foundation
import Testing

@testable import LVSCommands

@Suite("PieceStream")
struct PieceStreamTests {
    /// Every byte arrives once and in order, whether the consumer is slower than the producer
    /// (the window fills and the producer waits) or faster; an empty stream ends at once.
    @Test(arguments: [0, 1, 3, 4, 5, 200])
    func piecesArriveInOrder(count: Int) {
        let expected = (0..<count).flatMap { i in [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 1 + i % 7) }
        for slowConsumer in [false, true] {
            let stream = PieceStream("test-pieces") { piece in
                for i in 0..<count {
                    [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 1 + i % 7).withUnsafeBytes { piece($0) }
                }
            }
            var received: [UInt8] = []
            var pieces = 0
            stream.forEach { piece in
                if slowConsumer && pieces % 16 == 0 { usleep(1_000) }
                received.append(contentsOf: piece)
                pieces += 1
            }
            #expect(pieces == count)
            #expect(received == expected)
        }
    }
}
