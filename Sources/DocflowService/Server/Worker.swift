import AMQPClient
import DocflowClient
import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle

/// `docflow serve` as one service: `run()` does the start-up I/O (the database, the broker's
/// topology, the trigger index), then runs the long-lived services as a group of their own,
/// which takes graceful shutdown and cancellation from the group this runs in.
final class Worker: Service, Sendable {
    let configuration: ServiceConfiguration
    /// Parsed from the configuration up front, so a bad range stops docflow before any I/O.
    let outboundPolicy: OutboundPolicy
    let logger: Logger
    /// What the services run on, once they run; or why they never did.
    let started = Outcome<Components>()

    init(configuration: ServiceConfiguration, outboundPolicy: OutboundPolicy, logger: Logger) {
        self.configuration = configuration
        self.outboundPolicy = outboundPolicy
        self.logger = logger
    }

    func run() async throws {
        let components: Components
        do {
            components = try await start()
        } catch {
            let stopping = Task.isShuttingDownGracefully || Task.isCancelled
            started.resolve(.failure(stopping ? ServerError.stoppedBeforeServing : error))
            if stopping {
                logger.info("stopped while starting")
                return
            }
            throw error
        }
        started.resolve(.success(components))
        logger.info("docflow is serving", metadata: ["database": "\(configuration.databasePath)"])
        // Signals belong to the outer group; the time limit is here too, for the shutdown a
        // failing service starts, which the outer group does not see.
        var groupConfiguration = ServiceGroupConfiguration(
            services: components.services.map(\.configuration), logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.drainTime
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await withTaskCancellationHandler {
                try await group.run()
            } onCancel: { [logger] in
                logger.warning("cancelling the services still running")
            }
        } catch {
            await components.close()
            throw error
        }
        await components.close()
    }

    /// Locks the database file, opens and migrates the database, connects to the broker, takes
    /// the prefix's lease, declares the topology (waiting for the broker if it is down), sets
    /// prefetch and confirm mode, loads the trigger index. Shutdown or cancellation meanwhile
    /// closes the connections, which ends the waiting.
    private func start() async throws -> Components {
        let configuration = self.configuration
        let logger = self.logger
        let identity = OwnerIdentity.current(prefix: configuration.prefix, database: configuration.databasePath)
        // Before anything touches the database: a second docflow on it stops here.
        let lock = try DatabaseLock.acquire(database: configuration.databasePath, owner: identity)
        let synchronous = Store.Synchronous(rawValue: configuration.synchronous.uppercased()) ?? .full
        let store: Store
        do {
            store = try Store(path: configuration.databasePath, synchronous: synchronous)
        } catch {
            lock.release()
            throw error
        }
        let (consuming, publishing) = try configuration.brokerConnections(logger: logger)
        let jq = JQPool(
            executable: configuration.jqPath ?? JQPool.defaultExecutable, size: configuration.jqProcesses,
            maxTimeout: configuration.maxJQTimeout, maxReplyBytes: configuration.messageLimits.maxStepOutputBytes,
            logger: logger)
        // The broker drops a dead owner's connection within two of its heartbeats.
        let lease = PrefixLease(
            prefix: configuration.prefix, identity: identity, consuming: consuming, publishing: publishing,
            grace: .seconds(2 * configuration.amqpHeartbeat + 5), logger: logger)
        let close = { @Sendable in
            await consuming.close()
            await publishing.close()
            jq.shutdown()
            lock.release()
        }
        do {
            let components = try await withTaskCancellationOrGracefulShutdownHandler {
                try await Self.wire(
                    configuration, outboundPolicy: outboundPolicy, store: store, lock: lock, lease: lease,
                    consuming: consuming, publishing: publishing, jq: jq, logger: logger)
            } onCancelOrGracefulShutdown: {
                Task { await close() }
            }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { throw ServerError.stoppedBeforeServing }
            return components
        } catch {
            await close()
            throw error
        }
    }

