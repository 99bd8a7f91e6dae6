import DocflowCore
import DocflowTestSupport
import Foundation
import Testing

/// Stops the whole broker: runs alone, after the other tests.
@Suite("Disruptive: readiness follows the broker", .serialized)
struct DisruptiveReadinessTests {
    @Test func readyzIs503WhileTheBrokerIsStopped() async throws {
        let (server, port) = try await HTTPPortTests.start()
        #expect(try await http("GET", port, "/readyz").status == 200)
        _ = try await shell("rabbitmqctl", "stop_app")
        var status = 0
        for _ in 0..<200 {
            status = try await http("GET", port, "/readyz").status
            if status == 503 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let body = try await http("GET", port, "/readyz").body
        _ = try await shell("rabbitmqctl", "start_app")
        _ = try await shell("rabbitmqctl", "await_startup")
        #expect(status == 503)
        #expect(body?["broker"] == false)
        #expect(body?["database"] == true)

        for _ in 0..<600 {
            status = try await http("GET", port, "/readyz").status
            if status == 200 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(status == 200)
        // The API consumer came back with the broker.
        let list = try await server.call("GET", "/api/workflows")
        #expect(list.status == 200)
        try await server.stop()
    }
}
