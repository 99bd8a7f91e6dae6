import AMQPClient
import DocflowCore
import DocflowEngine
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
        guard delivery.body.count <= maxMessageBytes else {
            return await deadLetters.deadLetter(
                delivery, reason: "the result is \(delivery.body.count) bytes, more than \(maxMessageBytes)")
        }
        let result: StepTaskResult
        if delivery.properties.type == "docflow.task" {
            guard let id = delivery.properties.messageID else {
                return await deadLetters.deadLetter(delivery, reason: "a dead-lettered task without a message_id")
            }
            // An expired copy says nothing about the attempt pending now: a resumed execution sends
            // its step again under the same id, and the old copy may expire meanwhile. The pending
            // attempt's own deadline (the engine's timer) is what times it out.
            if delivery.properties.headers["x-first-death-reason"]?.stringValue == "expired" {
                logger.debug("a task expired in its queue", metadata: ["task_id": "\(id)"])
                return delivery.ack()
            }
            result = StepTaskResult(
                taskID: id, outcome: .failure(Self.deadLettered(delivery, id: id)), runMs: 0, worker: "")
        } else {
            do throws(StepTaskError) {
                guard let json = try? JSONValue.parse(delivery.body) else {
                    throw StepTaskError("the result is not JSON")
                }
                result = try StepTaskResult(json: json)
            } catch {
                return await deadLetters.deadLetter(delivery, reason: "not a task result: \(error)")
            }
        }
        let accepted = pending.deliver(PendingTasks.Arrival(result: result, settle: { delivery.ack() }))
        if !accepted {
            logger.info(
                "dropped a result for an attempt that is not pending (timed out, or answered before)",
                metadata: ["task_id": "\(result.taskID)", "worker": "\(result.worker)"])
            delivery.ack()
        }
    }

    /// Why the broker sent a task back, as the step's error.
    static func deadLettered(_ delivery: AMQPDelivery, id: String) -> StepError {
        let headers = delivery.properties.headers
        let reason = headers["x-first-death-reason"]?.stringValue ?? "unknown"
        let queue = headers["x-first-death-queue"]?.stringValue ?? "its queue"
        switch reason {
        case "delivery_limit":
            return StepError(
                "task \(id) was given back by a worker \(BrokerTopology.deliveryLimit) times without a result (each "
                    + "worker that took it stopped): it was dead-lettered, and is not tried again", retryable: false)
        case "expired":
            return StepError("task \(id) expired in \(queue): no worker finished it before the step's deadline")
        default:
            let why = headers["x-docflow-error"]?.stringValue.map { ": \($0)" } ?? ""
            return StepError("task \(id) was refused by a worker (\(reason))\(why)", retryable: false)
        }
    }
}
