import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import Logging
import ServiceLifecycle

/// Fires due schedules. A slot is claimed and `next_run_at` advanced in the transaction that
/// creates its execution, so no slot fires twice, across restarts included; after downtime the
/// missed slots fire once, together, and the schedule goes on from now.
final class Scheduler: Service, Sendable {
    private let store: Store
    private let engine: Engine
    private let logger: Logger
    private let didCommit: @Sendable () -> Void
    private let wakeup = WakeSignal()

    init(store: Store, engine: Engine, logger: Logger, didCommit: @escaping @Sendable () -> Void) {
        self.store = store
        self.engine = engine
        self.logger = logger
        self.didCommit = didCommit
    }

    /// A schedule changed: look again now rather than at the next tick.
    func wake() {
        wakeup.signal()
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await fireDue(now: Date())
            } catch {
                logger.error("firing schedules failed; retrying", metadata: ["error": "\(logDescription(of: error))"])
            }
            await wakeup.wait(timeout: .seconds(1))
        }
    }

    func fireDue(now: Date) async throws {
        let due = try await store.read { db in try ScheduleRepository.due(db, now: now) }
        for schedule in due {
            try await fire(schedule, now: now)
        }
    }

    private func fire(_ schedule: Schedule, now: Date) async throws {
        guard let slot = schedule.nextRunAt else { return }
        let next = Self.nextRun(of: schedule, after: max(slot, now))
        let logger = self.logger
        let execution = try await store.write { [engine] db -> Execution? in
            // Another writer may have changed or fired it since it was read.
            guard var current = try ScheduleRepository.fetch(db, workflowID: schedule.workflowID), current.enabled,
                current.nextRunAt == slot
            else { return nil }
            current.lastRunAt = slot
            current.nextRunAt = next
            current.updatedAt = now
            try ScheduleRepository.save(db, current)
            guard let workflow = try WorkflowRepository.fetch(db, id: schedule.workflowID), workflow.enabled else {
                logger.info(
                    "skipping a slot of a disabled workflow", metadata: ["workflow_id": "\(schedule.workflowID)"])
                return nil
            }
            let request = StartRequest.schedule(
                workflow, slot: slot,
                triggerData: [
                    "scheduled_at": .string(RFC3339.string(from: slot)),
                    "cron_expression": .string(current.cronExpression),
                    "timezone": .string(current.timezone),
                ])
            return try engine.start(request, in: db).execution
        }
        didCommit()
        if let execution {
            logger.info(
                "schedule fired",
                metadata: [
                    "workflow_id": "\(schedule.workflowID)", "execution_id": "\(execution.id)",
                    "slot": "\(RFC3339.string(from: slot))",
                ])
        }
    }

    /// The schedule's first slot after `date`; nil when the expression or zone cannot say.
    static func nextRun(of schedule: Schedule, after date: Date) -> Date? {
        guard let cron = try? CronExpression(schedule.cronExpression),
            let zone = CronExpression.timeZone(named: schedule.timezone)
        else { return nil }
        return cron.next(after: date, in: zone)
    }
}
