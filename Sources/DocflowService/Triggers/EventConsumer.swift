import AMQPClient
import Crypto
import DocflowCore
import DocflowEngine
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Starts workflows from platform events (contract section 2). Each event starts every enabled
/// workflow it matches once: the claim `(workflow, event id)` commits with the execution, and
/// the event is acked only after that commit. Garbage goes to the dead-letter queue.
final class EventConsumer: Service, Sendable {
    private let channel: AMQPChannel
    private let queue: String
    private let index: TriggerIndex
    private let engine: Engine
    private let deadLetters: DeadLetters
    /// Larger events are dead-lettered unread.
    private let maxMessageBytes: Int
    private let metrics: ServiceMetrics
    private let logger: Logger

    init(
        channel: AMQPChannel, queue: String, index: TriggerIndex, engine: Engine, deadLetters: DeadLetters,
        maxMessageBytes: Int = MessageLimits().maxMessageBytes, metrics: ServiceMetrics, logger: Logger
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.channel = channel
        self.queue = queue
        self.index = index
        self.engine = engine
        self.deadLetters = deadLetters
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        logger.info("consuming platform events", metadata: ["queue": "\(queue)"])
        // `accept` is quick and never waits, so it runs on the connection's thread as each event
        // arrives; only dead-lettering gets a task.
        let consumer = try await channel.consume(queue: queue) { [self] delivery in accept(delivery) }
        try await withGracefulShutdownHandler {
            for try await _ in consumer {}
        } onGracefulShutdown: {
            Task { try? await consumer.cancel() }
        }
    }

    /// A platform event as it arrives.
    struct Event {
        let id: String
        let name: String
        let data: [String: JSONValue]
    }

    /// Starts what `delivery` triggers without waiting: each start is queued for the journal, and
    /// the event is acked from the journal's commit (nacked if it failed). Only garbage, which goes
    /// to the dead-letter queue, gets a task.
    func accept(_ delivery: AMQPDelivery) {
        metrics.consumed(queue)
        let event: Event
        do throws(Garbage) {
            guard delivery.body.count <= maxMessageBytes else {
                throw Garbage(
                    description: "the event is \(delivery.body.count) bytes, more than the \(maxMessageBytes) "
                        + "docflow accepts (--max-message-bytes)")
            }
            event = try Self.parse(delivery)
        } catch {
            metrics.deadLettered(queue)
            Task { [deadLetters] in await deadLetters.deadLetter(delivery, reason: error.description) }
            return
        }
        var logger = self.logger
        logger[metadataKey: "event_id"] = "\(event.id)"
        logger[metadataKey: "event"] = "\(event.name)"
        var data = event.data
        data["event_id"] = .string(event.id)
        let triggerData = JSONValue.object(data)
        let workflows = index.matches(event: event.name, data: event.data)
        guard !workflows.isEmpty else { return delivery.ack() }
        let settle = Settlement(delivery: delivery, count: workflows.count, logger: logger)
        for workflow in workflows {
            let request = StartRequest.event(
                workflow, eventID: event.id, triggerData: triggerData, redelivered: delivery.redelivered)
            engine.start(request) { [logger] result in
                if case .success(.refused) = result {
                    logger.debug("event already started this workflow", metadata: ["workflow_id": "\(workflow.id)"])
                }
                settle.resolved(result)
            }
        }
    }

    /// Acks an event once the starts of all its workflows are committed; nacks it (to come again,
    /// where claims keep it from starting anything twice) if one could not be written.
    private final class Settlement: Sendable {
        private let delivery: AMQPDelivery
        private let logger: Logger
        private let state: Mutex<(left: Int, error: (any Error)?)>

        init(delivery: AMQPDelivery, count: Int, logger: Logger) {
            self.delivery = delivery
            self.logger = logger
            state = Mutex((count, nil))
        }

        func resolved(_ result: Result<StartOutcome, any Error>) {
            let (done, error) = state.withLock { state -> (Bool, (any Error)?) in
                if case .failure(let error) = result, state.error == nil { state.error = error }
                state.left -= 1
                return (state.left == 0, state.error)
            }
            guard done else { return }
            if let error {
                logger.error("could not start workflows for an event; requeueing", metadata: ["error": "\(error)"])
                delivery.nack(requeue: true)
            } else {
                delivery.ack()
            }
        }
    }

    struct Garbage: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ delivery: AMQPDelivery) throws(Garbage) -> Event {
        let json: JSONValue
        do {
            json = try JSONValue.parse(delivery.body)
        } catch {
            throw Garbage(description: "event body is \(error)")
        }
        guard case .object(let fields) = json else { throw Garbage(description: "event must be a JSON object") }
        guard let name = fields["event"]?.stringValue, !name.isEmpty else {
            throw Garbage(description: "event has no event name (the \"event\" field)")
        }
        let data: [String: JSONValue]
        switch fields["data"] {
        case nil, .null?: data = [:]
        case .object(let object)?: data = object
        default: throw Garbage(description: "event data must be a JSON object")
        }
        // Without an id, the body's digest stands in: a redelivered copy is still the same event.
        let id =
            fields["id"]?.stringValue ?? delivery.properties.messageID
            ?? "sha256:" + SHA256.hash(data: delivery.body).map { String(format: "%02x", $0) }.joined()
        return Event(id: id, name: name, data: data)
    }
}
