import AMQPClient
import DocflowCore
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle

/// The worker: its database, its two broker connections (one consumes, one publishes with
/// confirms, so confirm frames never meet deliveries) and the services between them.
public final class DocflowServer: Sendable {
    public let configuration: ServiceConfiguration
    public let store: Store
    let consuming: AMQPConnection
    let publishing: AMQPConnection
    private let logger: Logger
    private let group: ServiceGroup
    private let services: Services

    private struct Services: Sendable {
        let relay: OutboxRelay
        let api: APIConsumer
        let janitor: Janitor
    }

    /// Opens the database and starts connecting to the broker; `run()` serves.
    /// - Parameter signals: shut down gracefully on SIGTERM and SIGINT (off in tests).
    public init(configuration: ServiceConfiguration, logger: Logger, handleSignals: Bool = true) async throws {
        self.configuration = configuration
        self.logger = logger
        let synchronous = Store.Synchronous(rawValue: configuration.synchronous.uppercased()) ?? .full
        self.store = try Store(path: configuration.databasePath, synchronous: synchronous)
        let amqp = try AMQPConfiguration(url: configuration.amqpURL)
        var consumeConfiguration = amqp
        consumeConfiguration.connectionName = "\(configuration.prefix) consume"
        var publishConfiguration = amqp
        publishConfiguration.connectionName = "\(configuration.prefix) publish"
        consuming = AMQPConnection(consumeConfiguration, logger: logger)
        publishing = AMQPConnection(publishConfiguration, logger: logger)

        let names = configuration.names
        let topologyChannel = try await consuming.openChannel()
        let apiChannel = try await consuming.openChannel()
        let relayChannel = try await publishing.openChannel()
        let replyChannel = try await publishing.openChannel()
        logger.info("declaring the broker topology", metadata: ["broker": "\(amqp.redacted)", "prefix": "\(names.prefix)"])
        try await Self.declareTopology(on: topologyChannel, names: names)
        try await apiChannel.setPrefetch(configuration.apiConcurrency)
        try await relayChannel.enableConfirms()
        try await replyChannel.enableConfirms()

        let relay = OutboxRelay(store: store, channel: relayChannel, logger: logger)
        var router = Router(logger: logger)
        WorkflowsAPI(store: store, names: names, didCommit: { relay.wake() }).register(in: &router)
        let deadLetters = DeadLetters(channel: replyChannel, names: names, logger: logger)
        let api = APIConsumer(
            router: router, consumeChannel: apiChannel, replyChannel: replyChannel, deadLetters: deadLetters,
            queue: names.apiQueue, logger: logger)
        let janitor = Janitor(store: store, logger: logger)
        services = Services(relay: relay, api: api, janitor: janitor)

        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: relay, serviceName: "status-relay"),
                .init(service: janitor, serviceName: "janitor"),
                .init(service: api, serviceName: "api"),
            ],
            logger: logger)
        if handleSignals { groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint] }
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
        group = ServiceGroup(configuration: groupConfiguration)
    }

    /// Declares what docflow consumes from and publishes to (contract sections 1, 4 and 5).
    static func declareTopology(on channel: AMQPChannel, names: Names) async throws {
        try await channel.declare(AMQPExchange(names.statusExchange, kind: .topic))
        try await channel.declare(AMQPExchange(names.deadLetterExchange, kind: .fanout))
        try await channel.declare(AMQPQueue(names.deadLetterQueue, durable: true))
        try await channel.bind(AMQPBinding(queue: names.deadLetterQueue, exchange: names.deadLetterExchange, routingKey: ""))
        // A request that crashes the worker again and again is dead-lettered by the broker.
        try await channel.declare(.quorum(names.apiQueue, deliveryLimit: 5, deadLetterExchange: names.deadLetterExchange))
    }

    /// Serves until SIGTERM/SIGINT or `shutdown()`, then finishes in-flight work and returns.
    public func run() async throws {
        logger.info("docflow is serving", metadata: ["database": "\(configuration.databasePath)"])
        try await group.run()
        await consuming.close()
        await publishing.close()
        logger.info("docflow stopped")
    }

    /// Begins a graceful shutdown: stop consuming, finish what is in flight, publish what is committed.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// Whether both broker connections are up.
    public var isBrokerConnected: Bool { consuming.isConnected && publishing.isConnected }
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
        while !Task.isShuttingDownGracefully {
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
