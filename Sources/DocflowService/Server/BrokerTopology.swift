import AMQPClient
import DocflowClient
import DocflowCore
import Logging

/// docflow's exchanges, queues and bindings (contract sections 1, 2, 4 and 5), and the kind of
/// queue each of its own durable queues gets (`QueueType`).
struct BrokerTopology {
    /// Redeliveries after which the broker dead-letters a message that crashes the worker again
    /// and again (quorum queues only).
    static let deliveryLimit = 5

    let names: Names
    let queueType: QueueType
    let logger: Logger

    /// Declares everything on `channel`; its connection's server properties decide, in `auto`
    /// mode, whether the queues are quorum queues.
    func declare(on channel: AMQPChannel) async throws {
        try await channel.declare(AMQPExchange(names.statusExchange, kind: .topic))
        // Declaring waited for the connection: the broker has said what it is.
        var version: String?
        if case .string(let value) = channel.connection.serverProperties["version"] { version = value }
        let quorum = queueType == .quorum || (queueType == .auto && QueueType.brokerHasQuorumQueues(version: version))
        if queueType == .auto && !quorum {
            logger.info(
                "the broker has no quorum queues: declaring classic ones",
                metadata: ["broker_version": "\(version ?? "")"])
        }
        try await channel.declare(AMQPExchange(names.deadLetterExchange, kind: .fanout))
        try await declare(names.deadLetterQueue, quorum: quorum, deadLettered: false, on: channel)
        try await channel.bind(
            AMQPBinding(queue: names.deadLetterQueue, exchange: names.deadLetterExchange, routingKey: ""))
        try await declare(names.apiQueue, quorum: quorum, deadLettered: true, on: channel)
        try await channel.declare(AMQPExchange(names.eventsExchange, kind: .topic))
        try await declare(names.platformEventsQueue, quorum: quorum, deadLettered: true, on: channel)
        for event in PlatformEvent.allCases {
            try await channel.bind(
                AMQPBinding(
                    queue: names.platformEventsQueue, exchange: names.eventsExchange, routingKey: event.rawValue))
        }
    }

    /// The queue `name`, dead-lettering to docflow's dead-letter exchange when `deadLettered`.
    static func queue(_ name: String, quorum: Bool, deadLettered: Bool, names: Names) -> AMQPQueue {
        let deadLetterExchange = deadLettered ? names.deadLetterExchange : nil
        if quorum {
            return .quorum(
                name, deliveryLimit: deadLettered ? deliveryLimit : nil, deadLetterExchange: deadLetterExchange)
        }
        return AMQPQueue(
            name, durable: true, arguments: deadLetterExchange.map { ["x-dead-letter-exchange": .string($0)] } ?? [:])
    }

    private func declare(_ name: String, quorum: Bool, deadLettered: Bool, on channel: AMQPChannel) async throws {
        let queue = Self.queue(name, quorum: quorum, deadLettered: deadLettered, names: names)
        do {
            try await channel.declare(queue)
        } catch let error as AMQPError where error.replyName == "PRECONDITION_FAILED" && queueType != .quorum {
            // The queue exists with other arguments, most likely a classic queue of an older
            // docflow: redeclaring cannot change that, deleting it would lose its messages.
            let info = try await channel.inspectQueue(name)
            logger.warning(
                "queue exists with other arguments: using it as it is",
                metadata: [
                    "queue": "\(name)", "wanted": "\(quorum ? "quorum" : "classic")", "broker_says": "\(error)",
                    "messages": "\(info.messageCount)",
                    "migrate":
                        "stop every docflow of this prefix, move or drain the queue's messages, delete the queue, start docflow again (docs/operations.md, Broker clusters)",
                ])
        } catch let error as AMQPError where error.replyName == "PRECONDITION_FAILED" {
            throw ServerError.queueTypeMismatch(queue: name, wanted: queueType.rawValue, broker: "\(error)")
        }
    }
}
