import DocflowTestSupport
import Foundation
import Testing

/// `--amqp-heartbeat-seconds`: what docflow serve proposes to the broker, and what it refuses.
@Suite("Broker heartbeat")
struct BrokerHeartbeatTests {
    @Test func bothBrokerConnectionsNegotiateTheFlagsIntervalOrFiveSecondsByDefault() async throws {
        for (arguments, expected) in [([], 5), (["--amqp-heartbeat-seconds", "3"], 3)] {
            let port = try freePort()
            let child = try ServeChild(arguments: ["--http-port", "\(port)"] + arguments)
            defer { Task { await child.remove() } }
            try await waitUntilReady(port: port, child: child)
            // The broker's own view: the `timeout` column of its connections, in seconds.
            let listing = try await shell("rabbitmqctl", "-q", "list_connections", "client_properties", "timeout")
            for role in ["consume", "publish"] {
                let line = listing.split(separator: "\n").first { $0.contains("\"\(child.prefix) \(role)\"") }
                let timeout = line.flatMap { $0.split(separator: "\t").last }.map(String.init)
                #expect(timeout == "\(expected)", "\(child.prefix) \(role) in:\n\(listing)")
            }
        }
    }

    @Test func anIdleWorkerKeepsItsConnectionsThroughManyIntervalsOfAOneSecondHeartbeat() async throws {
        let port = try freePort()
        let child = try ServeChild(arguments: ["--http-port", "\(port)", "--amqp-heartbeat-seconds", "1"])
        defer { Task { await child.remove() } }
        try await waitUntilReady(port: port, child: child)
        // Nothing to do for 6 intervals: the broker drops a client silent for 2, and docflow a broker.
        let until = ContinuousClock.now.advanced(by: .seconds(6))
        while ContinuousClock.now < until {
            #expect(try await http("GET", port, "/readyz").status == 200)
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(!child.log.contains("lost the broker connection"), "log:\n\(child.log)")
        #expect(!child.log.contains("reconnected"), "log:\n\(child.log)")
    }

    @Test(arguments: ["0", "-1", "65536"])
    func docflowServeRefusesAHeartbeatOutside1To65535(value: String) async throws {
        let child = try ServeChild(arguments: ["--http-port", "0", "--amqp-heartbeat-seconds=\(value)"])
        defer { Task { await child.remove() } }
        let status = await child.exitStatus(within: .seconds(10))
        #expect(status != nil && status != 0)
        #expect(child.log.contains("--amqp-heartbeat-seconds must be 1...65535"), "log:\n\(child.log)")
    }

    private func waitUntilReady(port: Int, child: ServeChild) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while (try? await http("GET", port, "/readyz"))?.status != 200 {
            guard child.process.isRunning, ContinuousClock.now < deadline else {
                throw TestFailure("docflow serve did not come up; log:\n\(child.log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
