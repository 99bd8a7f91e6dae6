import DocflowCore
import DocflowStore
import Foundation

/// The status events of contract section 4, built as outbox rows so they commit with their change;
/// the service decides where they are published.
///
/// No event is larger than `maxBytes`: an event that would be has its largest parts (step
/// outputs, `trigger_data`, a definition) replaced by an omission marker, `{"$omitted":
/// {"bytes": N, "limit": L}}`; the whole value stays readable through the API.
package enum StatusEvents {
    package enum DefinitionEvent: String, Sendable {
        case created = "workflow.created"
        case updated = "workflow.updated"
        case deleted = "workflow.deleted"
    }

    package static func definition(_ event: DefinitionEvent, _ workflow: Workflow, maxBytes: Int) -> OutboxMessage {
        message(
            event.rawValue, workflowID: workflow.id, executionID: nil, data: workflow.json(), maxBytes: maxBytes,
            omittable: [["definition"], ["trigger_config"], ["description"]])
    }

    /// `workflow.started` / `.completed` / `.failed` / `.cancelled`: the execution as the list shows it.
    package static func execution(_ execution: Execution, maxBytes: Int) -> OutboxMessage {
        let event = execution.status == .running ? "workflow.started" : "workflow.\(execution.status.rawValue)"
        return message(
            event, workflowID: execution.workflowID, executionID: execution.id, data: execution.json(),
            maxBytes: maxBytes,
            omittable: [["trigger_data"], ["previous_runs"]]
                + execution.log.indices.map { index -> [OmittablePath] in
                    ["execution_log", .index(index), "output"]
                }, lastResort: [["execution_log"]])
    }

    /// `workflow.step.started` / `.completed` / `.failed` / `.skipped`.
    package static func step(_ run: StepRun, of execution: Execution, maxBytes: Int) -> OutboxMessage {
        message(
            "workflow.step.\(run.status == .running ? "started" : run.status.rawValue)",
            workflowID: execution.workflowID, executionID: execution.id,
            data: run.eventJSON(executionID: execution.id, workflowID: execution.workflowID), maxBytes: maxBytes,
            omittable: [["output"]])
    }

    /// The event's body, its `data` shrunk to fit `maxBytes` if need be: the parts at the
    /// `omittable` paths are replaced by markers, largest first, until it fits. What still does
    /// not fit (only ids and short fields are left) keeps the ids and replaces the rest.
    static func message(
        _ event: String, workflowID: String, executionID: String?, data: JSONValue, maxBytes: Int,
        omittable: @autoclosure () -> [[OmittablePath]] = [], lastResort: [[OmittablePath]] = [],
        now: Date = Date()
    ) -> OutboxMessage {
        let id = TimeOrderedID.make(now: now)
        func body(_ data: JSONValue) -> Data {
            let body: JSONValue = [
                "id": .string(id),
                "event": .string(event),
                "timestamp": .string(RFC3339.string(from: now)),
                "data": data,
            ]
            return body.encoded()
        }
        var encoded = body(data)
        if encoded.count > maxBytes {
            encoded = body(
                shrunk(
                    data, by: encoded.count - maxBytes, omittable: omittable(), lastResort: lastResort, limit: maxBytes)
            )
        }
        return OutboxMessage(
            event: event, workflowID: workflowID, executionID: executionID, messageID: id, body: encoded,
            createdAt: now.timeIntervalSince1970)
    }

    /// A key or an index on the way to a part of an event's `data`.
    enum OmittablePath: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case key(String)
        case index(Int)

        init(stringLiteral value: String) { self = .key(value) }
        init(integerLiteral value: Int) { self = .index(value) }
    }

    /// What stands in for an omitted part of `bytes` bytes.
    package static func omissionMarker(bytes: Int, limit: Int) -> JSONValue {
        ["$omitted": ["bytes": .number(Double(bytes)), "limit": .number(Double(limit))]]
    }

    /// `data` with the largest omittable parts replaced until it is at least `excess` bytes
    /// smaller, then the `lastResort` ones in order; with nothing left to omit, only its ids and
    /// a marker for the rest.
    private static func shrunk(
        _ data: JSONValue, by excess: Int, omittable: [[OmittablePath]], lastResort: [[OmittablePath]], limit: Int
    ) -> JSONValue {
        var data = data
        var parts = omittable.compactMap { path in data[path].map { (path, $0.encodedSize()) } }
        parts.sort { $0.1 > $1.1 }
        parts += lastResort.compactMap { path in data[path].map { (path, $0.encodedSize()) } }
        var saved = 0
        for (path, var size) in parts where saved < excess {
            // A last-resort part may hold markers already: count it as it is now.
            if let current = data[path] { size = current.encodedSize() }
            let marker = omissionMarker(bytes: size, limit: limit)
            let markerSize = marker.encodedSize()
            guard size > markerSize, data[path] != nil else { continue }
            data[path] = marker
            saved += size - markerSize
        }
        guard saved < excess else { return data }
        var kept: [String: JSONValue] = [:]
        for key in ["id", "execution_id", "workflow_id", "step_id", "name", "type", "status", "attempt"] {
            if let value = data[key], value.encodedSize(upTo: 1024) <= 1024 { kept[key] = value }
        }
        kept["$omitted"] = omissionMarker(bytes: data.encodedSize(), limit: limit)["$omitted"]
        return .object(kept)
    }
}

extension JSONValue {
    /// The part at `path`, if there is one; setting it replaces an existing part only.
    fileprivate subscript(path: [StatusEvents.OmittablePath]) -> JSONValue? {
        get {
            var value: JSONValue? = self
            for component in path {
                switch (component, value) {
                case (.key(let key), .object(let members)?): value = members[key]
                case (.index(let index), .array(let items)?) where items.indices.contains(index): value = items[index]
                default: return nil
                }
            }
            return value
        }
        set {
            guard let newValue, let first = path.first else { return }
            let rest = Array(path.dropFirst())
            switch (first, self) {
            case (.key(let key), .object(var members)) where members[key] != nil:
                if rest.isEmpty { members[key] = newValue } else { members[key]![rest] = newValue }
                self = .object(members)
            case (.index(let index), .array(var items)) where items.indices.contains(index):
                if rest.isEmpty { items[index] = newValue } else { items[index][rest] = newValue }
                self = .array(items)
            default:
                return
            }
        }
    }
}
