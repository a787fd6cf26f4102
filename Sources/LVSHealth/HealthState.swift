/// The health of one real server as the tracker sees it.
public enum HealthState: String, Hashable, Sendable, Codable {
    case up
    case down
}
