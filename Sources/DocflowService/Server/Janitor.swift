import DocflowEngine
import DocflowStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Keeps the database bounded, off the hot path: every few minutes it prunes finished
/// executions past the retention age or beyond each workflow's count (`RetentionPolicy`), the
/// trigger claims and idempotency records that guard nothing any more, and webhook signatures
/// that can no longer verify, then gives the freed pages back to the file system. Each batch is
/// its own short transaction, so the journal's group commits go on between them.
final class Janitor: Service, Sendable {
    let store: Store
    let policy: RetentionPolicy
    let logger: Logger
    /// Between passes.
    let interval: Duration

    init(store: Store, policy: RetentionPolicy = RetentionPolicy(), interval: Duration = .seconds(300), logger: Logger)
    {
        self.store = store
        self.policy = policy
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let report = try await prune()
                if report.total > 0 {
                    logger.info(
                        "pruned history",
                        metadata: [
                            "executions": "\(report.executions)", "claims": "\(report.claims)",
                            "idempotency_records": "\(report.processedMessages)",
                            "webhook_signatures": "\(report.signatures)", "pages_freed": "\(report.pagesFreed)",
                        ])
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error("pruning history failed", metadata: ["error": "\(logDescription(of: error))"])
            }
            // Ends early on shutdown and on cancellation alike.
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
    }

    /// What one pass removed.
    struct Report: Equatable {
        var executions = 0
        var claims = 0
        var processedMessages = 0
        var signatures = 0
        var pagesFreed = 0

        var total: Int { executions + claims + processedMessages + signatures }
    }

    /// One pass: every kind of record, batch by batch until none is left to prune.
    func prune(now: Date = Date()) async throws -> Report {
        var report = Report()
        let batch = policy.batchSize
        if let maxAge = policy.maxAge {
            let cutoff = now.addingTimeInterval(-maxAge)
            report.executions += try await drain { db in
                try Retention.pruneExecutions(db, startedBefore: cutoff, limit: batch)
            }
        }
        // By age, and those of deleted workflows whatever the age.
        let claimCutoff = policy.maxAge.map { now.addingTimeInterval(-$0) }
        report.claims += try await drain { db in
            try Retention.pruneClaims(db, claimedBefore: claimCutoff, limit: batch)
        }
        if let keep = policy.maxPerWorkflow {
            for workflowID in try await store.read({ db in try Retention.workflowsWithExecutions(db) }) {
                report.executions += try await drain { db in
                    try Retention.pruneExecutions(db, workflowID: workflowID, keeping: keep, limit: batch)
                }
            }
        }
        report.processedMessages += try await drain { db in
            try Retention.pruneProcessedMessages(db, now: now, limit: batch)
        }
        let before = Self.signaturesExpireBefore(now: now)
        report.signatures += try await store.write { db in try WebhookSignaturesSeen.prune(db, before: before) }
        // Free pages go back a thousand (4 MiB) at a time, each its own short write.
        var (_, free) = try await store.read { db in try Retention.pageCounts(db) }
        let freeBefore = free
        while free > 0 {
            try Task.checkCancellation()
            let left = try await store.write { db in try Retention.giveBackSpace(db, pages: 1000) }
            // Without incremental auto-vacuum nothing is given back: stop rather than spin.
            guard left < free else { break }
            free = left
        }
        report.pagesFreed = freeBefore
        return report
    }

    /// Runs `batch` until it removes nothing more, each time in its own transaction; the total.
    private func drain(_ batch: @Sendable @escaping (Database) throws -> Int) async throws -> Int {
        var total = 0
        while true {
            try Task.checkCancellation()
            let removed = try await store.write(batch)
            total += removed
            if removed < policy.batchSize { return total }
            // Room for the journal's next commit before the next batch.
            await Task.yield()
        }
    }

    /// A signature whose timestamp is older than this (unix seconds) no longer verifies, so its
    /// record guards nothing; a minute of slack covers a clock stepped back a little.
    static func signaturesExpireBefore(now: Date) -> Int {
        Int(now.timeIntervalSince1970 - WebhookSignature.tolerance) - 60
    }
}
