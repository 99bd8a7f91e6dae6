import AMQPClient
import DocflowCore
import DocflowService
import DocflowTestSupport
import Foundation
import Logging
import Testing

/// A `docflow worker` run in this process against the test broker.
final class InProcessWorker: Sendable {
    let worker: StepWorker
    let task: Task<Void, any Error>

    static func start(
        _ configuration: ServiceConfiguration, types: [StepType] = [.parse, .extract, .integration]
    ) async throws -> InProcessWorker {
        var logger = Logger(label: "test.worker")
        logger.logLevel = .warning
        let worker = try StepWorker(configuration: configuration, types: types, concurrency: 4, logger: logger)
        let started = InProcessWorker(worker: worker, task: Task { try await worker.run() })
        try await worker.consuming()
        return started
    }

    private init(worker: StepWorker, task: Task<Void, any Error>) {
        self.worker = worker
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// Timing (the type's name): runs alone, after the parallel tests. Its steps wait on queues and
/// 30 s step deadlines, which a full parallel phase on two cores overran (a parse task not
/// returned in time; a killed worker's task retried by its deadline before its redelivery ran).
@Suite("Step workers: dispatch, results, redelivery")
struct StepWorkerTimingTests {
    /// A webhook integration to `receiver`; its id.
    static func webhook(_ server: TestServer, _ receiver: RecordingHTTPServer) async throws -> String {
        let created = try await server.call(
            "POST", "/api/workflows/integrations",
            body: [
                "name": "receiver", "integration_type": "webhook", "config": ["url": .string(receiver.url("/hook"))],
            ])
        return try #require(created.body?["id"]?.stringValue, "\(created.envelope.encodedString())")
    }

    @Test func dispatchedStepsWaitForAWorkerAndRunThere() async throws {
        let server = try await TestServer.start { $0.dispatchTypes = [.parse, .extract, .integration] }
        let receiver = RecordingHTTPServer()
        try await receiver.start()
        let integration = try await Self.webhook(server, receiver)
        let workflow = try await server.createWorkflow([
            ["id": "parse", "type": "parse", "config": [:]],
            ["id": "extract", "type": "extract", "config": ["schema_id": "invoice-schema"]],
            ["id": "notify", "type": "integration", "config": ["integration_id": .string(integration)]],
        ])
        let document = try DocumentTests.placeSampleInvoice(server)
        let execution = try await server.execute(workflow, ["document_url": .string(document), "file_type": "pdf"])

        // No worker yet: the parse step waits in its queue; the engine does not run it.
        try await Task.sleep(for: .milliseconds(800))
        let waiting = try await server.execution(workflow, execution)
        #expect(waiting["status"] == "running")
        #expect(waiting.step("parse")?["status"] == "running")
        #expect(receiver.requests.isEmpty)

        let worker = try await InProcessWorker.start(server.configuration)
        let finished = try await server.finished(workflow, execution)
        #expect(finished["status"] == "completed", "\(finished.encodedString())")
        #expect(finished.step("extract")?["output"]?["invoice_number"] == "INV-2024-0042")
        // The wait for a worker is reported apart from the run.
        let queued = finished.step("parse")?["queued_ms"]?.intValue ?? 0
        #expect(queued >= 700, "\(finished.step("parse")?.encodedString() ?? "")")
        #expect(finished.step("parse")?["duration_ms"]?.intValue ?? .max < queued)
        #expect(finished.step("notify")?["queued_ms"] != nil)
        #expect(receiver.requests.count == 1)
        #expect(receiver.requests.first?.headers["idempotency-key"] == "\(execution):notify")
        await worker.stop()
        receiver.stop()
        try await server.stop()
    }

    @Test func aTaskNoWorkerTakesTimesOutUnderTheStepsRetryPolicy() async throws {
        let server = try await TestServer.start { $0.dispatchTypes = [.parse] }
        let workflow = try await server.createWorkflow([
            [
                "id": "parse", "type": "parse", "config": [:], "timeout_ms": 300,
                "retry": [
                    "max_attempts": 2, "initial_interval_ms": 10, "backoff": "exponential", "max_interval_ms": 10,
                ],
            ]
        ])
        let id = try await server.execute(workflow, ["content": "hello"])
        let execution = try await server.finished(workflow, id)
        #expect(execution["status"] == "failed")
        #expect(execution.step("parse")?["attempts"] == 2)
        let error = execution.step("parse")?["error"]?.stringValue ?? ""
        #expect(error.contains("timed out after 300 ms: no worker returned task"), "\(error)")

        // A worker that comes later finds nothing to do (the tasks expired), and changes nothing.
        let worker = try await InProcessWorker.start(server.configuration, types: [.parse])
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await server.execution(workflow, id)["status"] == "failed")
        await worker.stop()
        try await server.stop()
    }

    @Test func aTaskGivenBackOverAndOverIsDeadLetteredAndFailsItsStep() async throws {
        // The delivery limit is the quorum queue's.
        let server = try await TestServer.start {
            $0.queueType = .quorum
            $0.dispatchTypes = [.parse]
        }
        // A worker that never finishes: every delivery goes back to the queue.
        var logger = Logger(label: "test.poison")
        logger.logLevel = .critical
        let connection = AMQPConnection(try AMQPConfiguration(url: TestServer.amqpURL), logger: logger)
        let channel = try await connection.openChannel()
        let consumer = try await channel.consume(queue: server.names.taskQueue("parse")) { delivery in
            delivery.nack(requeue: true)
        }
        let workflow = try await server.createWorkflow([
            ["id": "parse", "type": "parse", "config": [:], "timeout_ms": 20_000]
        ])
        let execution = try await server.finished(
            workflow, try await server.execute(workflow, ["content": "hello"]), timeout: .seconds(25))
        #expect(execution["status"] == "failed")
        let error = execution.step("parse")?["error"]?.stringValue ?? ""
        #expect(error.contains("given back by a worker 5 times"), "\(error)")
        #expect(execution.step("parse")?["attempts"] == 1, "a poison task is not tried again")
        try? await consumer.cancel()
        await connection.close()
        try await server.stop()
    }

    @Test func aWorkerKilledMidTaskLosesNothing() async throws {
        let server = try await TestServer.start { $0.dispatchTypes = [.integration] }
        let receiver = RecordingHTTPServer()
        try await receiver.start()
        // The first request hangs (the worker is killed meanwhile); the next is answered.
        receiver.script([.init(status: 200, delay: .seconds(60)), .init(status: 200)])
        let integration = try await Self.webhook(server, receiver)
        let workflow = try await server.createWorkflow([
            [
                "id": "notify", "type": "integration", "config": ["integration_id": .string(integration)],
                "timeout_ms": 30_000,
            ]
        ])
        let child = try ServeChild(
            arguments: ["--types", "integration"], environment: ["DOCFLOW_PREFIX": server.configuration.prefix],
            withTestKey: false, command: "worker")
        let execution = try await server.execute(workflow, [:])
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while receiver.requests.isEmpty {
            if ContinuousClock.now > deadline { throw TestFailure("the worker never sent: \(child.log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(child.process.processIdentifier, SIGKILL)
        let killed = ContinuousClock.now
        let worker = try await InProcessWorker.start(server.configuration, types: [.integration])
        let finished = try await server.finished(workflow, execution)
        print("a killed worker's task finished on another \(ContinuousClock.now - killed) after the kill")
        #expect(finished["status"] == "completed", "\(finished.encodedString())")
        #expect(finished.step("notify")?["attempts"] == 1, "redelivered, not retried")
        let keys = receiver.requests.map { $0.headers["idempotency-key"] }
        #expect(keys == ["\(execution):notify", "\(execution):notify"])
        await worker.stop()
        await child.remove()
        receiver.stop()
        try await server.stop()
    }
}
