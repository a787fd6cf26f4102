#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who is changing the kernel: a CI identity when running in a pipeline, else the user.
public enum Author {
    /// The author to record for the current process.
    ///
    /// In order: `LVSCTL_AUTHOR`; GitLab CI (`CI_JOB_ID`, `CI_PIPELINE_ID`, `CI_PROJECT_PATH`,
    /// `GITLAB_USER_LOGIN`); GitHub Actions (`GITHUB_RUN_ID`, `GITHUB_WORKFLOW`, `GITHUB_REPOSITORY`,
    /// `GITHUB_ACTOR`); Jenkins (`BUILD_NUMBER` with `JENKINS_URL`, `JOB_NAME`); then the user:
    /// `SUDO_USER` (as `alice (via sudo)`), `USER`, `LOGNAME`, or the name of the effective uid.
    /// - Parameters:
    ///   - environment: the process environment (pass `ProcessInfo.processInfo.environment`).
    ///   - userName: fallback when the environment names no user; defaults to the effective uid's name.
    public static func current(
        environment: [String: String], userName: () -> String? = Author.effectiveUserName
    ) -> String {
        func value(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingWhitespace, !v.isEmpty else { return nil }
            return v
        }
        if let explicit = value("LVSCTL_AUTHOR") { return explicit }
        if let job = value("CI_JOB_ID") {
            var s = "gitlab-ci"
            if let project = value("CI_PROJECT_PATH") { s += " \(project)" }
            if let pipeline = value("CI_PIPELINE_ID") { s += " pipeline \(pipeline)" }
            s += " job \(job)"
            if let user = value("GITLAB_USER_LOGIN") { s += " (\(user))" }
            return s
        }
        if let run = value("GITHUB_RUN_ID") {
            var s = "github-actions"
            if let repo = value("GITHUB_REPOSITORY") { s += " \(repo)" }
            if let workflow = value("GITHUB_WORKFLOW") { s += " workflow \(workflow)" }
            s += " run \(run)"
            if let actor = value("GITHUB_ACTOR") { s += " (\(actor))" }
            return s
        }
        if let build = value("BUILD_NUMBER"), value("JENKINS_URL") != nil {
            var s = "jenkins"
            if let job = value("JOB_NAME") { s += " \(job)" }
            return s + " build \(build)"
        }
        if let sudoUser = value("SUDO_USER") { return "\(sudoUser) (via sudo)" }
        if let user = value("USER") ?? value("LOGNAME") { return user }
        if let name = userName(), !name.isEmpty { return name }
        return "uid \(geteuid())"
    }

    /// The login name of the effective user id, from the password database.
    public static func effectiveUserName() -> String? {
        guard let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
