/// Why `docflow serve` could not start or keep serving, said in a sentence.
package enum ServerError: Error, CustomStringConvertible, Sendable {
    /// Another process listens on the HTTP port.
    case httpPortInUse(Int)
    /// The HTTP port could not be opened for another reason.
    case httpPortUnavailable(Int, reason: String)
    /// `shutdown()` or a signal came before the server was serving.
    case stoppedBeforeServing
    /// With `--queue-type quorum`, one of docflow's queues exists as another kind.
    case queueTypeMismatch(queue: String, wanted: String, broker: String)

    package var description: String {
        switch self {
        case .httpPortInUse(let port): "HTTP port \(port) is already in use"
        case .httpPortUnavailable(let port, let reason): "HTTP port \(port) cannot be opened: \(reason)"
        case .stoppedBeforeServing: "docflow stopped before it was serving"
        case .queueTypeMismatch(let queue, let wanted, let broker):
            "queue \(queue) exists with other arguments than a \(wanted) queue (\(broker)); migrate it (docs/operations.md, Broker clusters) or use --queue-type auto"
        }
    }
}
