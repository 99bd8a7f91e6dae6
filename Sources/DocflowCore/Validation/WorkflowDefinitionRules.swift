/// The rules a workflow definition (`{"steps": [...]}`) must follow, shared by request validation and
/// by `WorkflowDefinition(json:)`: step shapes, per-type config, targets that name real steps, and no cycles.
enum WorkflowDefinitionRules {
    static let maxSteps = 100
    static let maxIdLength = 64
    static let maxTimeoutMs = 3_600_000
    static let maxIntervalMs = 3_600_000
    static let maxAttempts = 100

    /// Reads a definition at `path`, recording every problem in `errors`; returns it only when it has none.
    ///
    /// `requireIntegrationIds` is true for an enabled workflow: its integration steps must say which
    /// integration they use. A stored definition is read with `false`, as a disabled workflow may lack them.
    /// `templateLimits`, when given, holds integration templates to them; a stored definition is read
    /// without, as its templates may predate the limits (rendering checks them again).
    /// `strictConfig` rejects step config keys outside `APIFields.stepConfig`; a stored definition
    /// is read without, as it may predate the rule.
    static func read(
        _ json: JSONValue, at path: String, requireIntegrationIds: Bool, templateLimits: TemplateLimits? = nil,
        strictConfig: Bool = false, into errors: inout FieldErrorCollector
    ) -> WorkflowDefinition? {
        let before = errors.details.count
        guard let definition = errors.object(json, at: path) else { return nil }
        errors.rejectUnknown(definition, at: path, known: APIFields.definition, what: "a definition")
        let stepsPath = FieldErrorCollector.path(path, "steps")
        guard let stepsJSON = FieldErrorCollector.given(definition, "steps") else {
            errors.add(stepsPath, "is required")
            return nil
        }
        guard let items = errors.array(stepsJSON, at: stepsPath) else { return nil }
        guard !items.isEmpty else {
            errors.add(stepsPath, "must not be empty")
            return nil
        }
        // Past the limit, per-step details would only bury the one that matters.
        guard items.count <= maxSteps else {
            errors.add(stepsPath, "must have at most \(maxSteps) steps")
            return nil
        }

        var reader = StepReader(
            stepsPath: stepsPath, requireIntegrationIds: requireIntegrationIds, templateLimits: templateLimits,
            strictConfig: strictConfig)
        let drafts = items.enumerated().map { index, item in reader.readStep(item, index: index, into: &errors) }
        let graphIsSound = reader.checkTargets(drafts, into: &errors)
        if graphIsSound {
            CycleFinder(drafts: drafts).report(into: &errors)
        }

        guard errors.details.count == before else { return nil }
        let steps = drafts.compactMap(\.step)
        return steps.count == drafts.count ? WorkflowDefinition(steps: steps) : nil
    }
}

/// What one step item became: the step when it is valid, and enough of it to check the control flow.
private struct StepDraft {
    var index: Int
    var id: String?
    var type: StepType?
    /// Raw target names with the field path each came from.
    var next: (target: String, field: String)?
    var thenTarget: (target: String, field: String)?
    var elseTarget: (target: String, field: String)?
    var step: StepDefinition?
}

private struct StepReader {
    let stepsPath: String
    let requireIntegrationIds: Bool
    let templateLimits: TemplateLimits?
    let strictConfig: Bool
    /// Every valid id with the index of the step that first used it.
    private(set) var firstIndexOfId: [String: Int] = [:]
    /// False once any id is missing, malformed or duplicated: targets and cycles cannot be judged then.
    private(set) var idsAreSound = true
    /// False once a step's control flow is contradictory (a condition with `next`).
    private(set) var flowIsSound = true

    init(stepsPath: String, requireIntegrationIds: Bool, templateLimits: TemplateLimits?, strictConfig: Bool) {
        self.stepsPath = stepsPath
        self.requireIntegrationIds = requireIntegrationIds
        self.templateLimits = templateLimits
        self.strictConfig = strictConfig
    }

