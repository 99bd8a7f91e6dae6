import AMQPClient
import DocflowCore
import DocflowTestSupport
import Foundation
import Testing

/// `docflow dead-letters list|show|replay`, the binary against a real broker, on messages a
/// server dead-lettered and messages the broker dead-lettered itself.
@Suite("Dead-letter tool")
struct DeadLetterToolTests {
    /// Runs `docflow dead-letters <arguments>` against the test server's broker and prefix.
    private static func tool(_ server: TestServer, _ arguments: String...) async throws -> ProcessOutput {
        try await runProcess(
            ExternalServer.binary,
            ["dead-letters"] + arguments + ["--amqp-url", TestServer.amqpURL, "--prefix", server.configuration.prefix])
    }

    /// Waits until `queue` holds `count` messages ready.
    private static func waitFor(_ count: UInt32, in queue: String, _ channel: AMQPChannel) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while try await channel.inspectQueue(queue).messageCount != count {
            if ContinuousClock.now > deadline {
                throw TestFailure("\(queue) never held \(count): \(try await channel.inspectQueue(queue))")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    private static let garbage = AMQPProperties(
        contentType: "text/plain", headers: ["tenant": "acme"], persistent: true, correlationID: "c-1",
        messageID: "garbage-1", appID: "tests")

    @Test func aRequestTheServerDeadLetteredIsListedShownAndReplayedToItsQueue() async throws {
        let server = try await TestServer.start()
        let names = server.names
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        // No reply_to and not JSON: nobody to answer, so docflow dead-letters it.
        try await channel.publish(
            AMQPMessage(routingKey: names.apiQueue, body: Data("not json at all".utf8), properties: Self.garbage))
        try await Self.waitFor(1, in: names.deadLetterQueue, channel)

        let list = try await Self.tool(server, "list", "--json")
        #expect(list.status == 0, "\(list.stderr)")
        let letters = try #require(try JSONValue.parse(Data(list.stdout.utf8)).arrayValue)
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter["id"] == "garbage-1")
        #expect(letter["destination"] == ["exchange": "", "routing_key": .string(names.apiQueue)])
        #expect(letter["reason"]?.stringValue?.contains("not valid JSON") == true, "\(letter)")
        #expect(letter["size"] == 15)
        #expect(letter["dead_lettered_at"]?.stringValue.flatMap(RFC3339.date(from:)) != nil)
        let table = try await Self.tool(server, "list")
        #expect(table.stdout.contains("garbage-1") && table.stdout.contains("(default) → \(names.apiQueue)"))
        #expect(table.stdout.contains("1 message in \(names.deadLetterQueue)"), "\(table.stdout)")

        let show = try await Self.tool(server, "show", "garbage-1")
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("not json at all"))
        #expect(show.stdout.contains("x-docflow-error: request body is not valid JSON"), "\(show.stdout)")
        #expect(show.stdout.contains("correlation_id: c-1"))
        let shown = try #require(
            try JSONValue.parse(Data(try await Self.tool(server, "show", "garbage-1", "--json").stdout.utf8))
                .objectValue)
        #expect(shown["body"] == "not json at all")
        #expect(shown["headers"]?["tenant"] == "acme")
        #expect(shown["properties"]?["message_id"] == "garbage-1")
        // Reading took nothing away: the message is back, once the broker has taken the tool's nack.
        try await Self.waitFor(1, in: names.deadLetterQueue, channel)

        // With nobody consuming the API queue, the replayed request stays there to be looked at.
        try await server.stopServing()
        let replay = try await Self.tool(server, "replay", "garbage-1")
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("replayed garbage-1 to (default) → \(names.apiQueue)"), "\(replay.stdout)")
        #expect(try await channel.inspectQueue(names.deadLetterQueue).messageCount == 0)
        try await Self.waitFor(1, in: names.apiQueue, channel)
        let replayed = try #require(try await channel.get(queue: names.apiQueue, noAck: true))
        #expect(replayed.body == Data("not json at all".utf8))
        #expect(replayed.properties == Self.garbage)

        let missing = try await Self.tool(server, "replay", "garbage-1")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no message garbage-1 in \(names.deadLetterQueue)"), "\(missing.stderr)")
        try await server.stop()
    }

    @Test func aMessageTheBrokerDeadLetteredIsReplayedByItsXDeath() async throws {
        let server = try await TestServer.start()
        let names = server.names
        try await server.stopServing()
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        for id in ["first", "second"] {
            var properties = Self.garbage
            properties.messageID = id
            try await channel.publish(
                AMQPMessage(routingKey: names.apiQueue, body: Data("{}".utf8), properties: properties))
        }
        // Rejected without requeue, the API queue's dead-letter exchange takes them, with x-death.
        for _ in 0..<2 {
            let delivery = try #require(try await channel.get(queue: names.apiQueue))
            delivery.reject(requeue: false)
        }
        try await Self.waitFor(2, in: names.deadLetterQueue, channel)

        let list = try await Self.tool(server, "list", "--json")
        let letters = try #require(try JSONValue.parse(Data(list.stdout.utf8)).arrayValue)
        #expect(letters.map { $0["id"] } == ["first", "second"])
        #expect(letters.first?["reason"] == .string("broker: rejected in \(names.apiQueue)"))
        #expect(letters.first?["destination"] == ["exchange": "", "routing_key": .string(names.apiQueue)])

        let replay = try await Self.tool(server, "replay", "--all")
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.split(separator: "\n").count == 2, "\(replay.stdout)")
        #expect(try await channel.inspectQueue(names.deadLetterQueue).messageCount == 0)
        try await Self.waitFor(2, in: names.apiQueue, channel)
        for id in ["first", "second"] {
            let replayed = try #require(try await channel.get(queue: names.apiQueue, noAck: true))
            #expect(replayed.properties.messageID == id)
            #expect(replayed.properties.headers == ["tenant": "acme"])
        }
        try await server.stop()
    }

    @Test func listingAnEmptyQueueSaysSo() async throws {
        let server = try await TestServer.start()
        let list = try await Self.tool(server, "list")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("no messages in \(server.names.deadLetterQueue)"))
        #expect(try await Self.tool(server, "replay").status != 0)
        try await server.stop()
    }
}
