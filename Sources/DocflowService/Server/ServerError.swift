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
    /// Another docflow holds the database's lock file.
    case databaseLocked(database: String, lockFile: String, owner: OwnerIdentity?)
    /// The lock file could not be opened or written.
    case databaseLockUnavailable(path: String, reason: String)
    /// Another docflow serves the prefix (it holds `<prefix>.owner` on the broker).
    case prefixServed(prefix: String, owner: OwnerIdentity?)
    /// While the broker connection was down, another docflow took the prefix over.
    case prefixLost(prefix: String, owner: OwnerIdentity?)

    package var description: String {
        switch self {
        case .httpPortInUse(let port): "HTTP port \(port) is already in use"
        case .httpPortUnavailable(let port, let reason): "HTTP port \(port) cannot be opened: \(reason)"
        case .stoppedBeforeServing: "docflow stopped before it was serving"
        case .queueTypeMismatch(let queue, let wanted, let broker):
            "queue \(queue) exists with other arguments than a \(wanted) queue (\(broker)); migrate it (docs/operations.md, Broker clusters) or use --queue-type auto"
        case .databaseLocked(let database, let lockFile, let owner):
            "database \(database) is already in use by another docflow (\(owner.map { "\($0)" } ?? "identity unknown"); "
                + "it holds \(lockFile)): one docflow serve per database. Stop that process first, "
                + "or give this one another --database"
        case .databaseLockUnavailable(let path, let reason): "cannot lock \(path): \(reason)"
        case .prefixServed(let prefix, let owner):
            "prefix \(prefix) is already served by another docflow "
                + "(\(owner.map { "\($0)" } ?? "it holds the queue \(prefix).owner but did not answer")): "
                + "one docflow serve per prefix. Stop that process first, or give this one another --prefix"
        case .prefixLost(let prefix, let owner):
            "lost prefix \(prefix) while the broker connection was down: another docflow serves it now "
                + "(\(owner.map { "\($0)" } ?? "it holds the queue \(prefix).owner but did not answer")); "
                + "stopping so that two do not serve one prefix"
        }
    }
}
