import DocflowCore
import DocflowStore
import Synchronization

/// Enabled event-triggered workflows by event name, kept in memory so matching an event costs a
/// dictionary lookup and the filters of that event's workflows, never a scan of all workflows.
/// Definition changes update it after they commit.
final class TriggerIndex: Sendable {
    private let byEvent = Mutex<[String: [String: Workflow]]>([:])

    func load(from store: Store) async throws {
        let workflows = try await store.read { db in try WorkflowRepository.fetchEnabledEventWorkflows(db) }
        byEvent.withLock { index in
            index.removeAll()
            for workflow in workflows { Self.insert(workflow, into: &index) }
        }
    }

    /// Takes a created or updated workflow into account.
    func update(_ workflow: Workflow) {
        byEvent.withLock { index in
            Self.remove(workflow.id, from: &index)
            Self.insert(workflow, into: &index)
        }
    }

    func remove(_ workflowID: String) {
        byEvent.withLock { index in Self.remove(workflowID, from: &index) }
    }

    /// The workflows an event starts.
    func matches(event: String, data: [String: JSONValue]) -> [Workflow] {
        let candidates = byEvent.withLock { $0[event].map { Array($0.values) } ?? [] }
        return candidates.filter { workflow in
            EventFilter.matches(workflow.triggerConfig["filters"]?.objectValue ?? [:], data)
        }
    }

    private static func insert(_ workflow: Workflow, into index: inout [String: [String: Workflow]]) {
        guard workflow.enabled, workflow.triggerType == .event,
            let event = workflow.triggerConfig["event"]?.stringValue
        else { return }
        index[event, default: [:]][workflow.id] = workflow
    }

    private static func remove(_ workflowID: String, from index: inout [String: [String: Workflow]]) {
        for event in index.keys { index[event]?.removeValue(forKey: workflowID) }
    }
}
