import DocflowService
import Foundation
import Logging
import Testing

/// Timing (the type's name): start-up and stop are held to deadlines, so these run alone after the parallel tests.
@Suite("Lifecycle")
struct LifecycleDeadlineTimingTests {
    @Test func aServerWhoseHTTPPortIsTakenStopsWithAnErrorNamingThePort() async throws {
        let port = try freePort()
        let squatter = try PortSquatter(port: port)
        defer { withExtendedLifetime(squatter) {} }
        let id = UUID().uuidString.prefix(8).lowercased()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-test-\(id)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = ServiceConfiguration()
        configuration.amqpURL = TestServer.amqpURL
        configuration.prefix = "test-\(id)"
        configuration.eventsExchange = "test-\(id).platform.events"
        configuration.databasePath = directory.appendingPathComponent("docflow.sqlite").path
        configuration.httpPort = port
        var logger = Logger(label: "test.docflow")
        logger.logLevel = .critical
        let server = try DocflowServer(configuration: configuration, logger: logger, handleSignals: false)
        let started = ContinuousClock.now
        let error = await #expect(throws: ServerError.self) { try await server.run() }
        #expect(error.map { "\($0)" } == "HTTP port \(port) is already in use")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test(.timeLimit(.minutes(1))) func aServerStoppedBeforeItServesSaysSo() async throws {
        var configuration = ServiceConfiguration()
        // Nothing listens there: start-up waits for the broker until the shutdown.
        configuration.amqpURL = "amqp://guest:guest@127.0.0.1:1/%2F"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "docflow-test-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        configuration.databasePath = directory.appendingPathComponent("docflow.sqlite").path
        configuration.httpPort = 0
        var logger = Logger(label: "test.docflow")
        logger.logLevel = .critical
        let server = try DocflowServer(configuration: configuration, logger: logger, handleSignals: false)
        let run = Task { try await server.run() }
        try await Task.sleep(for: .milliseconds(300))
        await server.shutdown()
        try await run.value
        await #expect(throws: ServerError.self) { try await server.started() }
    }

    @Test func docflowServeExitsNonZeroWithinSecondsWhenItsHTTPPortIsTaken() async throws {
        let port = try freePort()
        let squatter = try PortSquatter(port: port)
        defer { withExtendedLifetime(squatter) {} }
        let child = try ServeChild(arguments: ["--http-port", "\(port)"])
        let status = await child.exitStatus(within: .seconds(5))
        let log = child.log
        await child.remove()
        let exited = try #require(status, "docflow serve still runs 5 s after start; log:\n\(log)")
        #expect(exited != 0)
        #expect(log.contains("HTTP port \(port) is already in use"), "log:\n\(log)")
    }

    @Test(.timeLimit(.minutes(1))) func cancellingAServerWithWorkInFlightEndsItPromptly() async throws {
        let server = try await TestServer.start()
        let workflowID = try await server.createWorkflow([
            transform("slow", busy(seconds: 60), ["timeout_ms": 600_000])
        ])
        for _ in 0..<10 { _ = try await server.execute(workflowID) }
        // Requests still in flight when the cancellation comes.
        let calls = (0..<20).map { _ in Task { try? await server.execute(workflowID) } }
        try await Task.sleep(for: .milliseconds(200))
        let took = await server.cancel()
        for call in calls { call.cancel() }
        #expect(took < .seconds(5), "run() took \(took) to return after cancellation")
    }
}
