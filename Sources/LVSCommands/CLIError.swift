import ArgumentParser

/// An error the CLI reports as one line and exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body, turning errors into a readable `lvsctl: error: …` line and exit status 1.
func guarded(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        printError("lvsctl: error: \(error)")
        throw ExitStatus.failure.exitCode
    }
}
