import DocflowCore
import Foundation

/// An execution's page as the template takes it, from the execution as the API serves it: its
/// facts, its steps as a waterfall (each step's attempts, queue time, run time, error and
/// output), and, for an execution that was retried, each earlier run the same way
/// (`previous_runs`, oldest first), so that a retry never hides a failure.
enum ExecutionTimeline {
    /// The bars' width in the template's SVG.
    static let width = 400.0

    static func context(_ execution: JSONValue, workflowName: String) -> [String: JSONValue] {
        let workflowID = execution["workflow_id"]?.stringValue ?? ""
        let error = execution["error"]?.stringValue
        let previous = execution["previous_runs"]?.arrayValue ?? []
        var context: [String: JSONValue] = [
            "execution": execution, "workflow_name": .string(workflowName),
            "workflow_href": .string("/ui/workflows/" + Console.pathEncoded(workflowID)),
            "completed_at": .string(execution["completed_at"]?.stringValue ?? "–"),
            "duration": .string(Console.elapsed(execution).map(Console.duration) ?? "–"),
            "has_error": .bool(error != nil), "error": .string(error ?? ""),
            "steps": .array(steps(execution["execution_log"]?.arrayValue ?? [], of: execution)),
            "trigger_data": .string(Console.pretty(execution["trigger_data"] ?? .null)),
            "previous_runs": .array(
                previous.reversed().map { run in
                    let error = run["error"]?.stringValue
                    return .object([
                        "run": run["run"] ?? 0, "status": run["status"] ?? "",
                        "started_at": .string(run["started_at"]?.stringValue ?? "–"),
                        "retried_at": .string(run["retried_at"]?.stringValue ?? "–"),
                        "has_error": .bool(error != nil), "error": .string(error ?? ""),
                        "steps": .array(steps(run["execution_log"]?.arrayValue ?? [], of: run)),
                    ])
                }),
        ]
        if let run = execution["run"]?.intValue, run > 1 { context["run"] = .number(Double(run)) }
        if let rerunOf = execution["rerun_of"]?.stringValue {
            context["rerun_of"] = .object([
                "id": .string(rerunOf),
                "href": .string(
                    "/ui/workflows/\(Console.pathEncoded(workflowID))/executions/\(Console.pathEncoded(rerunOf))"),
            ])
        }
        return context
    }

    /// The steps of one run (`run` holds its `started_at` and `completed_at`) on one scale: times
    /// are kept to the second, so a step starts where the one before it ended unless its own
    /// start says later.
    static func steps(_ log: [JSONValue], of run: JSONValue) -> [JSONValue] {
        let started = run["started_at"]?.stringValue.flatMap(RFC3339.date(from:))
        let completed = run["completed_at"]?.stringValue.flatMap(RFC3339.date(from:))
        var placed: [(offset: Double, queued: Double, ran: Double)] = []
        var cursor = 0.0
        for step in log {
            let offset = max(Console.offsetMs(step, from: started), cursor)
            let queued = Double(step["queued_ms"]?.intValue ?? 0)
            let ran = Double(step["duration_ms"]?.intValue ?? 0)
            placed.append((offset, queued, ran))
            cursor = offset + queued + ran
        }
        var span = max(1.0, cursor)
        if let started, let completed { span = max(span, completed.timeIntervalSince(started) * 1000) }
        let scale = width / span
        return zip(log, placed).map { step, place in
            let bar: JSONValue = .object([
                "qx": .number((place.offset * scale).rounded()), "qw": .number((place.queued * scale).rounded()),
                "x": .number(min(width - 2, ((place.offset + place.queued) * scale).rounded())),
                "w": .number(max(2, (place.ran * scale).rounded())),
            ])
            let output = step["output"] ?? .null
            let shown = Console.pretty(output)
            let error = step["error"]?.stringValue
            var fields: [String: JSONValue] = [
                "step_id": step["step_id"] ?? "", "type": step["type"] ?? "", "status": step["status"] ?? "",
                "attempts": step["attempts"] ?? 0, "started_at": .string(step["started_at"]?.stringValue ?? "–"),
                "duration": .string(step["duration_ms"]?.intValue.map(Console.duration) ?? "–"), "bar": bar,
                "has_error": .bool(error != nil), "error": .string(error ?? ""),
                "has_output": .bool(output != .null), "output": .string(shown),
                "open": .bool(error == nil && shown.count < 2000),
            ]
            if let queuedMs = step["queued_ms"]?.intValue { fields["queued"] = .string(Console.duration(queuedMs)) }
            return .object(fields)
        }
    }
}
