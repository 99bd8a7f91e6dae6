import Foundation

/// A workflow's cron schedule (contract section 6).
public struct Schedule: Sendable, Equatable {
    public var workflowID: String
    public var cronExpression: String
    /// An IANA time zone name; `UTC` by default.
    public var timezone: String
    public var enabled: Bool
    /// The next slot to fire: a fire time of the expression in the zone. Nil when disabled.
    public var nextRunAt: Date?
    public var lastRunAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        workflowID: String, cronExpression: String, timezone: String = "UTC", enabled: Bool = true,
        nextRunAt: Date? = nil, lastRunAt: Date? = nil, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.workflowID = workflowID
        self.cronExpression = cronExpression
        self.timezone = timezone
        self.enabled = enabled
        self.nextRunAt = nextRunAt
        self.lastRunAt = lastRunAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public func json() -> JSONValue {
        func time(_ date: Date?) -> JSONValue { date.map { .string(RFC3339.string(from: $0)) } ?? .null }
        return [
            "workflow_id": .string(workflowID),
            "cron_expression": .string(cronExpression),
            "timezone": .string(timezone),
            "enabled": .bool(enabled),
            "next_run_at": time(nextRunAt),
            "last_run_at": time(lastRunAt),
            "created_at": time(createdAt),
            "updated_at": time(updatedAt),
        ]
    }
}
