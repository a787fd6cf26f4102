import ArgumentParser

/// lvsctl's exit codes: the one place they are defined. Commands exit through these, the
/// top-level help and lvsctl(8) print `documentation`, and DocsTests checks README's "Exit codes"
/// table against `allCases`.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    case failure = 1
    case pending = 2
    /// What swift-argument-parser exits with for a usage error (EX_USAGE from sysexits.h): kept,
    /// since scripts written for argument-parser tools expect it, and it cannot be confused with
    /// "changes pending".
    case usage = 64

    var exitCode: ExitCode { ExitCode(rawValue) }

    var meaning: String {
        switch self {
        case .success: "success; no changes pending; no drift; equal revisions (diff)"
        case .failure: "an error: the message on standard error names the place and what to do"
        case .pending: "something is pending: changes (plan --detailed-exitcode), drift (drift), differing revisions (diff), missing pieces (realserver status)"
        case .usage: "a usage error: an unknown flag, a missing or malformed option value"
        }
    }

    /// The exit codes as the help and the man page print them.
    static var documentation: String {
        "Exit codes: " + allCases.map { "\($0.rawValue) \($0.meaning)" }.joined(separator: "; ") + "."
    }
}
