import AMQPClient
import ArgumentParser
import DocflowCore
import Foundation
import Logging

package struct Emit: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        abstract: "Publish a platform event, as the platform would, to test event-triggered workflows.",
        discussion: """
            Example: docflow emit document.uploaded --data '{"document_id": "doc-1", "file_type": "pdf"}'
            """)

    @Argument(help: "document.uploaded, document.processed, extraction.completed or chat.message.")
    var event: String

    @Option(help: "The event's data: a JSON object, or @file.")
    var data: String = "{}"

    @Option(help: "The event id (default: a new UUID). Publishing the same id twice starts nothing new.")
    var id: String?

    @Option(
        help:
            "RabbitMQ URL; repeat or comma-separate for the nodes of a cluster (DOCFLOW_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672/%2F)."
    )
    var amqpURL: [String] = []

    @Option(help: "The platform's events exchange (DOCFLOW_EVENTS_EXCHANGE).")
    var eventsExchange = env("DOCFLOW_EVENTS_EXCHANGE", "platform.events")

    package init() {}

    package func run() async throws {
        let text: String
        if data.hasPrefix("@") {
            guard let contents = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                throw ValidationError("cannot read \(data.dropFirst())")
            }
            text = String(decoding: contents, as: UTF8.self)
        } else {
            text = data
        }
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(text)
        } catch {
            throw ValidationError("--data is \(error)")
        }
        guard payload.objectValue != nil else { throw ValidationError("--data must be a JSON object") }
        let eventID = id ?? UUID().uuidString.lowercased()
        let body: JSONValue = [
            "id": .string(eventID), "event": .string(event), "timestamp": .string(RFC3339.string(from: Date())),
            "data": payload,
        ]
        var logger = Logger(label: "docflow.emit")
        logger.logLevel = .error
        let connection = AMQPConnection(
            try AMQPConfiguration(url: brokerURLs(amqpURL), connectionName: "docflow emit"), logger: logger)
        do {
            try await connection.waitUntilConnected(timeout: .seconds(10))
        } catch {
            throw CallError("cannot reach the broker: \(error)")
        }
        let channel = try await connection.openChannel()
        try await channel.enableConfirms()
        do {
            try await channel.publish(
                AMQPMessage(
                    exchange: eventsExchange, routingKey: event, body: body.encoded(),
                    properties: AMQPProperties(
                        contentType: "application/json", persistent: true, messageID: eventID,
                        timestamp: UInt64(Date().timeIntervalSince1970)),
                    mandatory: true))
        } catch AMQPError.unroutable {
            throw CallError("no queue takes \(event) on \(eventsExchange): is docflow serve running?")
        }
        print(eventID)
        await connection.close()
    }
}
