extension LVSCommand {
    /// The version of lvsctl: the one place it is written. `lvsctl --version` prints it, and the
    /// director state file (`export -o state`) records the lvsctl that captured it.
    public static let version = "0.9.0"
}
