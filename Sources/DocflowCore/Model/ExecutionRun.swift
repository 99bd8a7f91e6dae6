import Foundation

/// A finished run of an execution that was retried: how it ended and its step log as they were
/// when the retry reopened the execution. A retry adds to an execution's history; it never
/// rewrites it.
public struct ExecutionRun: Sendable, Equatable {
    /// 1 for the execution's first run.
    public var number: Int
    public var status: ExecutionStatus
    public var error: String?
    /// The execution's `started_at` for the first run; the retry's time for a later one.
    public var startedAt: Date
    public var completedAt: Date?
    /// When it was retried: the next run's start.
    public var retriedAt: Date
    /// The run's log as it ended, the steps it kept from an earlier run included.
    public var log: [StepRun]

    public init(
        number: Int, status: ExecutionStatus, error: String?, startedAt: Date, completedAt: Date?, retriedAt: Date,
        log: [StepRun]
    ) {
        self.number = number
        self.status = status
        self.error = error
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.retriedAt = retriedAt
        self.log = log
    }

    /// `previous_runs` entry of the execution object.
    public func json() -> JSONValue {
        [
            "run": .number(Double(number)),
            "status": .string(status.rawValue),
            "error": error.map(JSONValue.string) ?? .null,
            "started_at": .string(RFC3339.string(from: startedAt)),
            "completed_at": completedAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "retried_at": .string(RFC3339.string(from: retriedAt)),
            "execution_log": .array(log.map { $0.json() }),
        ]
    }
}

extension Execution {
    /// This run's number: 1, plus one per retry.
    public var runNumber: Int { previousRuns.count + 1 }

    /// When the current run started: `startedAt`, or the last retry's time.
    public var runStartedAt: Date { previousRuns.last?.retriedAt ?? startedAt }

    /// The execution as a retry at `now` reopens it: its current run kept in `previousRuns`,
    /// running again, with only the steps that completed left in its log.
    public func reopened(at now: Date = Date()) -> Execution {
        var reopened = self
        reopened.previousRuns.append(
            ExecutionRun(
                number: runNumber, status: status, error: error, startedAt: runStartedAt, completedAt: completedAt,
                retriedAt: now, log: log))
        reopened.status = .running
        reopened.completedAt = nil
        reopened.error = nil
        reopened.log.removeAll { $0.status != .completed }
        return reopened
    }
}
