import DocflowCore
import Foundation
import Testing

/// Shutdown against the clock: run alone (the suite name has `Timing` in it).
@Suite("Lifecycle Timing")
struct LifecycleTimingTests {
    @Test func sigtermUnderLoadEndsDocflowServeWithinTheDrainTime() async throws {
        let port = try freePort()
        let drain = 6
        let child = try ServeChild(arguments: ["--http-port", "\(port)", "--drain-seconds", "\(drain)"])
        defer { Task { await child.remove() } }
        let up = ContinuousClock.now.advanced(by: .seconds(30))
        while (try? await http("GET", port, "/readyz"))?.status != 200 {
            guard child.process.isRunning, ContinuousClock.now < up else {
                throw TestFailure("docflow serve did not come up; log:\n\(child.log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // A step far longer than the drain time: the jq helpers stay busy, the rest queue up.
        let created = try await http(
            "POST", port, "/api/workflows",
            json: [
                "name": "slow", "trigger_type": "manual",
                "definition": ["steps": [transform("slow", busy(seconds: 120), ["timeout_ms": 600_000])]],
            ])
        let workflowID = try #require(created.body?["id"]?.stringValue, "\(created.text)")
        for _ in 0..<40 {
            let started = try await http(
                "POST", port, "/api/workflows/\(workflowID)/execute", json: ["trigger_data": [:]])
            #expect(started.status == 202)
        }
        try await Task.sleep(for: .milliseconds(500))

        let signalled = ContinuousClock.now
        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.exitStatus(within: .seconds(drain + 5))
        let took = ContinuousClock.now - signalled
        let exited = try #require(status, "docflow serve still runs \(drain + 5) s after SIGTERM; log:\n\(child.log)")
        #expect(exited == 0, "log:\n\(child.log)")
        #expect(took < .seconds(drain + 5))
    }
}
