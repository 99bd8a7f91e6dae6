/// Why a document parsed in a `docflow-parse` helper gave no `ParsedDocument`.
package enum ParserError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The document cannot be read: the parser's own message (`DocumentError`).
    case document(String)
    /// The deadline passed: while the parse waited for a helper (`waiting`), or while its helper
    /// ran, which was then killed.
    case timeout(waiting: Bool)
    /// The task that asked was cancelled; a helper it had running was killed.
    case cancelled
    /// The helper died without a reply: killed by its memory or CPU cap, or crashed. Says how,
    /// naming the limit.
    case crashed(String)
    /// The reply passed `limit` bytes; the helper was killed.
    case outputTooLarge(limit: Int)
    /// No helper could be started (no descriptors or processes left, no binary): docflow's
    /// trouble, not the document's, so another try may succeed.
    case unavailable(String)

    package var description: String {
        switch self {
        case .document(let message): message
        case .timeout(waiting: true): "parsing timed out waiting for a parser"
        case .timeout(waiting: false): "parsing timed out; the parser was stopped"
        case .cancelled: "cancelled"
        case .crashed(let reason): reason
        case .outputTooLarge(let limit):
            "its text is larger than \(limit) bytes of JSON, the largest step output (--max-step-output-bytes)"
        case .unavailable(let reason): "the document parser is unavailable: \(reason)"
        }
    }
}
