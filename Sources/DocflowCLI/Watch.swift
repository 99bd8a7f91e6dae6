import AMQPClient
import ArgumentParser
import DocflowClient
import DocflowCore
import Foundation
import Logging

package struct Watch: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        abstract: "Print docflow's status events as a monitoring consumer sees them, one line each.",
        discussion: """
            Binds a queue of its own to the status exchange. Examples:
              docflow watch                              every event
              docflow watch --binding 'workflow.failed.*' every failure
              docflow watch --binding '#.<workflow_id>'  one workflow
            """)

    @Option(name: .customLong("binding"), help: "A routing-key pattern to bind; repeatable (default workflow.#).")
    var bindings: [String] = []

    @Flag(help: "Print each event's JSON body instead of a summary line.")
    var json = false

    @Option(help: "Exit after this many events.")
    var count: Int?

    @Option(
        help:
            "RabbitMQ URL; repeat or comma-separate for the nodes of a cluster (DOCFLOW_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672/%2F)."
    )
    var amqpURL: [String] = []

    @Option(help: "Prefix of docflow's exchanges (DOCFLOW_PREFIX).")
    var prefix = env("DOCFLOW_PREFIX", "docflow")

    package init() {}

    package func run() async throws {
        var logger = Logger(label: "docflow.watch")
        logger.logLevel = .error
        let connection = AMQPConnection(
            try AMQPConfiguration(url: brokerURLs(amqpURL), connectionName: "docflow watch"), logger: logger)
        do {
            try await connection.waitUntilConnected(timeout: .seconds(10))
        } catch {
            throw CallError("cannot reach the broker: \(error)")
        }
        let channel = try await connection.openChannel()
        let queue = "\(prefix).watch.\(UUID().uuidString.prefix(8).lowercased())"
        try await channel.declare(AMQPQueue(queue, durable: false, exclusive: true, autoDelete: true))
        for binding in bindings.isEmpty ? ["workflow.#"] : bindings {
            try await channel.bind(
                AMQPBinding(queue: queue, exchange: Names(prefix: prefix).statusExchange, routingKey: binding))
        }
        var seen = 0
        for try await delivery in try await channel.consume(queue: queue, noAck: true) {
            // Unbuffered, so a pipe or file sees each event as it comes.
            let line = json ? String(decoding: delivery.body, as: UTF8.self) : Self.summary(delivery)
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
            seen += 1
            if let count, seen >= count { break }
        }
        await connection.close()
    }

    /// `<time> <event> workflow=… execution=… step=… status=… …`, the fields an operator scans for.
    static func summary(_ delivery: AMQPDelivery) -> String {
        guard let body = try? JSONValue.parse(delivery.body), let data = body["data"] else {
            return "\(delivery.routingKey) \(String(decoding: delivery.body, as: UTF8.self))"
        }
        var parts = [body["timestamp"]?.stringValue ?? "-", body["event"]?.stringValue ?? delivery.routingKey]
        func add(_ label: String, _ value: JSONValue?) {
            guard let value, value != .null else { return }
            parts.append("\(label)=\(value.stringValue ?? value.encodedString())")
        }
        let isStep = data["step_id"] != nil
        add("workflow", isStep ? data["workflow_id"] : (data["workflow_id"] ?? data["id"]))
        add("execution", isStep ? data["execution_id"] : (data["workflow_id"] != nil ? data["id"] : nil))
        add("step", data["step_id"])
        add("status", data["status"])
        add("attempt", data["attempt"])
        add("duration_ms", data["duration_ms"])
        if isStep { add("output", data["output"]) }
        add("error", data["error"])
        return parts.joined(separator: " ")
    }
}
