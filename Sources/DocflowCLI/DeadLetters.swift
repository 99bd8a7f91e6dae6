import AMQPClient
import ArgumentParser
import DocflowClient
import DocflowCore
import Foundation
import Logging

package struct DeadLetters: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, show and replay the messages in <prefix>.dead-letter.",
        discussion: """
            Reading takes nothing away: every message goes back to the queue, in its order. A replay
            publishes the message to where it was going, without the dead-letter headers and with its
            properties, and removes it from the queue only once the broker has confirmed the copy.
              docflow dead-letters list
              docflow dead-letters show <id>
              docflow dead-letters replay <id>
              docflow dead-letters replay --all
            """,
        subcommands: [List.self, Show.self, Replay.self])

    package init() {}

    /// The broker and the prefix, as `docflow call` takes them.
    struct BrokerOptions: ParsableArguments {
        @Option(
            help:
                "RabbitMQ URL; repeat or comma-separate for the nodes of a cluster (DOCFLOW_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672/%2F)."
        )
        var amqpURL: [String] = []

        @Option(help: "Prefix of docflow's queues (DOCFLOW_PREFIX).")
        var prefix = env("DOCFLOW_PREFIX", "docflow")

        /// Runs `body` on the prefix's dead-letter queue, then gives back what it read and did not
        /// replay, and closes the connections.
        func withQueue<T: Sendable>(_ body: (DeadLetterQueue) async throws -> T) async throws -> T {
            var logger = Logger(label: "docflow.dead-letters")
            logger.logLevel = .error
            let url = brokerURLs(amqpURL)
            // Confirm-mode publishing stays off the connection that holds the messages.
            let reading = AMQPConnection(
                try AMQPConfiguration(url: url, connectionName: "docflow dead-letters read"), logger: logger)
            let publishing = AMQPConnection(
                try AMQPConfiguration(url: url, connectionName: "docflow dead-letters publish"), logger: logger)
            do {
                try await reading.waitUntilConnected(timeout: .seconds(10))
                try await publishing.waitUntilConnected(timeout: .seconds(10))
            } catch {
                await reading.close()
                await publishing.close()
                throw CallError("cannot reach the broker: \(error)")
            }
            let result: Result<T, any Error>
            do {
                let queue = try await DeadLetterQueue(
                    names: Names(prefix: prefix), reading: reading, publishing: publishing)
                do {
                    result = .success(try await body(queue))
                } catch {
                    result = .failure(error)
                }
                queue.release()
            } catch {
                await reading.close()
                await publishing.close()
                throw error
            }
            await publishing.close()
            await reading.close()
            return try result.get()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per message: id, original destination, age, size in bytes, reason.")

        @OptionGroup var broker: BrokerOptions

        @Option(help: "Show at most this many, the oldest first.")
        var limit = 1000

        @Flag(help: "Print a JSON array instead of a table.")
        var json = false

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let (letters, left) = try await broker.withQueue { queue in
                let letters = try await queue.read(limit: limit)
                return (letters, try await queue.depth())
            }
            let now = Date()
            if json {
                print(JSONValue.array(letters.map { $0.summary(now: now) }).prettyPrinted())
                return
            }
            let queue = Names(prefix: broker.prefix).deadLetterQueue
            guard !letters.isEmpty else { return print("no messages in \(queue)") }
            let rows = letters.map { letter in
                [
                    letter.id, letter.destination?.description ?? "unknown",
                    letter.deadLetteredAt.map { age(now.timeIntervalSince($0)) } ?? "?", "\(letter.size)",
                    oneLine(letter.reason, max: 120),
                ]
            }
            print(table(header: ["ID", "DESTINATION", "AGE", "SIZE", "REASON"], rows: rows))
            let more = left > 0 ? ", \(left) more not shown (--limit)" : ""
            print("\(letters.count) message\(letters.count == 1 ? "" : "s") in \(queue)\(more)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One message whole: where it was going, why it is here, its properties, headers and body.")

        @OptionGroup var broker: BrokerOptions

        @Argument(help: "The message's id, as `list` shows it.")
        var id: String

        @Flag(help: "Print it as one JSON object.")
        var json = false

        func run() async throws {
            let matches = try await broker.withQueue { queue in try await queue.read().filter { $0.id == id } }
            guard let letter = matches.first else {
                throw CallError("no message \(id) in \(Names(prefix: broker.prefix).deadLetterQueue)")
            }
            if json {
                print(JSONValue.object(letter.details(now: Date())).prettyPrinted())
            } else {
                print(letter.text(now: Date()))
            }
            if matches.count > 1 { print("(\(matches.count - 1) more with this id)") }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish messages again to where they were going, then remove them from the queue.",
            discussion: """
                Each copy keeps the body and properties (message_id, reply_to, user_id, ...) and leaves
                out the dead-letter headers; it is published with a publisher confirm, as mandatory,
                and only then is the message removed. A message whose destination takes nothing
                stays. Exits 1 when any message stays.
                """)

        @OptionGroup var broker: BrokerOptions

        @Argument(help: "The id of the message(s) to replay, as `list` shows it.")
        var id: String?

        @Flag(help: "Replay every message in the queue.")
        var all = false

        func validate() throws {
            guard (id != nil) != all else { throw ValidationError("give a message id or --all, not both") }
        }

        func run() async throws {
            let (replayed, failures) = try await broker.withQueue { queue in
                let letters = try await queue.read().filter { all || $0.id == id }
                if letters.isEmpty, let id { throw CallError("no message \(id) in \(queue.name)") }
                var replayed: [String] = []
                var failures: [String] = []
                for letter in letters {
                    do {
                        try await queue.replay(letter)
                        replayed.append("replayed \(letter.id) to \(letter.destination!)")
                    } catch {
                        failures.append("could not replay \(letter.id): \(error)")
                    }
                }
                return (replayed, failures)
            }
            for line in replayed { print(line) }
            for line in failures { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            if replayed.isEmpty, failures.isEmpty { print("no messages to replay") }
            if !failures.isEmpty { throw ExitCode(1) }
        }
    }
}

extension DeadLetter {
    /// A line of `list --json`.
    func summary(now: Date) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id), "reason": .string(reason), "size": .number(Double(size)),
            "destination": destination.map {
                .object(["exchange": .string($0.exchange), "routing_key": .string($0.routingKey)])
            } ?? .null,
            "dead_lettered_at": deadLetteredAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "age_seconds": deadLetteredAt.map { .number(max(0, now.timeIntervalSince($0).rounded(.down))) } ?? .null,
        ]
        fields["redelivered"] = .bool(redelivered)
        return .object(fields)
    }

    /// `show --json`: the summary, the properties, the headers and the body.
    func details(now: Date) -> [String: JSONValue] {
        var fields = summary(now: now).objectValue ?? [:]
        fields["properties"] = .object(propertyFields.mapValues { .string($0) })
        fields["headers"] = .object(properties.headers.mapValues(\.jsonValue))
        if let text = String(validating: body, as: UTF8.self) {
            fields["body"] = .string(text)
        } else {
            fields["body_base64"] = .string(body.base64EncodedString())
        }
        return fields
    }

    /// `show`: one field a line, then the properties and headers indented, then the body.
    func text(now: Date) -> String {
        var lines = [
            "id:            \(id)",
            "destination:   \(destination?.description ?? "unknown")",
            "reason:        \(reason)",
            "dead-lettered: "
                + (deadLetteredAt.map { "\(RFC3339.string(from: $0)) (\(age(now.timeIntervalSince($0))) ago)" }
                    ?? "unknown"),
            "size:          \(size) bytes",
            "properties:",
        ]
        lines += propertyFields.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }
        lines.append("headers:")
        lines += properties.headers.sorted { $0.key < $1.key }.map { key, value in
            let shown: String
            if case .string(let text) = value.jsonValue {
                shown = text
            } else {
                shown = value.jsonValue.encodedString()
            }
            return "  \(key): \(shown)"
        }
        lines.append("body:")
        if let body = String(validating: body, as: UTF8.self) {
            lines.append((try? JSONValue.parse(body).prettyPrinted()) ?? body)
        } else {
            lines.append("(\(size) bytes, not UTF-8; base64) \(body.base64EncodedString())")
        }
        return lines.joined(separator: "\n")
    }

    /// The properties that are set, by their AMQP names.
    private var propertyFields: [String: String] {
        var fields: [String: String] = ["delivery_mode": properties.persistent ? "2 (persistent)" : "1"]
        let optional: [(String, String?)] = [
            ("content_type", properties.contentType), ("content_encoding", properties.contentEncoding),
            ("priority", properties.priority.map { "\($0)" }), ("correlation_id", properties.correlationID),
            ("reply_to", properties.replyTo), ("expiration", properties.expiration),
            ("message_id", properties.messageID),
            ("timestamp", properties.timestamp.map { RFC3339.string(from: Date(timeIntervalSince1970: Double($0))) }),
            ("type", properties.type), ("user_id", properties.userID), ("app_id", properties.appID),
        ]
        for case (let name, let value?) in optional { fields[name] = value }
        return fields
    }
}

/// `42s`, `5m`, `3h`, `2d`: the largest whole unit.
func age(_ seconds: TimeInterval) -> String {
    let seconds = max(0, Int(seconds))
    switch seconds {
    case ..<60: return "\(seconds)s"
    case ..<3600: return "\(seconds / 60)m"
    case ..<86_400: return "\(seconds / 3600)h"
    default: return "\(seconds / 86_400)d"
    }
}

/// `text` on one line, cut to `max` characters.
func oneLine(_ text: String, max: Int) -> String {
    let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
    return flat.count > max ? String(flat.prefix(max - 1)) + "…" : flat
}

/// Columns padded to their widest cell, two spaces apart.
func table(header: [String], rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
