import CoreMetrics
import DocflowCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// What the engine counts: starts only once committed, refused claims apart, a bounded
/// `workflow` label. On a real SQLite file, no broker.
@Suite struct EngineMetricsTests {
    /// Counts every increment, by family and labels (`family{a=1,b=2}`).
    final class RecordingMetrics: MetricsFactory {
        let counts = Mutex<[String: Int64]>([:])

        func value(_ family: String, _ labels: [(String, String)]) -> Int64 {
            counts.withLock { $0[Self.key(family, labels)] ?? 0 }
        }

        static func key(_ family: String, _ labels: [(String, String)]) -> String {
            family + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        }

        final class Handler: CounterHandler, TimerHandler, RecorderHandler, MeterHandler, FloatingPointCounterHandler {
            let key: String
            let metrics: RecordingMetrics
            init(key: String, metrics: RecordingMetrics) {
                self.key = key
                self.metrics = metrics
            }
            func increment(by amount: Int64) { metrics.counts.withLock { $0[key, default: 0] += amount } }
            func increment(by amount: Double) { increment(by: Int64(amount)) }
            func recordNanoseconds(_ duration: Int64) { increment(by: Int64(1)) }
            func record(_ value: Int64) {}
            func record(_ value: Double) {}
            func set(_ value: Int64) {}
            func set(_ value: Double) {}
            func decrement(by: Double) {}
            func reset() {}
        }

        func handler(_ label: String, _ dimensions: [(String, String)]) -> Handler {
            Handler(key: Self.key(label, dimensions), metrics: self)
        }
        func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
            handler(label, dimensions)
        }
        func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler
        {
            handler(label, dimensions)
        }
        func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
            handler(label, dimensions)
        }
        func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { handler(label, dimensions) }
        func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { handler(label, dimensions) }
        func destroyCounter(_ handler: any CounterHandler) {}
        func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
        func destroyRecorder(_ handler: any RecorderHandler) {}
        func destroyMeter(_ handler: any MeterHandler) {}
        func destroyTimer(_ handler: any TimerHandler) {}
    }

    private struct Passing: StepExecutor {
        func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
            StepResult(output: ["ok": true])
        }
    }

    /// An engine counting into `metrics`, over a fresh database with `count` workflows.
    private static func withEngine(
        _ metrics: RecordingMetrics, workflowLabels: Int = 100, workflows count: Int = 1,
        _ body: (Engine, [Workflow]) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-metrics-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
        let store = try Store(path: path)
        let logger = Logger(label: "test")
        let journal = Journal(store: store, logger: logger, didCommit: { _ in })
        var executors = StepExecutors()
        for type in StepType.allCases { executors.register(type, Passing()) }
        let engine = Engine(
            store: store, journal: journal, executors: executors,
            metrics: EngineMetrics(factory: metrics, workflowLabels: workflowLabels), logger: logger)
        var workflows: [Workflow] = []
        for index in 0..<count {
            let workflow = Workflow(
                id: "wf-\(index)-\(UUID().uuidString.prefix(8))", name: "Invoices \(index)", description: nil,
                definition: WorkflowDefinition(steps: [
                    StepDefinition(id: "shape", type: .transform, config: ["expression": "."])
                ]),
                triggerType: .event, triggerConfig: ["event": "document.uploaded"], enabled: true,
                createdAt: Date(), updatedAt: Date())
            try await store.write { db in try WorkflowRepository.insert(db, workflow) }
            workflows.append(workflow)
        }
        try await whileJournalRuns(journal, engine: engine) { try await body(engine, workflows) }
    }

    /// Waits until `family{labels}` reaches `value`, for counts made after a commit.
    private static func reaches(
        _ metrics: RecordingMetrics, _ family: String, _ labels: [(String, String)], _ value: Int64
    ) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while metrics.value(family, labels) < value, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        return metrics.value(family, labels) == value
    }

    @Test func aRefusedClaimIsCountedAsADuplicateNotAsAStart() async throws {
        let metrics = RecordingMetrics()
        try await Self.withEngine(metrics) { engine, workflows in
            let workflow = workflows[0]
            let labels = [("trigger", "event"), ("workflow", workflow.id)]
            _ = try await engine.start(.event(workflow, eventID: "e-1", triggerData: [:], redelivered: true))
            let again = try await engine.start(.event(workflow, eventID: "e-1", triggerData: [:], redelivered: true))
            #expect(again.execution == nil)
            #expect(try await Self.reaches(metrics, EngineMetrics.Family.completed, labels, 1))
            #expect(metrics.value(EngineMetrics.Family.started, labels) == 1)
            #expect(metrics.value(EngineMetrics.Family.duplicates, labels) == 1)
            #expect(
                metrics.value(
                    EngineMetrics.Family.steps,
                    [("type", "transform"), ("status", "completed"), ("workflow", workflow.id)])
                    == 1)
        }
    }

    @Test func aSpeculativeCopyThatIsRefusedIsNotCountedAsAStart() async throws {
        let metrics = RecordingMetrics()
        try await Self.withEngine(metrics) { engine, workflows in
            let workflow = workflows[0]
            let labels = [("trigger", "event"), ("workflow", workflow.id)]
            // Five first deliveries of one event: each runs while its start commits, one is written.
            for _ in 0..<5 {
                engine.start(.event(workflow, eventID: "e-2", triggerData: [:], redelivered: false)) { _ in }
            }
            let duplicates = try await Self.reaches(metrics, EngineMetrics.Family.duplicates, labels, 4)
            let completed = try await Self.reaches(metrics, EngineMetrics.Family.completed, labels, 1)
            #expect(duplicates && completed)
            #expect(metrics.value(EngineMetrics.Family.started, labels) == 1)
            // The copies' steps ran, and are not counted: only the started execution's one is.
            let steps = [("type", "transform"), ("status", "completed"), ("workflow", workflow.id)]
            #expect(metrics.value(EngineMetrics.Family.steps, steps) == 1)
        }
    }

    @Test func workflowsBeyondTheLabelLimitAreCountedUnderOther() async throws {
        let metrics = RecordingMetrics()
        try await Self.withEngine(metrics, workflowLabels: 1, workflows: 3) { engine, workflows in
            for workflow in workflows {
                _ = try await engine.start(.manual(workflow, triggerData: [:]))
            }
            #expect(
                metrics.value(EngineMetrics.Family.started, [("trigger", "manual"), ("workflow", workflows[0].id)]) == 1
            )
            #expect(metrics.value(EngineMetrics.Family.started, [("trigger", "manual"), ("workflow", "other")]) == 2)
            #expect(engine.metrics.labelledWorkflows == 1)
        }
    }
}
