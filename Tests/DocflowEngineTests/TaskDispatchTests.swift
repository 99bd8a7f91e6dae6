import DocflowCore
import Foundation
import Synchronization
import Testing

@testable import DocflowEngine

/// Steps sent to workers, without a broker: how results meet the attempts that wait for them
/// (`PendingTasks`), the wire form of tasks and results, and how a worker runs a task (`TaskRunner`).
@Suite struct TaskDispatchTests {
    static func result(_ id: String, _ output: JSONValue = ["ok": true]) -> PendingTasks.Arrival {
        PendingTasks.Arrival(
            result: StepTaskResult(taskID: id, outcome: .success(output), runMs: 3, worker: "w:1"), settle: {})
    }

    @Test func aResultIsAppliedOnlyToThePendingAttemptAndTheFirstOneWins() async {
        let pending = PendingTasks()
        #expect(!pending.deliver(Self.result("e:s:1")), "nothing pending under that id")
        pending.register("e:s:1")
        #expect(pending.deliver(Self.result("e:s:1", ["first": true])))
        #expect(!pending.deliver(Self.result("e:s:1", ["second": true])), "a later copy is refused")
        #expect(!pending.deliver(Self.result("e:s:2")), "another attempt's result is refused")
        let arrival = await pending.wait(for: "e:s:1", until: .now.advanced(by: .seconds(60)))
        #expect(arrival?.result.outcome == .success(["first": true]))
        #expect(pending.count == 0)
        #expect(!pending.deliver(Self.result("e:s:1")), "answered: no longer pending")
    }

    @Test func aWaitingAttemptGetsItsResult() async throws {
        let pending = PendingTasks()
        pending.register("e:s:1")
        let waiting = Task { await pending.wait(for: "e:s:1", until: .now.advanced(by: .seconds(60))) }
        // Whether the result comes before or after the wait begins, it is handed over once.
        try await Task.sleep(for: .milliseconds(20))
        #expect(pending.deliver(Self.result("e:s:1")))
        #expect(await waiting.value?.result.taskID == "e:s:1")
    }

    @Test func pastTheDeadlineTheAttemptIsNoLongerPending() async {
        let pending = PendingTasks()
        pending.register("e:s:1")
        let arrival = await pending.wait(for: "e:s:1", until: .now.advanced(by: .milliseconds(30)))
        #expect(arrival == nil)
        #expect(!pending.deliver(Self.result("e:s:1")), "a result after the deadline is refused")
        #expect(pending.count == 0)
    }

    @Test func cancellingTheWaitForgetsTheAttempt() async throws {
        let pending = PendingTasks()
        pending.register("e:s:1")
        let waiting = Task { await pending.wait(for: "e:s:1", until: .now.advanced(by: .seconds(60))) }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(await waiting.value == nil)
        #expect(!pending.deliver(Self.result("e:s:1")))
    }

    @Test func aTaskReadsBackAsItWasWrittenSecretsIncluded() throws {
        let integration = Integration(
            id: "int-1", workflowID: nil, name: "hook", type: .webhook,
            config: ["url": "https://example.com/h", "secret": "s3cret", "headers": ["X-Key": "k"]],
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
        let schema = try #require(BuiltInSchemas.schema("invoice-schema"))
        let task = StepTask(
            executionID: "exec-1", workflowID: "wf-1", stepID: "notify", attempt: 2, type: .integration,
            config: ["integration_id": "int-1"], timeoutMs: 5000, deadlineMs: 1_800_000_000_000,
            context: ["trigger": ["document_id": "d"]], latestOutput: ["n": 1], parsedDocument: ["text": "t"],
            integration: integration, schema: schema)
        #expect(task.id == "exec-1:notify:2")
        let read = try StepTask(json: try JSONValue.parse(task.json().encoded()))
        #expect(read.integration == integration)
        #expect(read.schema?.fields == schema.fields)
        var withoutSchema = read
        withoutSchema.schema = schema
        #expect(withoutSchema == task)
    }

    @Test func aBadTaskSaysWhichFieldIsWrong() {
        #expect(throws: StepTaskError("type is not a step type")) {
            try StepTask(json: ["type": "paint", "attempt": 1])
        }
        #expect(throws: StepTaskError("attempt is not a positive integer")) {
            try StepTask(json: ["type": "parse", "attempt": 0])
        }
    }

    @Test func resultsReadBackAsTheyWereWritten() throws {
        var error = StepError("HTTP 503", retryable: true, output: ["status": 503])
        error.retryAfter = .milliseconds(1500)
        for result in [
            StepTaskResult(taskID: "a:b:1", outcome: .success(["x": 1]), runMs: 12, worker: "h:9"),
            StepTaskResult(taskID: "a:b:2", outcome: .failure(error), runMs: 40, worker: "h:9"),
        ] {
            #expect(try StepTaskResult(json: try JSONValue.parse(result.json().encoded())) == result)
        }
    }

    struct Echo: StepExecutor {
        let output: JSONValue
        func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
            StepResult(output: output)
        }
    }

    static func task(type: StepType = .extract, deadlineIn seconds: Double = 60) -> StepTask {
        StepTask(
            executionID: "e", workflowID: "w", stepID: "s", attempt: 1, type: type, config: [:], timeoutMs: 30_000,
            deadlineMs: Int64((Date().timeIntervalSince1970 + seconds) * 1000), context: [:])
    }

    @Test func aWorkerRunsATaskUnderTheEnginesDeadlineAndLimits() async {
        let runner = TaskRunner(maxStepOutputBytes: 64, worker: "w:1") { task in
            task.type == .extract
                ? Echo(output: ["n": 1])
                : task.type == .parse ? Echo(output: .string(String(repeating: "x", count: 100))) : nil
        }
        let done = await runner.run(Self.task())
        #expect(done.outcome == .success(["n": 1]))
        #expect(done.taskID == "e:s:1" && done.worker == "w:1")

        let late = await runner.run(Self.task(deadlineIn: -1))
        #expect(late.outcome.failureMessage?.contains("deadline had passed") == true)

        let large = await runner.run(Self.task(type: .parse))
        #expect(large.outcome.failureMessage?.contains("--max-step-output-bytes") == true)

        let unknown = await runner.run(Self.task(type: .integration))
        #expect(unknown.outcome.failureMessage == "this worker does not run integration steps")
    }
}

extension Result<JSONValue, StepError> {
    var failureMessage: String? {
        if case .failure(let error) = self { return error.message }
        return nil
    }
}
