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
        let quorum = quorumQueues(on: channel)
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

    /// Whether docflow's queues are quorum queues on `channel`'s broker; call after a declaration,
    /// which waits for the connection: the broker has said what it is by then.
    private func quorumQueues(on channel: AMQPChannel) -> Bool {
        var version: String?
        if case .string(let value) = channel.connection.serverProperties["version"] { version = value }
        let quorum = queueType == .quorum || (queueType == .auto && QueueType.brokerHasQuorumQueues(version: version))
        if queueType == .auto && !quorum {
            logger.info(
                "the broker has no quorum queues: declaring classic ones",
                metadata: ["broker_version": "\(version ?? "")"])
        }
        return quorum
    }

    /// The queues of steps sent to workers: one per type in `types`, each dead-lettering to the
    /// results queue (a task given back `deliveryLimit` times, or expired, reaches the engine as
    /// such), and the results queue, which one engine consumes at a time. The engine and every
    /// worker declare them alike.
    func declareTasks(_ types: [StepType], on channel: AMQPChannel) async throws {
        // The dead-letter exchange first: it also makes the connection say what broker it is.
        try await channel.declare(AMQPExchange(names.deadLetterExchange, kind: .fanout))
        let quorum = quorumQueues(on: channel)
        var results = Self.queue(names.resultsQueue, quorum: quorum, deadLettered: true, names: names)
        results.arguments["x-single-active-consumer"] = .bool(true)
        try await declare(results, on: channel)
        for type in types {
            var arguments: [String: AMQPFieldValue] = [
                "x-dead-letter-exchange": .string(""), "x-dead-letter-routing-key": .string(names.resultsQueue),
            ]
            if quorum {
                arguments["x-queue-type"] = "quorum"
                arguments["x-delivery-limit"] = .int(Int64(Self.deliveryLimit))
            }
            try await declare(
                AMQPQueue(names.taskQueue(type.rawValue), durable: true, arguments: arguments), on: channel)
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
        try await declare(Self.queue(name, quorum: quorum, deadLettered: deadLettered, names: names), on: channel)
    }

    private func declare(_ queue: AMQPQueue, on channel: AMQPChannel) async throws {
        let name = queue.name
        let quorum = queue.arguments["x-queue-type"] == "quorum"
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