    /// The executor of every step type (`StepType.allCases`; a test holds it to that).
    static func stepExecutors(
        _ configuration: ServiceConfiguration, store: Store, jq: JQPool, http: CurlClient,
        extraction: any ExtractionDelegate, logger: Logger
    ) -> StepExecutors {
        var executors = StepExecutors()
        executors.register(.transform, TransformStep(jq: jq))
        executors.register(.condition, ConditionStep(jq: jq))
        executors.register(
            .integration,
            IntegrationStep(
                integrations: { id in try await store.read { db in try IntegrationRepository.fetch(db, id: id) } },
                http: http, mail: .init(smtpURL: configuration.smtpURL, from: configuration.smtpFrom),
                templateLimits: configuration.templateLimits))
        let parse = configuration.parseStep(http: http, logger: logger)
        executors.register(.parse, parse)
        executors.register(
            .extract,
            ExtractStep(
                schemas: { id in
                    if let builtIn = BuiltInSchemas.schema(id) { return builtIn }
                    return try await store.read { db in try SchemaRepository.fetch(db, id: id) }
                }, parse: parse, delegate: extraction))
        return executors
    }

    private static func wire(
        _ configuration: ServiceConfiguration, outboundPolicy: OutboundPolicy, store: Store, lock: DatabaseLock,
        lease: PrefixLease, consuming: AMQPConnection, publishing: AMQPConnection, jq: JQPool, logger: Logger
    ) async throws -> Components {
        let names = configuration.names
        let metrics = ServiceMetrics(names: names, workflowLabels: configuration.metricsWorkflowLabels)
        let topologyChannel = try await consuming.openChannel()
        let apiChannel = try await consuming.openChannel()
        let eventsChannel = try await consuming.openChannel()
        let relayChannel = try await publishing.openChannel()
        let replyChannel = try await publishing.openChannel()
        // Before the topology, so that it is declared first again after a reconnect; on channels
        // after the topology's, which the connection declares everything again on.
        try await lease.acquire()
        logger.info(
            "declaring the broker topology",
            metadata: ["broker": "\(consuming.configuration.redacted)", "prefix": "\(names.prefix)"])
        try await BrokerTopology(names: names, queueType: configuration.queueType, logger: logger)
            .declare(on: topologyChannel)
        var dispatch: WorkerDispatch?
        var resultsChannel: AMQPChannel?
        if !configuration.dispatchTypes.isEmpty {
            try await BrokerTopology(names: names, queueType: configuration.queueType, logger: logger)
                .declareTasks(configuration.dispatchTypes, on: topologyChannel)
            let channel = try await consuming.openChannel()
            try await channel.setPrefetch(256)
            resultsChannel = channel
            dispatch = WorkerDispatch(
                types: Set(configuration.dispatchTypes), names: names, store: store,
                maxMessageBytes: configuration.messageLimits.maxMessageBytes)
            logger.info(
                "sending steps to workers",
                metadata: ["types": "\(configuration.dispatchTypes.map(\.rawValue).joined(separator: ","))"])
        }
        try await apiChannel.setPrefetch(configuration.apiConcurrency)
        try await eventsChannel.setPrefetch(configuration.eventConcurrency)
        try await relayChannel.enableConfirms()
        try await replyChannel.enableConfirms()

        let feed = StatusFeed()
        let relay = OutboxRelay(
            store: store, channel: relayChannel, exchange: names.statusExchange, metrics: metrics, feed: feed,
            logger: logger)
        // Extraction services answer on direct reply-to, through a channel of the publishing connection.
        let extractionClient = try await APIClient(connection: publishing, queue: names.apiQueue)
        let executors = stepExecutors(
            configuration, store: store, jq: jq, http: CurlClient(policy: outboundPolicy),
            extraction: AMQPExtractionDelegate(client: extractionClient), logger: logger)
        let limits = configuration.messageLimits
        let journal = Journal(
            store: store, logger: logger, maxEventBytes: limits.maxMessageBytes, didCommit: { relay.committed($0) })
        let engine = Engine(
            store: store, journal: journal, executors: executors, maxConcurrent: configuration.maxConcurrentExecutions,
            metrics: metrics.engine, executor: { jq.executor() }, maxStepOutputBytes: limits.maxStepOutputBytes,
            dispatch: dispatch, logger: logger)
        let triggers = TriggerIndex()
        try await triggers.load(from: store)
        let scheduler = Scheduler(store: store, engine: engine, logger: logger, didCommit: { relay.wake() })

        var router = Router(logger: logger)
        let context = APIContext(
            store: store, names: names, jq: jq, engine: engine, triggers: triggers,
            templateLimits: configuration.templateLimits, logger: logger, didCommit: { relay.wake() },
            scheduleChanged: { scheduler.wake() }, maxEventBytes: limits.maxMessageBytes)
        WorkflowsAPI(context: context).register(in: &router)
        ExecutionsAPI(context: context).register(in: &router)
        ExecutionHistoryAPI(context: context).register(in: &router)
        SchedulesAPI(context: context).register(in: &router)
        IntegrationsAPI(context: context).register(in: &router)
        TemplatesAPI(context: context).register(in: &router)
        SchemasAPI(context: context).register(in: &router)
        AuditAPI(context: context).register(in: &router)
        let deadLetters = DeadLetters(channel: replyChannel, names: names, logger: logger)
        let api = APIConsumer(
            router: router, consumeChannel: apiChannel, replyChannel: replyChannel, deadLetters: deadLetters,
            queue: names.apiQueue, maxMessageBytes: limits.maxMessageBytes,
            authorization: configuration.amqpAuthorization, metrics: metrics, logger: logger)
        let events = EventConsumer(
            channel: eventsChannel, queue: names.platformEventsQueue, index: triggers, engine: engine,
            deadLetters: deadLetters, maxMessageBytes: limits.maxMessageBytes, metrics: metrics, logger: logger)
        let pendingTasks = dispatch?.pending
        let http =
            configuration.httpPort == 0
            ? nil
            : HTTPServer(
                port: configuration.httpPort, limits: configuration.httpLimits,
                authentication: configuration.authentication, router: router,
                webhooks: WebhookTrigger(store: store, engine: engine, didCommit: { relay.wake() }),
                store: store, connections: [consuming, publishing],
                metrics: {
                    await metrics.render(
                        .init(
                            connections: [consuming, publishing], engine: engine, store: store,
                            pendingTasks: pendingTasks))
                },
                console: Console(
                    router: router, store: store, authentication: configuration.authentication, names: names,
                    connections: [consuming, publishing], feed: feed,
                    streamLifetime: configuration.consoleStreamLifetime),
                logger: logger)

        if http != nil, !configuration.authentication.required {
            logger.warning(
                "the HTTP API answers every caller without an API key (--insecure-no-auth): for local development only")
        } else if http != nil, !((try? await store.read { db in try APIKeyRepository.anyLive(db, at: Date()) }) ?? true)
        {
            // A fresh install: say at once why every /api/* call will be refused, and what to do.
            logger.warning(
                "no API key yet, so the HTTP API answers nobody: make one with `docflow keys create --name NAME --scope write` (same --database)",
                metadata: ["database": "\(configuration.databasePath)"])
        }

        // Shutdown runs bottom-up: stop taking work, let executions reach a step boundary,
        // write their history, then publish it. The engine gets five sixths of the drain time,
        // the journal and the relay the rest.
        var services = [
            // First to start, last to stop: the lease outlives the work it guards.
            Supervised("prefix-lease", lease, logger: logger),
            // Cancelled, the relay is not waited for: what it has not published stays in the
            // outbox for the next start.
            Supervised("status-relay", relay, abandonsOnCancel: true, logger: logger),
            Supervised("journal", JournalService(journal: journal), logger: logger),
            Supervised(
                "janitor", Janitor(
                    store: store, policy: configuration.retention, interval: configuration.retentionInterval,
                    logger: logger), logger: logger),
            Supervised(
                "engine", EngineService(engine: engine, drain: configuration.drainTime * 5 / 6, logger: logger),
                logger: logger),
            // The scheduler looks for cancellation between waits: a wake-up ends the wait.
            Supervised("scheduler", scheduler, onCancel: { scheduler.wake() }, logger: logger),
            Supervised("events", events, logger: logger),
            Supervised("api", api, logger: logger),
        ]
        if let dispatch, let resultsChannel {
            let results = ResultsConsumer(
                channel: resultsChannel, queue: names.resultsQueue, pending: dispatch.pending, deadLetters: deadLetters,
                maxMessageBytes: limits.maxMessageBytes, logger: logger)
            // Before the engine in the list, so it stops after it: results of steps still running come in.
            services.insert(Supervised("results", results, logger: logger), at: 4)
        }
        if let http { services.append(Supervised("http", http, logger: logger)) }
        return Components(
            store: store, lock: lock, engine: engine, jq: jq, consuming: consuming, publishing: publishing,
            http: http, feed: feed, routes: router.entries, services: services)
    }
}
