import AMQPClient
import DocflowCore
import DocflowStore
import DocflowTestSupport
import Foundation
import GRDB
import Testing

/// An integration's secrets (a Slack webhook URL, a webhook's headers and signing secret) never
/// show in what a failure leaves behind: the execution as both transports serve it, the status
/// events, the stored rows, and docflow's log.
@Suite("Secrets stay out of errors, events, stored executions and logs")
struct SecretRedactionTests {
    static let token = "SECRETTOKEN"
    /// In a webhook's `url`: replies show the URL (the destination; credentials belong in
    /// headers), errors and logs do not.
    static let urlToken = "URLTOKEN"

    /// How the destination fails.
    enum Failure: String, CaseIterable, Sendable {
        case answers500, closesTheConnection, unreachablePort
    }

    /// A destination that fails the given way; `url(path)` addresses it, `stop()` ends it.
    final class Destination: Sendable {
        let url: @Sendable (String) -> String
        let stop: @Sendable () -> Void

        init(_ failure: Failure) async throws {
            switch failure {
            case .answers500:
                let server = RecordingHTTPServer()
                try await server.start()
                server.script(Array(repeating: .init(status: 500, body: "internal error"), count: 10))
                url = { server.url($0) }
                stop = { server.stop() }
            case .closesTheConnection:
                let server = try ClosingTCPServer()
                url = { "http://127.0.0.1:\(server.port)\($0)" }
                stop = { server.stop() }
            case .unreachablePort:
                let port = try freePort()
                url = { "http://127.0.0.1:\(port)\($0)" }
                stop = {}
            }
        }
    }

    @Test(arguments: Failure.allCases)
    func aFailingSlackWebhookURLShowsNowhere(_ failure: Failure) async throws {
        let destination = try await Destination(failure)
        try await Self.run(
            [
                "name": "Slack", "integration_type": "slack",
                "config": ["webhook_url": .string(destination.url("/services/T000/B000/\(Self.token)"))],
            ], failure: failure)
        destination.stop()
    }

    @Test(arguments: Failure.allCases)
    func aFailingWebhooksHeadersSecretAndURLShowNowhere(_ failure: Failure) async throws {
        let destination = try await Destination(failure)
        try await Self.run(
            [
                "name": "ERP", "integration_type": "webhook",
                "config": [
                    "url": .string(destination.url("/in/\(Self.urlToken)?key=\(Self.urlToken)")),
                    "headers": ["Authorization": .string("Bearer \(Self.token)")],
                    "secret": .string("whsec-\(Self.token)"),
                ],
            ], failure: failure)
        destination.stop()
    }

    /// Runs a workflow whose integration step fails against `integration`, then looks for the
    /// token everywhere a failure leaves a trace.
    static func run(_ integration: JSONValue, failure: Failure) async throws {
        let log = LogCapture()
        let port = try freePort()
        let server = try await TestServer.start(log: log) { $0.httpPort = port }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while (try? await http("GET", port, "/healthz"))?.status != 200 {
            if ContinuousClock.now > deadline { throw TestFailure("HTTP port \(port) did not come up") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let monitor = try await server.monitor(binding: "#")
        let id = try await IntegrationTests.integration(server, integration)
        let workflow = try await IntegrationTests.notifyWorkflow(
            server, integration: id, options: ["retry": ["max_attempts": 2, "initial_interval_ms": 50]])
        let executionID = try await server.execute(workflow)
        let execution = try await server.finished(workflow, executionID, timeout: .seconds(60))

        let hidden = [token, urlToken]
        func shows(_ text: String) -> Bool { hidden.contains { text.contains($0) } }
        // The failure happened, and says what it could without the secret.
        #expect(execution["status"] == "failed")
        let error = execution.step("notify")?["error"]?.stringValue ?? ""
        switch failure {
        case .answers500: #expect(error.contains("answered 500"), "\(error)")
        case .closesTheConnection, .unreachablePort: #expect(error.contains("http://127.0.0.1:"), "\(error)")
        }
        #expect(!shows(error), "\(error)")

        let overAMQP = try await server.call(
            "GET", "/api/workflows/\(workflow)/executions", query: ["execution_id": executionID])
        #expect(overAMQP.status == 200)
        #expect(!shows(overAMQP.envelope.encodedString()))
        let overHTTP = try await http("GET", port, "/api/workflows/\(workflow)/executions?execution_id=\(executionID)")
        #expect(overHTTP.status == 200)
        #expect(!shows(overHTTP.text), "\(overHTTP.text)")
        let integrations = try await http("GET", port, "/api/workflows/integrations")
        #expect(integrations.status == 200)
        #expect(!integrations.text.contains(token), "\(integrations.text)")

        let events = try await collect(monitor, until: "workflow.failed.\(workflow)", within: .seconds(20))
        #expect(events.contains { $0.routingKey == "workflow.step.failed.\(workflow)" })
        for event in events {
            #expect(!shows(String(decoding: event.body, as: UTF8.self)), "\(event.routingKey)")
        }

        let stored = try Store(path: server.configuration.databasePath)
        let rows = try await stored.read { db in
            try ["executions", "execution_steps", "outbox_batches", "outbox_parked"].flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { row in
                    row.databaseValues.map { value -> String in
                        if let data = Data.fromDatabaseValue(value) { return String(decoding: data, as: UTF8.self) }
                        return value.description
                    }.joined(separator: " ")
                }
            }
        }
        #expect(rows.contains { $0.contains(executionID) })
        #expect(!rows.contains(where: shows))

        try await server.stop()
        let text = log.text
        #expect(text.contains("step failed"))
        #expect(!shows(text), "\(text.split(separator: "\n").filter { shows(String($0)) })")
    }

    /// Status events until one with `routingKey` arrives (included), or `within` ends.
    static func collect(_ consumer: AMQPConsumer, until routingKey: String, within timeout: Duration) async throws
        -> [AMQPDelivery]
    {
        let events = try await consumer.collect(within: timeout) { $0.last?.routingKey == routingKey }
        guard let events else { throw TestFailure("no \(routingKey) within \(timeout)") }
        return events
    }
}

/// Accepts connections on loopback and closes each at once, before any answer.
final class ClosingTCPServer: @unchecked Sendable {
    private let listener: Int32
    let port: Int

    init() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listener = listener
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> Bool in
                bind(listener, generic, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, generic, &length) == 0
            }
        }
        guard ok else { throw TestFailure("cannot start the closing server") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                close(client)
            }
        }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
