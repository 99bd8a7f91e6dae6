import DocflowStore
import Logging
import ServiceLifecycle

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
            // Ends early on shutdown and on cancellation alike.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
