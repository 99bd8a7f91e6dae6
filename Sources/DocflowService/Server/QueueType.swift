/// The kind of queue docflow declares for its own durable queues (`--queue-type`).
package enum QueueType: String, Sendable, CaseIterable {
    /// Quorum queues when the broker has them (RabbitMQ 3.8 and later), classic otherwise; a
    /// queue that already exists with other arguments (a classic one from an older deployment)
    /// is used as it is, with a warning that says how to migrate it.
    case auto
    /// Quorum queues, or docflow does not start: for clusters, where a classic queue lives on one
    /// node and stops when that node does.
    case quorum
    /// Classic queues, without a delivery limit; an existing queue of another kind is kept, with a
    /// warning.
    case classic

    /// Whether a RabbitMQ of this `version` (the broker's server property) has quorum queues; an
    /// unreadable version is taken to have them.
    static func brokerHasQuorumQueues(version: String?) -> Bool {
        guard let version else { return true }
        let numbers = version.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) }
        guard numbers.count == 2, let major = numbers[0], let minor = numbers[1] else { return true }
        return (major, minor) >= (3, 8)
    }
}
