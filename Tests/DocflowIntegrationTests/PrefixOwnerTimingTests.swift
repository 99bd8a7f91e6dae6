import AMQPClient
import DocflowTestSupport
import Foundation
import Testing

/// One `docflow serve` per prefix and per database, with real processes on the shared broker.
/// Timing (the type's name): they kill processes and hold start-up to deadlines, so they run
/// alone after the parallel tests.
@Suite("Prefix owner Timing")
struct PrefixOwnerTimingTests {
    /// A `docflow serve` with an HTTP port; on `owner`'s prefix and/or database when given.
    private func serve(prefixOf owner: ServeChild? = nil, databaseOf holder: ServeChild? = nil, extra: [String] = [])
        throws -> (ServeChild, Int)
    {
        let port = try freePort()
        var environment: [String: String] = [:]
        if let owner {
            environment["DOCFLOW_PREFIX"] = owner.prefix
            environment["DOCFLOW_EVENTS_EXCHANGE"] = "\(owner.prefix).platform.events"
        }
        if let holder { environment["DOCFLOW_DATABASE"] = holder.database }
        let child = try ServeChild(arguments: ["--http-port", "\(port)"] + extra, environment: environment)
        return (child, port)
    }

    private func waitUntilReady(_ child: ServeChild, port: Int, within timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while (try? await http("GET", port, "/readyz"))?.status != 200 {
            guard child.process.isRunning, ContinuousClock.now < deadline else {
                throw TestFailure("docflow serve was not ready within \(timeout); log:\n\(child.log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test(.timeLimit(.minutes(1))) func aSecondServeOnAServedPrefixRefusesWithinSecondsNamingTheOwner() async throws {
        let (owner, ownerPort) = try serve()
        defer { Task { await owner.remove() } }
        try await waitUntilReady(owner, port: ownerPort, within: .seconds(30))

        let (second, _) = try serve(prefixOf: owner)
        defer { Task { await second.remove() } }
        let status = await second.exitStatus(within: .seconds(10))
        let log = second.log
        let exited = try #require(status, "the second docflow still runs 10 s after start; log:\n\(log)")
        #expect(exited != 0)
        #expect(log.contains("prefix \(owner.prefix) is already served"), "log:\n\(log)")
        #expect(log.contains("pid \(owner.process.processIdentifier)"), "log:\n\(log)")
        // The owner goes on serving.
        #expect(owner.process.isRunning)
        #expect((try? await http("GET", ownerPort, "/readyz"))?.status == 200)
    }

    @Test(.timeLimit(.minutes(1))) func aSecondServeOnADatabaseInUseRefusesNamingTheLock() async throws {
        let (owner, ownerPort) = try serve()
        defer { Task { await owner.remove() } }
        try await waitUntilReady(owner, port: ownerPort, within: .seconds(30))

        let (second, _) = try serve(databaseOf: owner)
        defer { Task { await second.remove() } }
        let status = await second.exitStatus(within: .seconds(10))
        let log = second.log
        let exited = try #require(status, "the second docflow still runs 10 s after start; log:\n\(log)")
        #expect(exited != 0)
        #expect(log.contains("database \(owner.database) is already in use"), "log:\n\(log)")
        #expect(log.contains("\(owner.database).lock"), "log:\n\(log)")
        #expect(log.contains("pid \(owner.process.processIdentifier)"), "log:\n\(log)")
        #expect(owner.process.isRunning)
    }

    @Test(.timeLimit(.minutes(1))) func afterAKill9OfTheOwnerANewServeStartsAtOnce() async throws {
        let (owner, ownerPort) = try serve()
        defer { Task { await owner.remove() } }
        try await waitUntilReady(owner, port: ownerPort, within: .seconds(30))

        kill(owner.process.processIdentifier, SIGKILL)
        owner.process.waitUntilExit()
        let killed = ContinuousClock.now
        // Same prefix, same database: a restart.
        let (next, nextPort) = try serve(prefixOf: owner, databaseOf: owner)
        defer { Task { await next.remove() } }
        try await waitUntilReady(next, port: nextPort, within: .seconds(10))
        let took = ContinuousClock.now - killed
        #expect(took < .seconds(10))
    }

    @Test(.timeLimit(.minutes(1))) func ofTwoStartedAtTheSameMomentExactlyOneServes() async throws {
        let (first, firstPort) = try serve()
        let (second, secondPort) = try serve(prefixOf: first)
        defer {
            Task {
                await first.remove()
                await second.remove()
            }
        }
        let statuses = await (first.exitStatus(within: .seconds(15)), second.exitStatus(within: .seconds(15)))
        let running = [first, second].filter(\.process.isRunning)
        #expect(
            running.count == 1,
            "first: \(statuses.0.map(String.init) ?? "running"), log:\n\(first.log)\nsecond: \(statuses.1.map(String.init) ?? "running"), log:\n\(second.log)"
        )
        let refused = statuses.0 ?? statuses.1
        #expect(refused != nil && refused != 0)
        if let survivor = running.first {
            try await waitUntilReady(survivor, port: survivor === first ? firstPort : secondPort, within: .seconds(10))
            let loser = survivor === first ? second : first
            #expect(loser.log.contains("pid \(survivor.process.processIdentifier)"), "log:\n\(loser.log)")
        }
    }

    @Test(.timeLimit(.minutes(2))) func anOwnerCutOffWhileAnotherTookThePrefixOverStopsWhenItReconnects() async throws {
        let broker = try AMQPConfiguration(url: TestServer.amqpURL)
        let proxy = try FreezableProxy(host: broker.host, port: broker.port)
        defer { proxy.stop() }
        let vhost = broker.virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2F"
        let proxied = "amqp://\(broker.username):\(broker.password)@127.0.0.1:\(proxy.port)/\(vhost)"
        let (owner, ownerPort) = try serve(extra: ["--amqp-url", proxied, "--amqp-heartbeat-seconds", "1"])
        defer { Task { await owner.remove() } }
        try await waitUntilReady(owner, port: ownerPort, within: .seconds(30))

        // A partition: the broker drops the silent owner's connection, and its lease with it.
        proxy.freeze()
        let (next, nextPort) = try serve(prefixOf: owner)
        defer { Task { await next.remove() } }
        try await waitUntilReady(next, port: nextPort, within: .seconds(30))
        #expect(owner.process.isRunning)

        proxy.thaw()
        let status = await owner.exitStatus(within: .seconds(20))
        let log = owner.log
        let exited = try #require(status, "the cut-off owner still runs 20 s after the partition ended; log:\n\(log)")
        #expect(exited != 0)
        #expect(log.contains("lost prefix \(owner.prefix)"), "log:\n\(log)")
        #expect(log.contains("pid \(next.process.processIdentifier)"), "log:\n\(log)")
        #expect(next.process.isRunning)
    }
}
