import AMQPClient
import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle

/// The worker: its database, its two broker connections (one consumes, one publishes with
/// confirms, so confirm frames never meet deliveries) and the services between them.
public final class DocflowServer: Sendable {
    public let configuration: ServiceConfiguration
    public let store: Store
    public let engine: Engine
    let jq: JQPool
    let consuming: AMQPConnection
    let publishing: AMQPConnection
    private let logger: Logger
    private let group: ServiceGroup
    private let http: HTTPServer?

    /// The HTTP port being served, once it is (useful when it was chosen by the system).
    public var httpPort: Int? { http?.port }

    /// Opens the database and starts connecting to the broker; `run()` serves.
    /// - Parameter handleSignals: shut down gracefully on SIGTERM and SIGINT (off in tests).
    public init(configuration: ServiceConfiguration, logger: Logger, handleSignals: Bool = true) async throws {
        self.configuration = configuration
        self.logger = logger
        let synchronous = Store.Synchronous(rawValue: configuration.synchronous.uppercased()) ?? .full
        let store = try Store(path: configuration.databasePath, synchronous: synchronous)
        self.store = store
        let amqp = try AMQPConfiguration(url: configuration.amqpURL)
        var consumeConfiguration = amqp
        consumeConfiguration.connectionName = "\(configuration.prefix) consume"
        var publishConfiguration = amqp
        publishConfiguration.connectionName = "\(configuration.prefix) publish"
        consuming = AMQPConnection(consumeConfiguration, logger: logger)
        publishing = AMQPConnection(publishConfiguration, logger: logger)
        let metrics = ServiceMetrics()

        let names = configuration.names
        let topologyChannel = try await consuming.openChannel()
        let apiChannel = try await consuming.openChannel()
        let eventsChannel = try await consuming.openChannel()
        let relayChannel = try await publishing.openChannel()
        let replyChannel = try await publishing.openChannel()
        logger.info(
            "declaring the broker topology", metadata: ["broker": "\(amqp.redacted)", "prefix": "\(names.prefix)"])
        try await Self.declareTopology(on: topologyChannel, names: names)
        try await apiChannel.setPrefetch(configuration.apiConcurrency)
        try await eventsChannel.setPrefetch(configuration.eventConcurrency)
        try await relayChannel.enableConfirms()
        try await replyChannel.enableConfirms()

        let relay = OutboxRelay(
            store: store, channel: relayChannel, exchange: names.statusExchange, metrics: metrics, logger: logger)
        let jq = JQPool(
            executable: configuration.jqPath ?? JQPool.defaultExecutable, size: configuration.jqProcesses,
            logger: logger)
        var executors = StepExecutors()
        executors.register(.transform, TransformStep(jq: jq))
        executors.register(.condition, ConditionStep(jq: jq))
        let curl = CurlClient(
            policy: try OutboundPolicy(
                denyPrivate: configuration.denyPrivateNetworks, extraDenied: configuration.outboundDeny,
                allowed: configuration.outboundAllow))
        executors.register(
            .integration,
            IntegrationStep(
                store: store, http: curl, mail: .init(smtpURL: configuration.smtpURL, from: configuration.smtpFrom)))
        let parse = ParseStep(
            source: DocumentSource(
                http: curl, root: configuration.documentRoot, urlTemplate: configuration.documentURLTemplate,
                maxBytes: configuration.maxDocumentBytes))
        executors.register(.parse, parse)
        // Extraction services answer on direct reply-to, through a channel of the publishing connection.
        let extractionClient = try await APIClient(connection: publishing, queue: names.apiQueue)
        executors.register(
            .extract,
            ExtractStep(
                schemas: { id in
                    if let builtIn = BuiltInSchemas.schema(id) { return builtIn }
                    return try await store.read { db in try SchemaRepository.fetch(db, id: id) }
                }, parse: parse, delegate: AMQPExtractionDelegate(client: extractionClient)))
        let journal = Journal(store: store, logger: logger, didCommit: { relay.committed($0) })
        let engine = Engine(
            store: store, journal: journal, executors: executors, maxConcurrent: configuration.maxConcurrentExecutions,
            metrics: metrics.engine, executor: { jq.executor() }, logger: logger)
        self.engine = engine
        self.jq = jq
        let triggers = TriggerIndex()
        try await triggers.load(from: store)
        let scheduler = Scheduler(store: store, engine: engine, logger: logger, didCommit: { relay.wake() })

        var router = Router(logger: logger)
        let context = APIContext(
            store: store, names: names, jq: jq, engine: engine, triggers: triggers, logger: logger,
            didCommit: { relay.wake() },
            scheduleChanged: { scheduler.wake() })
        WorkflowsAPI(context: context).register(in: &router)
        ExecutionsAPI(context: context).register(in: &router)
        SchedulesAPI(context: context).register(in: &router)
        IntegrationsAPI(context: context).register(in: &router)
        TemplatesAPI(context: context).register(in: &router)
        SchemasAPI(context: context).register(in: &router)
        let deadLetters = DeadLetters(channel: replyChannel, names: names, logger: logger)
        let api = APIConsumer(
            router: router, consumeChannel: apiChannel, replyChannel: replyChannel, deadLetters: deadLetters,
            queue: names.apiQueue, metrics: metrics, logger: logger)
        let events = EventConsumer(
            channel: eventsChannel, queue: names.platformEventsQueue, index: triggers, engine: engine,
            deadLetters: deadLetters, metrics: metrics, logger: logger)
        if configuration.httpPort != 0 {
            http = HTTPServer(
                port: configuration.httpPort, router: router, webhooks: WebhookTrigger(store: store, engine: engine),
                store: store, connections: [consuming, publishing], metrics: metrics, logger: logger)
        } else {
            http = nil
        }

        // Shutdown runs bottom-up: stop taking work, let executions reach a step boundary,
        // write their history, then publish it.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: relay, serviceName: "status-relay"),
            .init(service: JournalService(journal: journal), serviceName: "journal"),
            .init(service: Janitor(store: store, logger: logger), serviceName: "janitor"),
            .init(service: EngineService(engine: engine, logger: logger), serviceName: "engine"),
            .init(service: scheduler, serviceName: "scheduler"),
            .init(service: events, serviceName: "events"),
            .init(service: api, serviceName: "api"),
        ]
        if let http { services.append(.init(service: http, serviceName: "http")) }
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        if handleSignals { groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint] }
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
        group = ServiceGroup(configuration: groupConfiguration)
    }

    /// Declares what docflow consumes from and publishes to (contract sections 1, 4 and 5).
    static func declareTopology(on channel: AMQPChannel, names: Names) async throws {
        try await channel.declare(AMQPExchange(names.statusExchange, kind: .topic))
        try await channel.declare(AMQPExchange(names.deadLetterExchange, kind: .fanout))
        try await channel.declare(AMQPQueue(names.deadLetterQueue, durable: true))
        try await channel.bind(
            AMQPBinding(queue: names.deadLetterQueue, exchange: names.deadLetterExchange, routingKey: ""))
        // A message that crashes the worker again and again is dead-lettered by the broker.
        try await channel.declare(
            .quorum(names.apiQueue, deliveryLimit: 5, deadLetterExchange: names.deadLetterExchange))
        try await channel.declare(AMQPExchange(names.eventsExchange, kind: .topic))
        try await channel.declare(
            .quorum(names.platformEventsQueue, deliveryLimit: 5, deadLetterExchange: names.deadLetterExchange))
        for event in PlatformEvent.allCases {
            try await channel.bind(
                AMQPBinding(
                    queue: names.platformEventsQueue, exchange: names.eventsExchange, routingKey: event.rawValue))
        }
    }

    /// Serves until SIGTERM/SIGINT or `shutdown()`, then finishes in-flight work and returns.
    public func run() async throws {
        logger.info("docflow is serving", metadata: ["database": "\(configuration.databasePath)"])
        do {
            try await group.run()
        } catch {
            logger.error("docflow stopped on an error", metadata: ["error": "\(error)"])
            await close()
            throw error
        }
        await close()
        logger.info("docflow stopped")
    }

    private func close() async {
        await consuming.close()
        await publishing.close()
        jq.shutdown()
    }

    /// Begins a graceful shutdown: stop consuming, finish what is in flight, publish what is committed.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// Whether both broker connections are up.
    public var isBrokerConnected: Bool { consuming.isConnected && publishing.isConnected }
}

/// Resumes interrupted executions at start; at shutdown, stops executions at step boundaries.
final class EngineService: Service, Sendable {
    let engine: Engine
    let logger: Logger

    init(engine: Engine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    func run() async throws {
        let resumed = try await engine.resumeInterrupted()
        if resumed > 0 { logger.info("resumed interrupted executions", metadata: ["count": "\(resumed)"]) }
        try? await gracefulShutdown()
        await engine.stop()
    }
}

/// The journal's writer; at shutdown it writes what is queued, then returns.
final class JournalService: Service, Sendable {
    let journal: Journal

    init(journal: Journal) {
        self.journal = journal
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await journal.run()
        } onGracefulShutdown: { [journal] in
            journal.stop()
        }
    }
}

/// Forgets idempotency records older than their 24 hours, once an hour.
final class Janitor: Service, Sendable {
    let store: Store
    let logger: Logger

    init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let removed = try await store.write { db in try ProcessedMessages.prune(db) }
                if removed > 0 { logger.debug("pruned idempotency records", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.error("pruning idempotency records failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
