import AMQPClient
import DocflowClient
import DocflowCore
import DocflowEngine
import Foundation
import Logging
import ServiceLifecycle

/// `docflow worker`: takes tasks from `<prefix>.tasks.<type>` for each of its types, runs them
/// (`TaskRunner`) and publishes each result to `<prefix>.results` with a confirm before acking
/// the task. Stateless: no database; a worker killed mid-task leaves the task unacked, and the
/// broker gives it to another. Several run side by side on as many machines as wanted.
///
/// `init` only wires; `run()` connects, declares the task queues, and consumes until shutdown.
package final class StepWorker: Service, Sendable {
    private let configuration: ServiceConfiguration
    private let types: [StepType]
    /// Tasks of each type run at once (the prefetch of its consumer).
    private let concurrency: Int
    private let outboundPolicy: OutboundPolicy
    private let logger: Logger
    /// Which worker this is, written into each result.
    package let name: String
    /// Resolved once the worker consumes; or why it never did.
    let started = Outcome<Void>()

    package init(
        configuration: ServiceConfiguration, types: [StepType], concurrency: Int, logger: Logger
    ) throws {
        _ = try AMQPConfiguration(url: configuration.amqpURL)
        self.outboundPolicy = try OutboundPolicy(
            denied: configuration.outboundDeny, allowed: configuration.outboundAllow)
        self.configuration = configuration
        self.types = types
        self.concurrency = concurrency
        self.logger = logger
        self.name = "\(hostName()):\(getpid())"
    }

    /// Returns once the worker consumes its queues; throws why it never will.
    package func consuming() async throws {
        try await started.value()
    }

    package func run() async throws {
        let (consuming, publishing) = try configuration.brokerConnections(role: "worker ", logger: logger)
        let close = { @Sendable in
            await consuming.close()
            await publishing.close()
        }
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await serve(consuming: consuming, publishing: publishing)
            } onCancelOrGracefulShutdown: {
                // Before consuming starts, closing is what ends the waiting for the broker.
                if self.started.result == nil { Task { await close() } }
            }
        } catch {
            started.resolve(.failure(error))
            await close()
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            throw error
        }
        await close()
    }

    private func serve(consuming: AMQPConnection, publishing: AMQPConnection) async throws {
        let names = configuration.names
        let topology = try await consuming.openChannel()
        try await BrokerTopology(names: names, queueType: configuration.queueType, logger: logger)
            .declareTasks(types, on: topology)
        let results = ResultsChannel(connection: publishing)
        try await results.open()
        let extraction = AMQPExtractionDelegate(
            client: try await APIClient(connection: publishing, queue: names.apiQueue))
        let runner = TaskRunner(
            maxStepOutputBytes: configuration.messageLimits.maxStepOutputBytes, worker: name,
            executor: Self.executors(configuration, policy: outboundPolicy, extraction: extraction, logger: logger))
        var channels: [(StepType, AMQPChannel)] = []
        for type in types {
            let channel = try await consuming.openChannel()
            try await channel.setPrefetch(UInt16(clamping: concurrency))
            channels.append((type, channel))
        }
        started.resolve(.success(()))
        logger.info(
            "worker is taking tasks",
            metadata: [
                "types": "\(types.map(\.rawValue).joined(separator: ","))", "concurrency": "\(concurrency)",
                "broker": "\(consuming.configuration.redacted)", "worker": "\(name)",
            ])
        try await withThrowingDiscardingTaskGroup { group in
            for (type, channel) in channels {
                let queue = names.taskQueue(type.rawValue)
                group.addTask { [self] in
                    try await consumeUntilShutdown(channel, queue: queue) { delivery in
                        await self.handle(delivery, runner: runner, results: results, names: names)
                    }
                }
            }
        }
        logger.info("worker stopped taking tasks", metadata: ["worker": "\(name)"])
    }

    /// Runs one task and answers it; the task is acked only once the broker confirmed the result.
    private func handle(_ delivery: AMQPDelivery, runner: TaskRunner, results: ResultsChannel, names: Names) async {
        let limit = configuration.messageLimits.maxMessageBytes
        var logger = self.logger
        let result: StepTaskResult
        do throws(StepTaskError) {
            guard delivery.body.count <= limit else {
                throw StepTaskError(
                    "the task is \(delivery.body.count) bytes, more than \(limit) (--max-message-bytes)")
            }
            guard let json = try? JSONValue.parse(delivery.body) else { throw StepTaskError("the task is not JSON") }
            let task = try StepTask(json: json)
            logger[metadataKey: "task_id"] = "\(task.id)"
            logger.debug("running a task", metadata: ["redelivered": "\(delivery.redelivered)"])
            result = await runner.run(task)
        } catch {
            // An unreadable task: answered as a failure when it says which attempt it is, else
            // refused, and the broker dead-letters it to the engine's results queue.
            guard let id = delivery.properties.messageID else {
                logger.warning("refused a task that names no attempt", metadata: ["error": "\(error)"])
                return delivery.reject(requeue: false)
            }
            result = StepTaskResult(
                taskID: id, outcome: .failure(StepError("the worker cannot read the task: \(error)", retryable: false)),
                runMs: 0, worker: name)
        }
        var body = result.json().encoded()
        if body.count > limit {
            body = StepTaskResult(
                taskID: result.taskID,
                outcome: .failure(
                    StepError(
                        "the step's result is \(body.count) bytes, more than a message may be (--max-message-bytes "
                            + "\(limit))", retryable: false)), runMs: result.runMs, worker: name
            ).json().encoded()
        }
        if case .failure(let error) = result.outcome {
            logger.info("task failed", metadata: ["error": "\(error.message)", "run_ms": "\(result.runMs)"])
        }
        let message = AMQPMessage(
            exchange: "", routingKey: names.resultsQueue, body: body,
            properties: AMQPProperties(
                contentType: "application/json", persistent: true, messageID: result.taskID, type: "docflow.result"))
        // A refusal is the broker's passing trouble (the results queue electing a leader after a
        // node died): the result stands, so it is sent again rather than run again. Giving the task
        // back would count towards its delivery limit.
        var delay = Duration.milliseconds(100)
        let giveUp = ContinuousClock.now.advanced(by: Self.resultRetryTime)
        while true {
            let channel = await results.current
            do {
                try await channel.publish(message)
                return delivery.ack()
            } catch {
                if case AMQPError.nacked = error { await results.replace(channel, logger: logger) }
                guard ContinuousClock.now < giveUp, !Task.isCancelled else {
                    // Given back: another worker (or this one) runs it again; the engine keeps the first result.
                    logger.warning(
                        "could not send a task's result; giving the task back", metadata: ["error": "\(error)"])
                    return delivery.nack(requeue: true)
                }
                logger.info("the broker refused a task's result; sending it again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// The channel results go out on, in confirm mode. RabbitMQ 3.10 keeps refusing (basic.nack)
    /// every publish to a quorum queue on a channel that first published to it while its leader
    /// was being elected, long after a new leader is up (seen in the kill test: 90 s of refusals
    /// after a node died), so a refused result gets a new channel before it is sent again.
    actor ResultsChannel {
        private let connection: AMQPConnection
        private var channel: AMQPChannel?
        private var replacing = false

        init(connection: AMQPConnection) {
            self.connection = connection
        }

        func open() async throws {
            let channel = try await connection.openChannel()
            try await channel.enableConfirms()
            self.channel = channel
        }

        var current: AMQPChannel {
            get async { channel! }
        }

        /// Replaces `refused` with a new channel, unless another refusal already did.
        func replace(_ refused: AMQPChannel, logger: Logger) async {
            guard channel?.number == refused.number, !replacing else { return }
            replacing = true
            defer { replacing = false }
            do {
                try await open()
                logger.info(
                    "opened a new channel for results after a refusal", metadata: ["channel": "\(channel!.number)"])
                await refused.close()
            } catch {
                // Keeps `refused`, which the connection reopens when it comes back; the next refusal tries again.
                logger.warning("could not open a new channel for results", metadata: ["error": "\(error)"])
            }
        }
    }

    /// How long a worker keeps sending a result the broker refuses before it gives the task back.
    static let resultRetryTime = Duration.seconds(30)

    /// What runs each type of task, with the task's own integration and schema.
    static func executors(
        _ configuration: ServiceConfiguration, policy: OutboundPolicy, extraction: any ExtractionDelegate,
        logger: Logger
    ) -> @Sendable (StepTask) -> (any StepExecutor)? {
        let http = CurlClient(policy: policy)
        let parse = configuration.parseStep(http: http, logger: logger)
        let mail = IntegrationStep.Mail(smtpURL: configuration.smtpURL, from: configuration.smtpFrom)
        let templateLimits = configuration.templateLimits
        return { task in
            switch task.type {
            case .parse:
                return parse
            case .extract:
                let schema = task.schema
                return ExtractStep(schemas: { _ in schema }, parse: parse, delegate: extraction)
            case .integration:
                let integration = task.integration
                return IntegrationStep(
                    integrations: { _ in integration }, http: http, mail: mail, templateLimits: templateLimits)
            case .transform, .condition:
                return nil
            }
        }
    }
}

extension StepWorker {
    /// Runs the worker as a service group of its own, as `docflow worker` does: SIGTERM or SIGINT
    /// stops taking tasks and lets those in flight finish for up to the drain time.
    package func runUntilSignalled() async throws {
        var group = ServiceGroupConfiguration(
            services: [.init(service: self, serviceName: "docflow-worker")], logger: logger)
        group.gracefulShutdownSignals = [.sigterm, .sigint]
        group.maximumGracefulShutdownDuration = configuration.drainTime
        group.maximumCancellationDuration = .seconds(10)
        try await ServiceGroup(configuration: group).run()
        logger.info("docflow worker stopped")
    }
}
