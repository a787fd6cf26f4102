import Foundation

/// A condition a test waited for did not come true in time.
public struct WaitTimeout: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Double
    /// What the lab looked like when the wait gave up (tables, logs), for the failure message.
    public var diagnostics: String
    public var description: String {
        "timed out after \(timeout) s waiting for \(what)" + (diagnostics.isEmpty ? "" : "\n\(diagnostics)")
    }
}

/// Polls `condition` every `interval` seconds until it holds; returns the seconds it took.
///
/// Kernel tests wait with a deadline, never a fixed sleep: the lab guest is emulated and shares
/// the machine, so anything may take several times longer than on hardware. On timeout this
/// throws ``WaitTimeout`` carrying `diagnostics`, evaluated only then.
@discardableResult
public func waitFor(
    _ what: String, timeout: Double, interval: Double = 0.2, diagnostics: @autoclosure () -> String = "",
    _ condition: () throws -> Bool
) throws -> Double {
    let start = Date()
    while true {
        if try condition() { return Date().timeIntervalSince(start) }
        if Date().timeIntervalSince(start) >= timeout { break }
        Thread.sleep(forTimeInterval: interval)
    }
    throw WaitTimeout(what: what, timeout: timeout, diagnostics: diagnostics())
}
