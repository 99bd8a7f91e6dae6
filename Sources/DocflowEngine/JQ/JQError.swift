/// Why a jq program did not produce a result.
package enum JQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The program does not compile; jq's own message.
    case compile(String)
    /// The program raised an error (`error("boom")` gives `boom`).
    case runtime(String)
    /// The program ran past its deadline and its process was killed.
    case timeout(milliseconds: Int64)
    /// The jq process died while running the program.
    case crashed(String)
    /// No jq process could be started (no descriptors left, say), or the pool is shut down: the
    /// worker's trouble, not the program's, so another try may succeed.
    case unavailable(String)
    /// The task that asked was cancelled; a program it had running was killed.
    case cancelled
    /// The program's results came to more than the pool's `maxReplyBytes` of JSON; it was killed
    /// before docflow read the rest.
    case outputTooLarge(limit: Int)

    package var description: String {
        switch self {
        case .compile(let message): "jq program does not compile: \(message)"
        case .runtime(let message): message
        case .timeout(let ms): "jq program did not finish within \(ms) ms"
        case .crashed(let reason): "jq crashed: \(reason)"
        case .unavailable(let reason): "jq is unavailable: \(reason)"
        case .cancelled: "cancelled"
        case .outputTooLarge(let limit):
            "the step's output is larger than \(limit) bytes of JSON, the most a step may produce "
                + "(--max-step-output-bytes); the jq program was stopped"
        }
    }
}
