import AMQPClient
import DocflowCore
import DocflowEngine
import Foundation
import Logging
import ServiceLifecycle

/// Consumes `<prefix>.results` (single active consumer: one engine at a time) and hands each
/// result to the attempt pending under its task id. A result is acked once the step's end it
/// caused is committed; one for an attempt that is not pending (timed out, answered before) is
/// logged and dropped. A task the broker dead-lettered here (given back `x-delivery-limit` times,
/// expired, or refused by a worker) fails its attempt with that reason. Garbage is dead-lettered.
final class ResultsConsumer: Service, Sendable {
    private let channel: AMQPChannel
    private let queue: String
    private let pending: PendingTasks
    private let deadLetters: DeadLetters
    private let maxMessageBytes: Int
    private let logger: Logger

    init(
        channel: AMQPChannel, queue: String, pending: PendingTasks, deadLetters: DeadLetters, maxMessageBytes: Int,
        logger: Logger
    ) {
        self.channel = channel
        self.queue = queue
        self.pending = pending
        self.deadLetters = deadLetters
        self.maxMessageBytes = maxMessageBytes
        self.logger = logger
    }

    func run() async throws {
        logger.info("consuming workers' results", metadata: ["queue": "\(queue)"])
        try await consumeUntilShutdown(channel, queue: queue) { [self] delivery in
            await accept(delivery)
        }
    }

    func accept(_ delivery: AMQPDelivery) async {
        switch Self.read(delivery.body, properties: delivery.properties, maxMessageBytes: maxMessageBytes) {
        case .deadLetter(let reason):
            await deadLetters.deadLetter(delivery, reason: reason)
        case .drop(let taskID, let why):
            logger.debug("dropped a task copy", metadata: ["task_id": "\(taskID)", "why": "\(why)"])
            delivery.ack()
        case .result(let result):
            let accepted = pending.deliver(PendingTasks.Arrival(result: result, settle: { delivery.ack() }))
            if !accepted {
                logger.info(
                    "dropped a result for an attempt that is not pending (timed out, or answered before)",
                    metadata: ["task_id": "\(result.taskID)", "worker": "\(result.worker)"])
                delivery.ack()
            }
        }
    }

    /// What a message on the results queue is.
    enum Reading: Equatable {
        /// A worker's result, or a task the broker sent back, as the result of its attempt.
        case result(StepTaskResult)
        /// A copy that says nothing about the attempt pending now.
        case drop(taskID: String, why: String)
        /// Garbage, for the dead-letter queue with this reason.
        case deadLetter(String)
    }

    static func read(_ body: Data, properties: AMQPProperties, maxMessageBytes: Int) -> Reading {
        guard body.count <= maxMessageBytes else {
            return .deadLetter("the result is \(body.count) bytes, more than \(maxMessageBytes)")
        }
        if properties.type == "docflow.task" {
            guard let id = properties.messageID else { return .deadLetter("a dead-lettered task without a message_id") }
            // An expired copy says nothing about the attempt pending now: a resumed execution sends
            // its step again under the same id, and the old copy may expire meanwhile. The pending
            // attempt's own deadline (the engine's timer) is what times it out.
            if properties.headers["x-first-death-reason"]?.stringValue == "expired" {
                return .drop(taskID: id, why: "it expired in its queue; the engine's own timer times the attempt out")
            }
            return .result(
                StepTaskResult(
                    taskID: id, outcome: .failure(deadLettered(properties.headers, id: id)), runMs: 0, worker: ""))
        }
        do throws(StepTaskError) {
            guard let json = try? JSONValue.parse(body) else { throw StepTaskError("the result is not JSON") }
            return .result(try StepTaskResult(json: json))
        } catch {
            return .deadLetter("not a task result: \(error)")
        }
    }

    /// Why the broker sent a task back, as the step's error.
    static func deadLettered(_ headers: [String: AMQPFieldValue], id: String) -> StepError {
        let reason = headers["x-first-death-reason"]?.stringValue ?? "unknown"
        switch reason {
        case "delivery_limit":
            return StepError(
                "task \(id) was given back by a worker \(BrokerTopology.deliveryLimit) times without a result (each "
                    + "worker that took it stopped): it was dead-lettered, and is not tried again", retryable: false)
        default:
            let why = headers["x-docflow-error"]?.stringValue.map { ": \($0)" } ?? ""
            let queue = headers["x-first-death-queue"]?.stringValue ?? "its queue"
            return StepError("task \(id) was refused by a worker in \(queue) (\(reason))\(why)", retryable: false)
        }
    }
}
