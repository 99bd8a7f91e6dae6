import AMQPClient
import DocflowEngine
import DocflowStore
import Logging
import ServiceLifecycle

/// The worker: its database, its two broker connections (one consumes, one publishes with
/// confirms, so confirm frames never meet deliveries) and the services between them.
///
/// `init` only wires; `run()` does the I/O (see "Startup and shutdown" in docs/architecture.md).
package final class DocflowServer: Sendable {
    package let configuration: ServiceConfiguration
    private let logger: Logger
    private let worker: Worker
    private let group: ServiceGroup

    /// Checks the configuration (the broker URL, the outbound ranges); touches neither the
    /// database nor the broker.
    /// - Parameter handleSignals: shut down gracefully on SIGTERM and SIGINT, and crash rather
    ///   than hang when cancelled services do not end (off in tests, which share the process).
    package init(configuration: ServiceConfiguration, logger: Logger, handleSignals: Bool = true) throws {
        _ = try AMQPConfiguration(url: configuration.amqpURL)
        self.configuration = configuration
        self.logger = logger
        let outboundPolicy = try OutboundPolicy(
            denied: configuration.outboundDeny, allowed: configuration.outboundAllow)
        worker = Worker(configuration: configuration, outboundPolicy: outboundPolicy, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: worker, serviceName: "docflow")], logger: logger)
        if handleSignals {
            groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
            groupConfiguration.maximumCancellationDuration = .seconds(10)
        }
        // Past the drain time, what still runs is cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = configuration.drainTime
        group = ServiceGroup(configuration: groupConfiguration)
    }

    /// Starts (database, broker topology, trigger index), serves until SIGTERM/SIGINT or
    /// `shutdown()`, then finishes in-flight work for up to the drain time and returns. Throws
    /// when start-up or a service fails, once the others have stopped.
    package func run() async throws {
        do {
            try await group.run()
        } catch {
            logger.error("docflow stopped on an error", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("docflow stopped")
    }

    /// Returns once the server is serving; throws why it never will.
    package func started() async throws {
        _ = try await worker.started.value()
    }

    /// Begins a graceful shutdown: stop consuming, finish what is in flight, publish what is committed.
    package func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    private var components: Components {
        guard case .success(let components) = worker.started.result else {
            preconditionFailure("DocflowServer is not serving yet: await started() first")
        }
        return components
    }

    /// The database; available once `started()` returned.
    package var store: Store { components.store }

    /// The engine; available once `started()` returned.
    package var engine: Engine { components.engine }

    /// The API's routes; available once `started()` returned.
    package var routes: [Router.Entry] { components.routes }

    /// Browsers following the web console's live updates now; available once `started()` returned.
    package var consoleWatchers: Int { components.feed.watching }

    /// The HTTP port being served, once it is (useful when it was chosen by the system).
    package var httpPort: Int? {
        guard case .success(let components) = worker.started.result else { return nil }
        return components.http?.port
    }

    /// Whether both broker connections are up.
    package var isBrokerConnected: Bool {
        guard case .success(let components) = worker.started.result else { return false }
        return components.consuming.isConnected && components.publishing.isConnected
    }
}