    mutating func readStep(_ item: JSONValue, index: Int, into errors: inout FieldErrorCollector) -> StepDraft {
        let path = "\(stepsPath)[\(index)]"
        var draft = StepDraft(index: index)
        guard let fields = errors.object(item, at: path) else {
            idsAreSound = false
            return draft
        }
        let before = errors.details.count
        func at(_ key: String) -> String { FieldErrorCollector.path(path, key) }
        errors.rejectUnknown(fields, at: path, known: APIFields.step, what: "a step")

        draft.id = readId(FieldErrorCollector.given(fields, "id"), at: at("id"), index: index, into: &errors)
        if let typeJSON = FieldErrorCollector.given(fields, "type") {
            draft.type = errors.oneOf(typeJSON, at: at("type"), StepType.self)
        } else {
            errors.add(at("type"), "is required")
        }

        var config: [String: JSONValue]? = [:]
        if let configJSON = FieldErrorCollector.given(fields, "config") {
            config = errors.object(configJSON, at: at("config"))
        }
        if let type = draft.type, let config {
            readConfig(config, of: type, at: at("config"), into: &draft, errors: &errors)
        }

        let nextJSON = FieldErrorCollector.given(fields, "next")
        if let nextJSON, let next = errors.string(nextJSON, at: at("next")) {
            if draft.type == .condition {
                errors.add(at("next"), "is not allowed on a condition step; use then/else")
                flowIsSound = false
            } else {
                draft.next = (next, at("next"))
            }
        }

        var retry: RetryPolicy?
        if let retryJSON = FieldErrorCollector.given(fields, "retry") {
            retry = readRetry(retryJSON, at: at("retry"), into: &errors)
        }
        var timeoutMs: Int?
        if let timeoutJSON = FieldErrorCollector.given(fields, "timeout_ms") {
            timeoutMs = errors.integer(timeoutJSON, at: at("timeout_ms"), in: 1...WorkflowDefinitionRules.maxTimeoutMs)
        }
        var onError = OnError.fail
        if let onErrorJSON = FieldErrorCollector.given(fields, "on_error") {
            onError = errors.oneOf(onErrorJSON, at: at("on_error"), OnError.self) ?? .fail
        }

        if errors.details.count == before, let id = draft.id, let type = draft.type, let config {
            draft.step = StepDefinition(
                id: id, type: type, config: config, next: draft.next.map { StepTarget($0.target) }, retry: retry,
                timeoutMs: timeoutMs, onError: onError)
        }
        return draft
    }

    private mutating func readId(
        _ value: JSONValue?, at path: String, index: Int, into errors: inout FieldErrorCollector
    ) -> String? {
        guard let id = errors.requiredString(value, at: path) else {
            idsAreSound = false
            return nil
        }
        let maxLength = WorkflowDefinitionRules.maxIdLength
        let allowed = id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
        guard allowed, (1...maxLength).contains(id.utf8.count) else {
            errors.add(path, "must be 1 to \(maxLength) characters from A-Z, a-z, 0-9, _ and -")
            idsAreSound = false
            return nil
        }
        // "end" is the target that ends an execution, so no step can be reached under that name.
        guard id != StepTarget.end.rawValue else {
            errors.add(path, "must not be \"end\": it is reserved for ending the workflow")
            idsAreSound = false
            return nil
        }
        if let first = firstIndexOfId[id] {
            errors.add(path, "duplicates the id of \(stepsPath)[\(first)]")
            idsAreSound = false
            return nil
        }
        firstIndexOfId[id] = index
        return id
    }

    private func readConfig(
        _ config: [String: JSONValue], of type: StepType, at path: String, into draft: inout StepDraft,
        errors: inout FieldErrorCollector
    ) {
        func at(_ key: String) -> String { FieldErrorCollector.path(path, key) }
        if strictConfig {
            errors.rejectUnknown(
                config, at: path, known: APIFields.stepConfig(type), what: "the config of a \(type.rawValue) step")
        }
        switch type {
        case .parse:
            break
        case .extract:
            _ = errors.requiredString(
                FieldErrorCollector.given(config, "schema_id"), at: at("schema_id"), nonEmpty: true)
        case .transform:
            let expression = errors.requiredString(
                FieldErrorCollector.given(config, "expression"), at: at("expression"), nonEmpty: true)
            if let expression, JQModules.used(in: expression) { errors.add(at("expression"), JQModules.message) }
        case .condition:
            let expression = errors.requiredString(
                FieldErrorCollector.given(config, "expression"), at: at("expression"))
            if let expression, JQModules.used(in: expression) { errors.add(at("expression"), JQModules.message) }
            if let then = errors.requiredString(FieldErrorCollector.given(config, "then"), at: at("then")) {
                draft.thenTarget = (then, at("then"))
            }
            if let otherwise = errors.requiredString(FieldErrorCollector.given(config, "else"), at: at("else")) {
                draft.elseTarget = (otherwise, at("else"))
            }
        case .integration:
            if let integrationId = FieldErrorCollector.given(config, "integration_id") {
                _ = errors.string(integrationId, at: at("integration_id"), nonEmpty: true)
            } else if requireIntegrationIds {
                errors.add(at("integration_id"), "is required when the workflow is enabled")
            }
            if let template = FieldErrorCollector.given(config, "template"),
                let text = errors.string(template, at: at("template")), let templateLimits,
                let problem = MustacheProgram.problem(in: text, limits: templateLimits)
            {
                errors.add(at("template"), problem.description)
            }
        }
    }

