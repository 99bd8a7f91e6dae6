import AMQPClient
import ArgumentParser
import DocflowClient
import DocflowCore
import Foundation
import Logging

package struct Call: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        abstract: "Send one Workflows API request over AMQP and print the reply.",
        discussion: """
            Example: docflow call POST /api/workflows --body @examples/create-workflow.json
            Exits 0 when the reply's status is below 400, 1 otherwise.
            """)

    @Argument(help: "GET, POST, PUT or DELETE.")
    var method: String

    @Argument(help: "The API path, such as /api/workflows or /api/workflows/integrations?id=...")
    var path: String

    @Option(help: "The JSON body, or @file to read it from a file.")
    var body: String?

    @Option(name: .customLong("query"), help: "A query parameter as key=value; repeatable.")
    var queryItems: [String] = []

    @Option(help: "A message_id, making a mutating request idempotent.")
    var messageID: String?

    @Option(
        help:
            "RabbitMQ URL; repeat or comma-separate for the nodes of a cluster (DOCFLOW_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672/%2F)."
    )
    var amqpURL: [String] = []

    @Option(help: "Prefix of docflow's queues (DOCFLOW_PREFIX).")
    var prefix = env("DOCFLOW_PREFIX", "docflow")

    @Option(help: "Seconds to wait for the reply.")
    var timeout: Double = 30

    package init() {}

    package func run() async throws {
        var request: [String: JSONValue] = ["method": .string(method.uppercased()), "path": .string(path)]
        if let body {
            let text: String
            if body.hasPrefix("@") {
                let file = String(body.dropFirst())
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                text = String(decoding: contents, as: UTF8.self)
            } else {
                text = body
            }
            do {
                request["body"] = try JSONValue.parse(text)
            } catch {
                throw ValidationError("--body is \(error)")
            }
        }
        var query: [String: JSONValue] = [:]
        for item in queryItems {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--query takes key=value, not \(item)") }
            query[String(parts[0])] = .string(String(parts[1]))
        }
        if !query.isEmpty { request["query"] = .object(query) }

        var logger = Logger(label: "docflow.call")
        logger.logLevel = .error
        let connection = AMQPConnection(
            try AMQPConfiguration(url: brokerURLs(amqpURL), connectionName: "docflow call"), logger: logger)
        do {
            try await connection.waitUntilConnected(timeout: .seconds(10))
        } catch {
            throw CallError("cannot reach the broker: \(error)")
        }
        let client = try await APIClient(connection: connection, queue: Names(prefix: prefix).apiQueue)
        let reply = try await client.send(
            JSONValue.object(request).encoded(), messageID: messageID, timeout: .milliseconds(Int64(timeout * 1000)))
        let envelope = (try? JSONValue.parse(reply)) ?? .string(String(decoding: reply, as: UTF8.self))
        print(envelope.prettyPrinted())
        await connection.close()
        if (envelope["status"]?.intValue ?? 500) >= 400 { throw ExitCode(1) }
    }
}

struct CallError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    func prettyPrinted() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? encodedString()
    }
}
