import DocflowCore

/// `transform`: runs `config.expression` (jq) on the context. One result is the output; none is
/// `null`; several are an array.
package struct TransformStep: StepExecutor {
    let jq: JQPool

    package init(jq: JQPool) {
        self.jq = jq
    }

    package func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
        let results = try await evaluate(jq, step, context)
        switch results.count {
        case 0: return StepResult(output: .null)
        case 1: return StepResult(output: results[0])
        default: return StepResult(output: .array(results))
        }
    }
}

/// `condition`: runs `config.expression` and goes to `config.then` when its first result is
/// truthy by jq's rules (anything but `false` and `null`), else to `config.else`.
package struct ConditionStep: StepExecutor {
    let jq: JQPool

    package init(jq: JQPool) {
        self.jq = jq
    }

    package func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
        let results = try await evaluate(jq, step, context)
        let truthy = results.first.map { $0 != .null && $0 != .bool(false) } ?? false
        let branch = truthy ? "then" : "else"
        guard let target = step.config[branch]?.stringValue else {
            throw StepError("condition has no \(branch) target", retryable: false)
        }
        return StepResult(
            output: ["result": .bool(truthy), "branch": .string(branch), "next": .string(target)],
            next: StepTarget(target))
    }
}

private func evaluate(_ jq: JQPool, _ step: StepDefinition, _ context: StepContext) async throws(StepError)
    -> [JSONValue]
{
    guard let program = step.config["expression"]?.stringValue else {
        throw StepError("config.expression is missing", retryable: false)
    }
    do {
        return try await jq.evaluate(program, input: context.json, timeout: context.remaining)
    } catch .timeout where context.timeout > jq.maxTimeout {
        throw StepError(
            "step timed out after \(jq.maxTimeout.milliseconds) ms, the longest a jq step runs on this server (--max-jq-timeout-ms; its timeout_ms is \(context.timeout.milliseconds)); the jq program was stopped"
        )
    } catch .timeout {
        throw StepError("step timed out after \(context.timeout.milliseconds) ms; the jq program was stopped")
    } catch .cancelled {
        throw StepError("cancelled", retryable: false)
    } catch .outputTooLarge(let limit) {
        throw StepError(JQError.outputTooLarge(limit: limit).description, retryable: false)
    } catch .unavailable(let reason) {
        // No descriptors or processes left for a helper: docflow's trouble, which passes.
        throw StepError(JQError.unavailable(reason).description, transient: true)
    } catch {
        throw StepError(error.description)
    }
}
