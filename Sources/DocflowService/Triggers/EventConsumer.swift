import AMQPClient
import Crypto
import DocflowCore
import DocflowEngine
import Foundation
import Logging
import ServiceLifecycle

/// Starts workflows from platform events (contract section 2). Each event starts every enabled
/// workflow it matches once: the claim `(workflow, event id)` commits with the execution, and
/// the event is acked only after that commit. Garbage goes to the dead-letter queue.
final class EventConsumer: Service, Sendable {
    private let channel: AMQPChannel
    private let queue: String
    private let index: TriggerIndex
    private let engine: Engine
    private let deadLetters: DeadLetters
    private let metrics: ServiceMetrics
    private let logger: Logger

    init(
        channel: AMQPChannel, queue: String, index: TriggerIndex, engine: Engine, deadLetters: DeadLetters,
        metrics: ServiceMetrics, logger: Logger
    ) {
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
        try await consumeUntilShutdown(channel, queue: queue) { await self.handle($0) }
    }

    /// A platform event as it arrives.
    struct Event {
        let id: String
        let name: String
        let data: [String: JSONValue]
    }

    func handle(_ delivery: AMQPDelivery) async {
        metrics.consumed(queue)
        let event: Event
        do {
            event = try Self.parse(delivery)
        } catch {
            metrics.deadLettered(queue)
            return await deadLetters.deadLetter(delivery, reason: error.description)
        }
        var logger = self.logger
        logger[metadataKey: "event_id"] = "\(event.id)"
        logger[metadataKey: "event"] = "\(event.name)"
        var data = event.data
        data["event_id"] = .string(event.id)
        let triggerData = JSONValue.object(data)
        let workflows = index.matches(event: event.name, data: event.data)
        // A first delivery starts running at once, while its start commits (steps with side effects
        // wait for that commit); a redelivered one, likely claimed before, waits for it first.
        let speculative = !delivery.redelivered
        let start = { @Sendable [engine, logger] (workflow: Workflow) async throws in
            let execution = Execution(workflow: workflow, triggeredBy: .event, triggerData: triggerData)
            let ticket = engine.journal.enqueue(.triggered(execution, claim: "event:\(event.id)"))
            if speculative { engine.launch(execution, start: ticket) }
            // The event is acked only once this is durable.
            let written = try await ticket.wait()
            if written, !speculative {
                engine.launch(execution)
            } else if !written {
                logger.debug("event already started this workflow", metadata: ["workflow_id": "\(workflow.id)"])
                if !speculative { await engine.journal.append(.abandoned(executionID: execution.id)) }
            }
        }
        do {
            if workflows.count == 1 {
                try await start(workflows[0])
            } else {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for workflow in workflows { group.addTask { try await start(workflow) } }
                    try await group.waitForAll()
                }
            }
            delivery.ack()
            logger.debug("event handled", metadata: ["workflows": "\(workflows.count)"])
        } catch {
            // Nothing was acked: the broker redelivers, and claims keep it from starting twice.
            logger.error("could not start workflows for an event; requeueing", metadata: ["error": "\(error)"])
            delivery.nack(requeue: true)
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
