/// What a step sees (contract section 6): `trigger`, `workflow`, `execution`, `steps.<id>.output`,
/// and the top-level keys of every earlier object output merged on top, the latest winning, so a
/// template can say `{{invoice_number}}` for what an extract step found. The four context keys
/// themselves are never shadowed by an output key of the same name.
public enum ExecutionContext {
    public static func build(for execution: Execution) -> JSONValue {
        var context: [String: JSONValue] = [:]
        var steps: [String: JSONValue] = [:]
        for run in execution.log where run.status == .completed {
            let output = run.output ?? .null
            steps[run.stepID] = ["output": output]
            if case .object(let fields) = output {
                context.merge(fields) { _, latest in latest }
            }
        }
        context["steps"] = .object(steps)
        context["trigger"] = execution.triggerData
        context["workflow"] = ["id": .string(execution.workflowID), "name": .string(execution.workflowName)]
        context["execution"] = [
            "id": .string(execution.id),
            "triggered_by": .string(execution.triggeredBy.rawValue),
            "started_at": .string(RFC3339.string(from: execution.startedAt)),
        ]
        return .object(context)
    }
}
