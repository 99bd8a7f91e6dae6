import AMQPClient
import DocflowClient
import DocflowCore
import DocflowTestSupport
import Foundation
import Logging
import Testing

/// A broker that stops answering without closing anything, against the clock: run alone (the
/// suite name has `Timing` in it). The broker is frozen through a proxy of the test's own, never
/// the shared one.
@Suite("Broker Freeze Timing")
struct BrokerFreezeTimingTests {
    @Test func readinessTurns503WithinTwoHeartbeatsOfAFrozenBrokerAndRecoversAfterIt() async throws {
        let broker = try AMQPConfiguration(url: TestServer.amqpURL)
        let proxy = try FreezableProxy(host: broker.host, port: broker.port)
        defer { proxy.stop() }
        let vhost = broker.virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2F"
        let proxied = "amqp://\(broker.username):\(broker.password)@127.0.0.1:\(proxy.port)/\(vhost)"
        let heartbeat = 1
        let port = try freePort()
        // The interval by variable, so that the same test runs against a build without the flag.
        let child = try ServeChild(
            arguments: ["--http-port", "\(port)", "--amqp-url", proxied],
            environment: ["DOCFLOW_AMQP_HEARTBEAT_SECONDS": "\(heartbeat)"])
        defer { Task { await child.remove() } }
        try await waitForReadiness(200, port: port, child: child, within: .seconds(30))
        let created = try await http(
            "POST", port, "/api/workflows",
            json: [
                "name": "after the freeze", "trigger_type": "manual", "definition": ["steps": [transform("t", ".")]],
            ])
        let workflowID = try #require(created.body?["id"]?.stringValue, "\(created.text)")
        // The test's own connection goes to the broker directly, past the proxy.
        var logger = Logger(label: "test.freeze")
        logger.logLevel = .critical
        let direct = AMQPConnection(
            try AMQPConfiguration(url: TestServer.amqpURL, connectionName: "\(child.prefix) test"), logger: logger)
        defer { Task { await direct.close() } }
        try await direct.waitUntilConnected(timeout: .seconds(15))
        let channel = try await direct.openChannel()
        let queue = "\(child.prefix).monitor"
        try await channel.declare(AMQPQueue(queue, durable: false, exclusive: true, autoDelete: true))
        try await channel.bind(
            AMQPBinding(queue: queue, exchange: "\(child.prefix).status", routingKey: "workflow.completed.#"))
        let completions = try await channel.consume(queue: queue, noAck: true)

        proxy.freeze()
        let frozen = ContinuousClock.now
        // Started over HTTP while the broker is frozen: it runs, its status events wait.
        let during = try await http(
            "POST", port, "/api/workflows/\(workflowID)/execute", json: ["trigger_data": ["during": true]])
        let duringID = try #require(during.body?["execution_id"]?.stringValue, "\(during.text)")
        // The documented bound is 2 heartbeats + 1 s; the rest is margin for a loaded machine.
        let bound = Duration.seconds(2 * heartbeat + 1)
        let reply = try await waitForReadiness(503, port: port, child: child, within: bound + .seconds(12))
        let took = ContinuousClock.now - frozen
        #expect(took < bound + .seconds(4), "readiness took \(took) to notice the freeze")
        #expect(reply.body?["broker"] == false, "\(reply.text)")
        #expect(reply.body?["database"] == true, "\(reply.text)")
        let problem = reply.body?["broker_error"]?.stringValue ?? ""
        #expect(problem.contains("missed heartbeats"), "\(reply.text)")
        // Still frozen a while later: no connection comes up through a broker that does not answer.
        try await Task.sleep(for: .seconds(2))
        #expect(try await http("GET", port, "/readyz").status == 503)

        proxy.thaw()
        try await waitForReadiness(200, port: port, child: child, within: .seconds(40))
        #expect(child.log.contains("lost the broker connection"), "log:\n\(child.log)")

        // Both connections work again: a request over AMQP reaches the consumer, and its reply and
        // the status events of both executions leave through the publishing connection.
        let client = try await APIClient(connection: direct, queue: "\(child.prefix).api")
        let started = try await client.call(
            "POST", "/api/workflows/\(workflowID)/execute", body: ["trigger_data": ["after": true]],
            timeout: .seconds(30))
        let afterID = try #require(started.body?["execution_id"]?.stringValue, "\(started.envelope.encodedString())")
        var waiting: Set = [duringID, afterID]
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        // One wait up to the deadline per event: a wait given up on ends the consumer.
        while !waiting.isEmpty {
            guard let event = try await completions.first(within: deadline - ContinuousClock.now) else { break }
            let body = String(decoding: event.body, as: UTF8.self)
            waiting = waiting.filter { !body.contains($0) }
        }
        #expect(waiting.isEmpty, "no workflow.completed event for \(waiting); log:\n\(child.log)")
    }

    /// Polls `/readyz` until it answers `status`; its last answer.
    @discardableResult
    private func waitForReadiness(_ status: Int, port: Int, child: ServeChild, within timeout: Duration)
        async throws -> HTTPReply
    {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let reply = try? await http("GET", port, "/readyz")
            if let reply, reply.status == status { return reply }
            guard child.process.isRunning, ContinuousClock.now < deadline else {
                throw TestFailure(
                    "/readyz did not answer \(status) within \(timeout) (last: \(reply?.status ?? 0) \(reply?.text ?? "")); log:\n\(child.log)"
                )
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
