import AMQPClient
import DocflowClient
import DocflowCore
import DocflowTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The scale-out topology for real on one machine: a 3-node RabbitMQ cluster
/// (scripts/rabbitmq-cluster.sh), one engine sending parse, extract and integration steps to three
/// workers, all on quorum queues; under load, a worker, the node leading a task queue, and the
/// engine are killed with SIGKILL. Disruptive (the type's name): it runs alone, after the
/// parallel tests.
@Suite("Scale-out: kills in a cluster lose nothing")
struct ScaleOutDisruptiveTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let ports = [5681, 5682, 5683]
    static func url(_ port: Int) -> String { "amqp://guest:guest@127.0.0.1:\(port)/%2F" }

    /// A status event as the monitor saw it.
    struct Seen: Sendable {
        let event: String
        let executionID: String
        let messageID: String
        let at: ContinuousClock.Instant
    }

    /// It failed at first because RabbitMQ 3.10 kept refusing the workers' results: a channel that
    /// first published to the results queue while its new leader was being elected was nacked for
    /// 90 s and more. Workers (and the engine's relay) now take a new channel after a refusal.
    /// DOCFLOW_KEEP_CLUSTER=1 leaves the cluster and its logs (data/cluster/n*/log) for a look.
    @Test
    func killingAWorkerALeaderNodeAndTheEngineLosesNothing() async throws {
        let cluster = Self.repository.appendingPathComponent("scripts/rabbitmq-cluster.sh").path
        _ = try await shell(cluster, "start")
        let urls = Self.ports.map(Self.url).joined(separator: ",")
        let receiver = RecordingHTTPServer()
        try await receiver.start()
        let brokerEnvironment = ["DOCFLOW_AMQP_URL": urls, "DOCFLOW_QUEUE_TYPE": "quorum"]
        let engineArguments = ["--dispatch", "parse,extract,integration", "--http-port", "0"]
        let engine = try ServeChild(arguments: engineArguments, environment: brokerEnvironment, withTestKey: false)
        var children = [engine]
        defer {
            // On a failure too: no child and no node is left behind.
            let all = children
            Task {
                for child in all { await child.remove() }
                if ProcessInfo.processInfo.environment["DOCFLOW_KEEP_CLUSTER"] != "1" {
                    _ = try? await shell(cluster, "clean")
                }
            }
        }
        let prefix = engine.prefix
        let names = Names(prefix: prefix)

        // The node leading the extract tasks' queue is the one to kill; the test talks through another.
        try await waitForQueue(names.taskQueue("extract"), log: engine)
        let leaderPort = try await leader(of: names.taskQueue("extract"))
        let testPort = Self.ports.first { $0 != leaderPort }!
        var logger = Logger(label: "test.scale-out")
        logger.logLevel = .critical
        let connection = AMQPConnection(try AMQPConfiguration(url: Self.url(testPort)), logger: logger)
        let client = try await APIClient(connection: connection, queue: names.apiQueue)

        // Every status event, as a monitoring consumer sees it.
        let seen = Mutex<[Seen]>([])
        let monitor = try await connection.openChannel()
        let monitorQueue = "\(prefix).test-monitor"
        try await monitor.declare(AMQPQueue.quorum(monitorQueue))
        try await monitor.bind(AMQPBinding(queue: monitorQueue, exchange: names.statusExchange, routingKey: "#"))
        let consumer = try await monitor.consume(queue: monitorQueue) { delivery in
            let workflowID = delivery.properties.headers["workflow_id"]?.stringValue ?? ""
            let event = String(delivery.routingKey.dropLast(workflowID.count + 1))
            if let executionID = delivery.properties.headers["execution_id"]?.stringValue {
                seen.withLock {
                    $0.append(
                        Seen(
                            event: event, executionID: executionID, messageID: delivery.properties.messageID ?? "",
                            at: .now))
                }
            }
            delivery.ack()
        }

        for _ in 0..<3 {
            children.append(
                try ServeChild(
                    arguments: ["--types", "parse,extract,integration", "--concurrency", "8"],
                    environment: brokerEnvironment.merging(["DOCFLOW_PREFIX": prefix]) { _, new in new },
                    withTestKey: false, command: "worker"))
        }
        let integration = try await client.call(
            "POST", "/api/workflows/integrations",
            body: [
                "name": "receiver", "integration_type": "webhook", "config": ["url": .string(receiver.url("/hook"))],
            ])
        let integrationID = try #require(integration.body?["id"]?.stringValue, "\(integration.envelope)")
        let created = try await client.call(
            "POST", "/api/workflows",
            body: [
                "name": "invoices", "trigger_type": "manual",
                "definition": [
                    "steps": [
                        ["id": "parse", "type": "parse", "config": [:]],
                        ["id": "extract", "type": "extract", "config": ["schema_id": "invoice-schema"]],
                        ["id": "notify", "type": "integration", "config": ["integration_id": .string(integrationID)]],
                    ]
                ],
            ])
        let workflowID = try #require(created.body?["id"]?.stringValue, "\(created.envelope)")

        let total = 150
        var executions: [String] = []
        var kills: [(String, ContinuousClock.Instant)] = []
        for index in 0..<total {
            switch index {
            case 30:
                kill(children[1].process.processIdentifier, SIGKILL)
                kills.append(("worker", .now))
            case 60:
                let portIndex = Self.ports.firstIndex(of: leaderPort)! + 1
                let pidFile = Self.repository.appendingPathComponent("data/cluster/n\(portIndex)/pid").path
                let pid = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                kill(pid_t(pid)!, SIGKILL)
                kills.append(("node \(portIndex) (leader of \(names.taskQueue("extract")))", .now))
            case 90:
                kill(engine.process.processIdentifier, SIGKILL)
                _ = await waitUntilGone(engine.process.processIdentifier, within: .seconds(10))
                kills.append(("engine", .now))
                // The same database and prefix: the new owner starts at once.
                let restarted = try ServeChild(
                    arguments: engineArguments,
                    environment: brokerEnvironment.merging(
                        ["DOCFLOW_PREFIX": prefix, "DOCFLOW_DATABASE": engine.database]) { _, new in new },
                    withTestKey: false)
                children.append(restarted)
            default:
                break
            }
            let text = "ACME\nInvoice Number: INV-\(index)\nInvoice Date: 2024-01-15\nTotal: $\(index).00"
            let reply = try await client.call(
                "POST", "/api/workflows/\(workflowID)/execute",
                body: ["trigger_data": ["content": .string(text), "file_type": "text"]], timeout: .seconds(60))
            executions.append(try #require(reply.body?["execution_id"]?.stringValue, "\(reply.envelope)"))
            if index % 10 == 9 { try await Task.sleep(for: .milliseconds(100)) }
        }

        // Every execution reaches an end.
        var ends: [String: JSONValue] = [:]
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        for id in executions {
            while true {
                let reply = try await client.call(
                    "GET", "/api/workflows/\(workflowID)/executions", query: ["execution_id": id])
                if let execution = reply.body?["executions"]?.arrayValue?.first, execution["status"] != "running" {
                    ends[id] = execution
                    break
                }
                guard ContinuousClock.now < deadline else { break }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(ends.count == total, "executions still running: \(Set(executions).subtracting(ends.keys).count)")
        let notCompleted = ends.values.filter { $0["status"] != "completed" }
        #expect(
            notCompleted.isEmpty, "\(notCompleted.count) not completed, e.g. \(notCompleted.first?["error"] ?? .null)")
        if !notCompleted.isEmpty {
            for child in children {
                let log = child.log
                try? log.write(
                    toFile: "/tmp/scale-out-\(child.process.processIdentifier).log", atomically: true, encoding: .utf8)
                print(
                    "log of \(child.process.processIdentifier): /tmp/scale-out-\(child.process.processIdentifier).log")
            }
        }
        let wrong = executions.enumerated().filter { index, id in
            ends[id]?.step("extract")?["output"]?["invoice_number"] != .string("INV-\(index)")
        }
        #expect(wrong.isEmpty, "\(wrong.count) executions without their invoice number")
        // Each execution's notification reached the receiver (a redelivered task may send again,
        // with the same Idempotency-Key).
        let keys = Set(receiver.requests.compactMap { $0.headers["idempotency-key"] })
        #expect(keys == Set(executions.map { "\($0):notify" }))

        // Status events: after duplicates of a relay are dropped (same message id), each
        // execution's events are in order, and each step has exactly one accepted result.
        try await Task.sleep(for: .seconds(2))
        let events = seen.withLock { $0 }
        var byExecution: [String: [Seen]] = [:]
        var messageIDs: Set<String> = []
        for event in events where messageIDs.insert(event.messageID).inserted {
            byExecution[event.executionID, default: []].append(event)
        }
        let steps = ["parse", "extract", "notify"]
        for id in executions {
            let names = (byExecution[id] ?? []).map(\.event)
            #expect(names.first == "workflow.started", "\(id): \(names)")
            #expect(names.last == "workflow.completed", "\(id): \(names)")
            #expect(names.filter { $0 == "workflow.step.completed" }.count == steps.count, "\(id): \(names)")
        }
        for (what, at) in kills {
            let next = events.first { $0.event == "workflow.completed" && $0.at > at }?.at
            print(
                "after killing the \(what), the next execution completed \(next.map { "\($0 - at)" } ?? "never") later")
        }
        print("receiver got \(receiver.requests.count) requests for \(total) executions")

        try? await consumer.cancel()
        _ = try? await monitor.deleteQueue(monitorQueue)
        await connection.close()
        for child in children { await child.remove() }
        children = []
        receiver.stop()
        if ProcessInfo.processInfo.environment["DOCFLOW_KEEP_CLUSTER"] != "1" { _ = try await shell(cluster, "clean") }
    }

    /// Waits until the engine declared `queue` on the cluster.
    private func waitForQueue(_ queue: String, log child: ServeChild) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while try await !shell(
            "/usr/sbin/rabbitmqctl", "-q", "-n", "docflow-cluster-1@localhost", "list_queues", "name"
        )
        .contains(queue) {
            guard ContinuousClock.now < deadline, child.process.isRunning else {
                throw TestFailure("the engine did not declare \(queue); log:\n\(child.log)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The AMQP port of the node leading the quorum queue `queue`.
    private func leader(of queue: String) async throws -> Int {
        let listing = try await shell(
            "/usr/sbin/rabbitmqctl", "-q", "-n", "docflow-cluster-1@localhost", "list_queues", "name", "leader")
        for line in listing.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 2, fields[0] == queue,
                let node = fields[1].split(separator: "@").first?.split(separator: "-").last, let index = Int(node)
            else { continue }
            return Self.ports[index - 1]
        }
        throw TestFailure("no leader for \(queue) in:\n\(listing)")
    }
}
