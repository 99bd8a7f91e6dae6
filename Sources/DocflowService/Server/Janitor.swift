import DocflowEngine
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle

/// Once an hour, forgets idempotency records older than their 24 hours and webhook signatures
/// that can no longer verify.
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
            do {
                let before = Self.signaturesExpireBefore(now: Date())
                let removed = try await store.write { db in try WebhookSignaturesSeen.prune(db, before: before) }
                if removed > 0 { logger.debug("pruned webhook signatures", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.error("pruning webhook signatures failed", metadata: ["error": "\(error)"])
            }
            // Ends early on shutdown and on cancellation alike.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    /// A signature whose timestamp is older than this (unix seconds) no longer verifies, so its
    /// record guards nothing; a minute of slack covers a clock stepped back a little.
    static func signaturesExpireBefore(now: Date) -> Int {
        Int(now.timeIntervalSince1970 - WebhookSignature.tolerance) - 60
    }
}
