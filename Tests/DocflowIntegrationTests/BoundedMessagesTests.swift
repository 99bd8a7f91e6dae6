import AMQPClient
import DocflowCore
import DocflowService
import Foundation
import Testing

/// Issue 13, bounded messages, against a real broker: a large output reaches monitors as a
/// marker and stays readable by execution id, an output over the step limit fails only its step,
/// an AMQP reply over the limit says so, and a status event the broker refuses is parked instead
/// of holding up every later one.
@Suite("Bounded messages")
struct BoundedMessagesTests {
    static let maxMessageBytes = 65_536

    static func start(_ configure: @escaping (inout ServiceConfiguration) -> Void = { _ in }) async throws
        -> (TestServer, Int)
    {
        try await TestServer.startWithHTTP {
            $0.messageLimits.maxMessageBytes = maxMessageBytes
            configure(&$0)
        }
    }

    /// The next status event of `execution` named `event`.
    static func next(_ event: String, of execution: String, in monitor: AMQPConsumer) async throws -> AMQPDelivery {
        for try await delivery in monitor {
            let body = try JSONValue.parse(delivery.body)
            if body["event"]?.stringValue == event,
                body["data"]?["execution_id"]?.stringValue == execution
                    || body["data"]?["id"]?.stringValue == execution
            {
                return delivery
            }
        }
        throw TestFailure("the monitor ended before \(event)")
    }

    @Test func aLargeOutputReachesMonitorsAsAMarkerAndStaysReadableOverHTTP() async throws {
        let (server, port) = try await Self.start()
        let workflow = try await server.createWorkflow([
            transform("big", #"{s: ("x" * 200000)}"#), transform("after", "{done: true}"),
        ])
        let monitor = try await server.monitor(binding: "#.\(workflow)")
        let execution = try await server.execute(workflow)

        let completed = try await Self.next("workflow.step.completed", of: execution, in: monitor)
        #expect(completed.body.count <= Self.maxMessageBytes)
        let data = try #require(try JSONValue.parse(completed.body)["data"])
        #expect(data["step_id"] == "big")
        #expect(data["output"]?["$omitted"]?["bytes"] == 200_008)
        #expect(data["output"]?["$omitted"]?["limit"] == .number(Double(Self.maxMessageBytes)))
        // The events after it are not held up.
        let end = try await Self.next("workflow.completed", of: execution, in: monitor)
        #expect(end.body.count <= Self.maxMessageBytes)

        // Over HTTP the whole output comes back; over AMQP the reply says it is too large and how
        // to get it.
        let overHTTP = try await http("GET", port, "/api/workflows/\(workflow)/executions?execution_id=\(execution)")
        #expect(overHTTP.status == 200)
        let log = overHTTP.body?["executions"]?.arrayValue?.first
        #expect(log?.step("big")?["output"]?["s"]?.stringValue?.count == 200_000)
        let overAMQP = try await server.call(
            "GET", "/api/workflows/\(workflow)/executions", query: ["execution_id": execution])
        #expect(overAMQP.status == 413)
        #expect(overAMQP.error?["code"] == "reply_too_large")
        let message = overAMQP.error?["message"]?.stringValue ?? ""
        #expect(message.contains("--max-message-bytes") && message.contains("over HTTP"))
        try await server.stop()
    }

    @Test func anOutputOverTheStepLimitFailsOnlyItsStep() async throws {
        let (server, _) = try await Self.start { $0.messageLimits.maxStepOutputBytes = 1_000_000 }
        let huge = try await server.createWorkflow([transform("huge", #"{s: ("x" * 2000000)}"#)])
        let small = try await server.createWorkflow([transform("small", "{ok: true}")])
        let failed = try await server.finished(huge, try await server.execute(huge))
        #expect(failed["status"] == "failed")
        let error = failed.step("huge")?["error"]?.stringValue ?? ""
        #expect(error.contains("larger than 1000000 bytes") && error.contains("--max-step-output-bytes"))
        let fine = try await server.finished(small, try await server.execute(small))
        #expect(fine["status"] == "completed")
        try await server.stop()
    }

    @Test func aRequestOverTheLimitIsAnswered413() async throws {
        let (server, _) = try await Self.start()
        let reply = try await server.call(
            "POST", "/api/workflows",
            body: ["name": "big", "description": .string(String(repeating: "d", count: Self.maxMessageBytes))])
        #expect(reply.status == 413)
        #expect(reply.error?["code"] == "payload_too_large")
        try await server.stop()
    }

    @Test func aStatusEventTheBrokerRefusesIsParkedAndLaterOnesFlow() async throws {
        let (server, port) = try await Self.start()
        let refused = try await server.createWorkflow([transform("one", "{a: 1}")], name: "refused")
        let fine = try await server.createWorkflow([transform("one", "{b: 2}")], name: "fine")
        // A full queue that refuses more: the broker nacks every event of `refused`.
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        let refuser = "\(server.configuration.prefix).refuser"
        try await channel.declare(
            AMQPQueue(
                refuser, durable: false, autoDelete: true,
                arguments: ["x-max-length": .int(1), "x-overflow": .string("reject-publish")]))
        try await channel.publish(AMQPMessage(exchange: "", routingKey: refuser, body: Data("full".utf8)))
        try await channel.bind(
            AMQPBinding(queue: refuser, exchange: server.names.statusExchange, routingKey: "#.\(refused)"))
        let monitor = try await server.monitor(binding: "workflow.completed.\(fine)")

        let refusedRun = try await server.finished(refused, try await server.execute(refused))
        #expect(refusedRun["status"] == "completed")
        let fineRun = try await server.execute(fine)
        let delivery = try #require(try await monitor.first(within: .seconds(60)))
        #expect(try JSONValue.parse(delivery.body)["data"]?["id"]?.stringValue == fineRun)

        // Each of the refused execution's four events was parked, and readiness and metrics say so.
        var ready = try await http("GET", port, "/readyz")
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ready.body?["parked_status_events"] != 4, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await http("GET", port, "/readyz")
        }
        #expect(ready.status == 200)
        #expect(ready.body?["parked_status_events"] == 4)
        let metrics = try await http("GET", port, "/metrics")
        #expect(metrics.text.contains("docflow_status_events_parked_total"))
        try await channel.deleteQueue(refuser)
        try await server.stop()
    }
}
