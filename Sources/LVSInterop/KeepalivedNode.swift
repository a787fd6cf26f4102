import LVSModel

/// One keyword line of a keepalived.conf with its `{ … }` block, if it has one.
public struct KeepalivedNode: Hashable, Sendable {
    /// The keyword (first word).
    public var keyword: String
    /// The words after the keyword.
    public var args: [String]
    public var file: String
    public var line: Int
    /// The statements inside the block; nil when the keyword has no block.
    public var children: [KeepalivedNode]?

    public init(keyword: String, args: [String], file: String, line: Int, children: [KeepalivedNode]? = nil) {
        self.keyword = keyword
        self.args = args
        self.file = file
        self.line = line
        self.children = children
    }

    /// `file:line`, for messages.
    public var location: String { "\(file):\(line)" }

    /// Builds the block tree from lexed statements. A `{` opens the block of the statement right
    /// before it (on the same line or the next); unbalanced braces become diagnostics.
    /// Blocks nest at most this deep. keepalived's own nest four levels (virtual_server,
    /// real_server, checker, url); a tree tens of thousands of levels deep (a file of unclosed
    /// blocks) overflowed the stack when it was freed.
    static let maxDepth = 16

    public static func build(_ statements: [KeepalivedStatement]) -> (nodes: [KeepalivedNode], diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        // A stack of open blocks: the owner node and the children collected so far.
        var stack: [(owner: KeepalivedNode?, children: [KeepalivedNode])] = [(nil, [])]
        var previousWasKeyword = false
        for st in statements {
            if st.isOpen && stack.count > maxDepth {
                diagnostics.append(Diagnostic(
                    .error, file: st.file, line: st.line,
                    message: "blocks nested deeper than \(maxDepth) levels; the rest of the configuration is not read",
                    hint: "close the blocks that are left open (keepalived's blocks nest at most four levels)"))
                break
            }
            if st.isOpen {
                var top = stack.removeLast()
                if previousWasKeyword, let owner = top.children.popLast() {
                    stack.append(top)
                    stack.append((owner, []))
                } else {
                    diagnostics.append(Diagnostic(
                        .error, file: st.file, line: st.line,
                        message: "'{' without a keyword before it",
                        hint: "put the keyword that owns this block before the '{'"))
                    stack.append(top)
                    top = (KeepalivedNode(keyword: "{", args: [], file: st.file, line: st.line), [])
                    stack.append(top)
                }
                previousWasKeyword = false
                continue
            }
            if st.isClose {
                previousWasKeyword = false
                if stack.count == 1 {
                    diagnostics.append(Diagnostic(
                        .error, file: st.file, line: st.line, message: "extra '}' found",
                        hint: "remove it or add the missing '{'"))
                    continue
                }
                let done = stack.removeLast()
                if var owner = done.owner {
                    owner.children = done.children
                    if owner.keyword != "{" { stack[stack.count - 1].children.append(owner) }
                }
                continue
            }
            guard let keyword = st.words.first else { continue }
            stack[stack.count - 1].children.append(
                KeepalivedNode(keyword: keyword, args: Array(st.words.dropFirst()), file: st.file, line: st.line))
            previousWasKeyword = true
        }
        while stack.count > 1 {
            let done = stack.removeLast()
            if var owner = done.owner {
                diagnostics.append(Diagnostic(
                    .error, file: owner.file, line: owner.line,
                    message: "block '\(excerpt: owner.keyword)' opened here is never closed",
                    hint: "add the missing '}'"))
                owner.children = done.children
                if owner.keyword != "{" { stack[stack.count - 1].children.append(owner) }
            }
        }
        return (stack[0].children, diagnostics)
    }
}