    private func readRetry(
        _ value: JSONValue, at path: String, into errors: inout FieldErrorCollector
    ) -> RetryPolicy? {
        guard let fields = errors.object(value, at: path) else { return nil }
        func at(_ key: String) -> String { FieldErrorCollector.path(path, key) }
        let before = errors.details.count
        errors.rejectUnknown(fields, at: path, known: APIFields.retry, what: "a retry policy")
        var policy = RetryPolicy()

        if let json = FieldErrorCollector.given(fields, "max_attempts"),
            let value = errors.integer(json, at: at("max_attempts"), in: 1...WorkflowDefinitionRules.maxAttempts)
        {
            policy.maxAttempts = value
        }
        var initialIsValid = true
        if let json = FieldErrorCollector.given(fields, "initial_interval_ms") {
            if let value = errors.integer(
                json, at: at("initial_interval_ms"), in: 0...WorkflowDefinitionRules.maxIntervalMs)
            {
                policy.initialIntervalMs = value
            } else {
                initialIsValid = false
            }
        }
        if let json = FieldErrorCollector.given(fields, "backoff"),
            let value = errors.oneOf(json, at: at("backoff"), RetryPolicy.Backoff.self)
        {
            policy.backoff = value
        }
        if let json = FieldErrorCollector.given(fields, "max_interval_ms") {
            if let value = errors.integer(json, at: at("max_interval_ms"), in: 0...Int.max), initialIsValid {
                if value < policy.initialIntervalMs {
                    errors.add(
                        at("max_interval_ms"), "must be at least initial_interval_ms (\(policy.initialIntervalMs))")
                } else {
                    policy.maxIntervalMs = value
                }
            }
        } else {
            // A long initial interval alone should not trip over the default cap the user never wrote.
            policy.maxIntervalMs = max(policy.maxIntervalMs, policy.initialIntervalMs)
        }
        return errors.details.count == before ? policy : nil
    }

    /// Checks that every `next`, `then` and `else` names a step of this definition or `end`.
    /// Returns whether the control flow is sound enough to look for cycles.
    func checkTargets(_ drafts: [StepDraft], into errors: inout FieldErrorCollector) -> Bool {
        var sound = idsAreSound && flowIsSound && drafts.allSatisfy { $0.type != nil }
        for draft in drafts {
            for target in [draft.next, draft.thenTarget, draft.elseTarget].compactMap({ $0 })
            where target.target != StepTarget.end.rawValue && firstIndexOfId[target.target] == nil {
                // With an id unreadable, the target may name it; saying "no step" then would mislead.
                if idsAreSound {
                    errors.add(target.field, "names no step of this workflow")
                }
                sound = false
            }
            if draft.type == .condition, draft.thenTarget == nil || draft.elseTarget == nil {
                sound = false
            }
        }
        return sound
    }
}

/// Finds cycles in a definition's control flow, reachable or not, and reports each on the explicit edge
/// that closes it, e.g. `definition.steps[2].next: makes a cycle: a -> b -> c -> a`.
private struct CycleFinder {
    struct Edge {
        var from: Int
        var to: Int
        /// Nil for the implicit step to the following item in the list.
        var field: String?
    }

    let edges: [[Edge]]
    let ids: [String]

    init(drafts: [StepDraft]) {
        var index: [String: Int] = [:]
        for draft in drafts { index[draft.id!] = draft.index }
        ids = drafts.map { $0.id! }
        edges = drafts.map { draft in
            // Control flow: `next` if given, else a condition's branches, else the following step.
            let explicit = draft.next.map { [$0] } ?? [draft.thenTarget, draft.elseTarget].compactMap { $0 }
            if !explicit.isEmpty || draft.type == .condition {
                return explicit.compactMap { target in
                    index[target.target].map { Edge(from: draft.index, to: $0, field: target.field) }
                }
            }
            return draft.index + 1 < drafts.count ? [Edge(from: draft.index, to: draft.index + 1, field: nil)] : []
        }
    }

    func report(into errors: inout FieldErrorCollector) {
        enum Color { case white, onStack, done }
        var color = Array(repeating: Color.white, count: ids.count)
        var nodeStack: [Int] = []
        var edgeStack: [Edge] = []
        var reported: Set<String> = []

        func visit(_ node: Int) {
            color[node] = .onStack
            nodeStack.append(node)
            for edge in edges[node] {
                switch color[edge.to] {
                case .white:
                    edgeStack.append(edge)
                    visit(edge.to)
                    edgeStack.removeLast()
                case .onStack:
                    let start = nodeStack.lastIndex(of: edge.to)!
                    let cycle = Array(edgeStack[start...]) + [edge]
                    reportCycle(cycle)
                case .done:
                    break
                }
            }
            nodeStack.removeLast()
            color[node] = .done
        }

        func reportCycle(_ cycle: [Edge]) {
            // The edge the search closed the cycle with, unless it is implicit: implicit edges only go forward,
            // so every cycle also has an explicit edge going back (or to itself), which the user can change.
            guard
                let position = cycle.last!.field != nil
                    ? cycle.count - 1 : cycle.lastIndex(where: { $0.field != nil && $0.to <= $0.from }),
                let field = cycle[position].field, !reported.contains(field)
            else { return }
            reported.insert(field)
            let names = (0..<cycle.count).map { ids[cycle[(position + 1 + $0) % cycle.count].from] }
            errors.add(field, "makes a cycle: " + (names + [names[0]]).joined(separator: " -> "))
        }

        for node in ids.indices where color[node] == .white {
            visit(node)
        }
    }
}
