import Foundation

/// A workflow definition as stored and served: the seed's `Workflow` object.
public struct Workflow: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var definition: WorkflowDefinition
    public var triggerType: TriggerType
    /// The trigger's settings as the user gave them (secrets included; mask before serving).
    public var triggerConfig: [String: JSONValue]
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, description: String?, definition: WorkflowDefinition,
        triggerType: TriggerType, triggerConfig: [String: JSONValue], enabled: Bool,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.definition = definition
        self.triggerType = triggerType
        self.triggerConfig = triggerConfig
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum TriggerType: String, Sendable, CaseIterable, Codable {
    case manual
    case scheduled
    case webhook
    case event
}

/// The platform events a workflow can be triggered by (contract section 2).
public enum PlatformEvent: String, Sendable, CaseIterable, Codable {
    case documentUploaded = "document.uploaded"
    case documentProcessed = "document.processed"
    case extractionCompleted = "extraction.completed"
    case chatMessage = "chat.message"
}

public struct WorkflowDefinition: Sendable, Equatable {
    public var steps: [StepDefinition]

    public init(steps: [StepDefinition]) {
        self.steps = steps
    }

    public func step(_ id: String) -> StepDefinition? {
        steps.first { $0.id == id }
    }
}

public enum StepType: String, Sendable, CaseIterable, Codable {
    case parse
    case extract
    case transform
    case condition
    case integration
}

public enum OnError: String, Sendable, CaseIterable, Codable {
    case fail
    case `continue`
}

/// Where control goes after a step: a named step, or the end of the execution.
public enum StepTarget: Sendable, Equatable {
    case step(String)
    case end

    public init(_ raw: String) {
        self = raw == "end" ? .end : .step(raw)
    }

    public var rawValue: String {
        switch self {
        case .step(let id): id
        case .end: "end"
        }
    }
}

public struct RetryPolicy: Sendable, Equatable {
    public enum Backoff: String, Sendable, CaseIterable {
        case fixed
        case linear
        case exponential
    }

    public var maxAttempts: Int
    public var initialIntervalMs: Int
    public var backoff: Backoff
    public var maxIntervalMs: Int

    public init(
        maxAttempts: Int = 1, initialIntervalMs: Int = 1000, backoff: Backoff = .exponential,
        maxIntervalMs: Int = 60_000
    ) {
        self.maxAttempts = maxAttempts
        self.initialIntervalMs = initialIntervalMs
        self.backoff = backoff
        self.maxIntervalMs = maxIntervalMs
    }

    /// No retries: one attempt.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `attempt + 1`, after `attempt` attempts failed (1-based).
    public func delayMs(afterAttempt attempt: Int) -> Int {
        let base = Double(initialIntervalMs)
        let raw: Double
        switch backoff {
        case .fixed: raw = base
        case .linear: raw = base * Double(attempt)
        case .exponential: raw = base * pow(2, Double(attempt - 1))
        }
        return Int(min(raw, Double(maxIntervalMs)))
    }
}

public struct StepDefinition: Sendable, Equatable {
    public static let defaultTimeoutMs = 30_000

    public var id: String
    public var type: StepType
    public var config: [String: JSONValue]
    public var next: StepTarget?
    public var retry: RetryPolicy?
    public var timeoutMs: Int?
    public var onError: OnError

    public init(
        id: String, type: StepType, config: [String: JSONValue] = [:], next: StepTarget? = nil,
        retry: RetryPolicy? = nil, timeoutMs: Int? = nil, onError: OnError = .fail
    ) {
        self.id = id
        self.type = type
        self.config = config
        self.next = next
        self.retry = retry
        self.timeoutMs = timeoutMs
        self.onError = onError
    }
}
