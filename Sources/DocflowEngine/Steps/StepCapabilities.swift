import DocflowCore

/// How the engine must treat the steps of one type: which thread runs them, whether they reach
/// the world outside docflow, and who enforces their deadline. Declared once per step type
/// (`StepType.capabilities`), so an executor cannot get it wrong and a new step type does not
/// compile until it says.
package struct StepCapabilities: Sendable, Equatable, CustomStringConvertible {
    /// Where a step's `execute` runs.
    package enum Placement: Sendable, Equatable {
        /// On its execution's own thread (a jq worker's): the step only waits for a helper
        /// process, so it costs no hop between threads.
        case executionThread
        /// On the global executor: the step does work of weight (parsing, HTTP, extraction) that
        /// must never hold up a jq worker's replies and deadlines.
        case sharedExecutor
    }

    /// What running a step does outside docflow.
    package enum Effects: Sendable, Equatable {
        /// Nothing: it computes, or only reads (a document fetched by GET). It may run while the
        /// execution's start is still being committed (a speculative start).
        case none
        /// It sends (Slack, email, a webhook) or asks another service to work (delegated
        /// extraction). It runs only once the execution's start is committed, so a trigger that
        /// turns out to be a duplicate never causes it.
        case external
    }

    /// Who stops a step at its `timeout_ms`.
    package enum Deadline: Sendable, Equatable {
        /// The engine races the step against a timer and gives up on it.
        case engine
        /// The executor stops its own work at `StepContext.deadline` (the jq pool kills the
        /// program, the parser pool its helper): no timer of the engine's.
        case executor
    }

    package let placement: Placement
    package let effects: Effects
    package let deadline: Deadline

    package init(placement: Placement, effects: Effects, deadline: Deadline) {
        self.placement = placement
        self.effects = effects
        self.deadline = deadline
    }

    package var description: String { "\(placement), effects \(effects), deadline by \(deadline)" }
}

extension StepType {
    /// The one declaration of how the engine treats steps of this type.
    package var capabilities: StepCapabilities {
        switch self {
        case .transform, .condition:
            StepCapabilities(placement: .executionThread, effects: .none, deadline: .executor)
        case .parse:
            StepCapabilities(placement: .sharedExecutor, effects: .none, deadline: .executor)
        case .extract, .integration:
            StepCapabilities(placement: .sharedExecutor, effects: .external, deadline: .engine)
        }
    }
}
