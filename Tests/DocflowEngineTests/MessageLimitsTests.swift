import DocflowCore
import Foundation
import Logging
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// Issue 13, bounded messages: no status event is larger than the limit, an output over the step
/// limit fails its step, and an error message cannot carry megabytes. On a real SQLite file, no
/// broker.
@Suite struct MessageLimitsTests {
    /// Outputs a string of `config.bytes` bytes, or fails with an error of that length.
    struct SizedStep: StepExecutor {
        func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
            let size = step.config["bytes"]?.intValue ?? 0
            let text = String(repeating: "x", count: size)
            if step.config["fail"] == true { throw StepError("boom: \(text)", retryable: false) }
            return StepResult(output: ["text": .string(text)])
        }
    }

    static let maxEventBytes = 65_536
    static let maxOutputBytes = 200_000

    /// Runs a workflow of `steps` to its end; returns the execution and the status events written.
    private static func run(_ steps: [StepDefinition], triggerData: JSONValue = [:]) async throws
        -> (Execution, [OutboxMessage])
    {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-limits-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
        let store = try Store(path: path)
        let logger = Logger(label: "test")
        let journal = Journal(store: store, logger: logger, maxEventBytes: maxEventBytes, didCommit: { _ in })
        var executors = StepExecutors()
        for type in StepType.allCases { executors.register(type, SizedStep()) }
        let engine = Engine(
            store: store, journal: journal, executors: executors, maxStepOutputBytes: maxOutputBytes, logger: logger)
        let workflow = Workflow(
            id: UUID().uuidString.lowercased(), name: "Limits", description: nil,
            definition: WorkflowDefinition(steps: steps), triggerType: .manual, triggerConfig: [:], enabled: true,
            createdAt: Date(), updatedAt: Date())
        try await store.write { db in try WorkflowRepository.insert(db, workflow) }
        let writer = Task { await journal.run() }
        defer {
            journal.stop()
        }
        let outcome = try await engine.start(.manual(workflow, triggerData: triggerData))
        let id = try #require(outcome.execution).id
        var ended: Execution?
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if let execution = try await store.read({ db in try ExecutionRepository.fetch(db, id: id) }),
                execution.status != .running, !engine.isRunning(id)
            {
                ended = execution
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        await engine.stop(wait: .seconds(5))
        journal.stop()
        await writer.value
        let events = try await store.read { db in try Outbox.pending(db, limit: 10_000) }.flatMap(\.messages)
        return (try #require(ended), events)
    }

    private static func step(_ id: String, bytes: Int, fail: Bool = false) -> StepDefinition {
        StepDefinition(
            id: id, type: .transform,
            config: ["expression": ".", "bytes": .number(Double(bytes)), "fail": .bool(fail)],
            onError: fail ? .continue : .fail)
    }

    @Test func anOutputOverTheEventLimitIsKeptWhileItsEventsCarryAMarker() async throws {
        let (execution, events) = try await Self.run([Self.step("big", bytes: 100_000), Self.step("small", bytes: 10)])
        #expect(execution.status == .completed)
        // The execution keeps the whole output: the API reads it by execution id.
        #expect(execution.run(of: "big")?.output?["text"]?.stringValue?.utf8.count == 100_000)
        #expect(!events.isEmpty)
        for event in events { #expect(event.body.count <= Self.maxEventBytes, "\(event.event)") }
        let completed = try #require(events.first { $0.event == "workflow.step.completed" })
        let data = try #require(try JSONValue.parse(completed.body)["data"])
        let marker = try #require(data["output"]?["$omitted"])
        #expect(marker["bytes"]?.intValue == execution.run(of: "big")?.output?.encodedSize())
        #expect(marker["limit"]?.intValue == Self.maxEventBytes)
        #expect(data["step_id"] == "big")
        // The small step's output is not touched, in its own event and in the execution's end.
        let small = try #require(events.last { $0.event == "workflow.step.completed" })
        #expect(try JSONValue.parse(small.body)["data"]?["output"] == ["text": "xxxxxxxxxx"])
        let end = try #require(events.last { $0.event == "workflow.completed" })
        let log = try #require(try JSONValue.parse(end.body)["data"]?["execution_log"]?.arrayValue)
        #expect(log.count == 2)
        #expect(log[0]["output"]?["$omitted"] != nil)
        #expect(log[1]["output"] == ["text": "xxxxxxxxxx"])
    }

    @Test func aLargeTriggerIsOmittedFromTheExecutionEvents() async throws {
        let trigger: JSONValue = ["document": .string(String(repeating: "y", count: 90_000))]
        let (execution, events) = try await Self.run([Self.step("small", bytes: 10)], triggerData: trigger)
        #expect(execution.status == .completed)
        let started = try #require(events.first { $0.event == "workflow.started" })
        #expect(started.body.count <= Self.maxEventBytes)
        let data = try #require(try JSONValue.parse(started.body)["data"])
        #expect(data["trigger_data"]?["$omitted"]?["bytes"]?.intValue == trigger.encodedSize())
        #expect(data["id"]?.stringValue == execution.id)
    }

    @Test func manyOutputsThatEachFitAreOmittedLargestFirstUntilTheEventFits() async throws {
        let steps = (0..<5).map { Self.step("s\($0)", bytes: 20_000 + $0 * 1000) }
        let (execution, events) = try await Self.run(steps)
        #expect(execution.status == .completed)
        let end = try #require(events.last { $0.event == "workflow.completed" })
        #expect(end.body.count <= Self.maxEventBytes)
        let log = try #require(try JSONValue.parse(end.body)["data"]?["execution_log"]?.arrayValue)
        let omitted = log.map { $0["output"]?["$omitted"] != nil }
        // 105 KB of outputs under a 64 KiB limit: the two largest go, the three smallest stay.
        #expect(omitted == [false, false, false, true, true])
    }

    @Test func anOutputOverTheStepLimitFailsTheStepWithAClearError() async throws {
        let (execution, events) = try await Self.run([Self.step("huge", bytes: 300_000)])
        #expect(execution.status == .failed)
        let run = try #require(execution.run(of: "huge"))
        #expect(run.status == .failed)
        #expect(run.output == nil)
        #expect(run.error?.contains("larger than \(Self.maxOutputBytes) bytes") == true)
        #expect(run.error?.contains("--max-step-output-bytes") == true)
        for event in events { #expect(event.body.count <= Self.maxEventBytes) }
    }

    @Test func aHugeErrorMessageIsCut() async throws {
        let (execution, events) = try await Self.run([
            Self.step("loud", bytes: 1_000_000, fail: true), Self.step("after", bytes: 1),
        ])
        let run = try #require(execution.run(of: "loud"))
        let error = try #require(run.error)
        #expect(error.utf8.count <= MessageLimits.maxErrorBytes)
        #expect(error.hasPrefix("boom: xxx"))
        #expect(error.hasSuffix("more bytes cut)"))
        #expect(execution.run(of: "after")?.status == .completed)
        for event in events { #expect(event.body.count <= Self.maxEventBytes) }
    }

    @Test func errorTextCutsAtACharacterBoundary() {
        let text = String(repeating: "é😀", count: 5000)
        let cut = MessageLimits.errorText(text)
        #expect(cut.utf8.count <= MessageLimits.maxErrorBytes)
        #expect(cut.hasPrefix("é😀é😀"))
        #expect(MessageLimits.errorText("short") == "short")
    }

    @Test func aDefinitionEventOverTheLimitOmitsTheDefinition() throws {
        let steps = (0..<40).map {
            StepDefinition(
                id: "s\($0)", type: .transform,
                config: ["expression": .string(String(repeating: "1+", count: 1000) + "1")])
        }
        let workflow = Workflow(
            id: "w1", name: "Large", description: nil, definition: WorkflowDefinition(steps: steps),
            triggerType: .manual, triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        let event = StatusEvents.definition(.created, workflow, maxBytes: 16_384)
        #expect(event.body.count <= 16_384)
        let data = try #require(try JSONValue.parse(event.body)["data"])
        #expect(data["definition"]?["$omitted"] != nil)
        #expect(data["id"] == "w1")
        #expect(data["name"] == "Large")
    }
}
