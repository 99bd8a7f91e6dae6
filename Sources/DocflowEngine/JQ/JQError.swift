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
    /// No jq process could be started.
    case unavailable(String)

    package var description: String {
        switch self {
        case .compile(let message): "jq program does not compile: \(message)"
        case .runtime(let message): message
        case .timeout(let ms): "jq program did not finish within \(ms) ms"
        case .crashed(let reason): "jq crashed: \(reason)"
        case .unavailable(let reason): "jq is unavailable: \(reason)"
        }
    }
}
