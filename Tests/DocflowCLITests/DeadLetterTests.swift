import AMQPClient
import DocflowClient
import Foundation
import Testing

/// Reading a dead letter's headers back: where it was going, why, since when; and what a replay
/// publishes. No broker: messages built as the dead-letter queue hands them out.
@Suite struct DeadLetterTests {
    @Test func aDocflowDeadLetterSaysItsDestinationReasonAndTime() {
        let letter = DeadLetter(
            body: Data("not json".utf8),
            properties: AMQPProperties(
                headers: [
                    "x-docflow-error": "request body is not valid JSON: unexpected character at byte 0",
                    "x-docflow-original-exchange": "", "x-docflow-original-routing-key": "docflow.api",
                    "x-docflow-dead-lettered-at": .timestamp(1_800_000_000),
                ], persistent: true, messageID: "req-1"),
            routingKey: "docflow.api")
        #expect(letter.id == "req-1")
        #expect(letter.destination == .init(exchange: "", routingKey: "docflow.api"))
        #expect(letter.destination?.description == "(default) → docflow.api")
        #expect(letter.reason == "request body is not valid JSON: unexpected character at byte 0")
        #expect(letter.deadLetteredAt == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(letter.size == 8)
    }

    @Test func aBrokerDeadLetterIsReadFromXDeath() {
        let death: AMQPFieldValue = .table([
            "count": 1, "reason": "delivery_limit", "queue": "docflow.platform-events",
            "time": .timestamp(1_700_000_000),
            "exchange": "platform.events", "routing-keys": .array(["document.uploaded"]),
        ])
        let letter = DeadLetter(
            body: Data("{}".utf8),
            properties: AMQPProperties(
                headers: [
                    "x-death": .array([death]), "x-first-death-reason": "delivery_limit",
                    "x-first-death-queue": "docflow.platform-events", "x-first-death-exchange": "platform.events",
                ]),
            routingKey: "document.uploaded")
        #expect(letter.destination == .init(exchange: "platform.events", routingKey: "document.uploaded"))
        #expect(letter.reason == "broker: delivery_limit in docflow.platform-events")
        #expect(letter.deadLetteredAt == Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func aMessageWithoutAnIdIsNamedByItsBodyTheSameEveryTime() {
        let first = DeadLetter(body: Data("garbage".utf8), properties: AMQPProperties(), routingKey: "q")
        let again = DeadLetter(body: Data("garbage".utf8), properties: AMQPProperties(), routingKey: "q")
        let other = DeadLetter(body: Data("garbage!".utf8), properties: AMQPProperties(), routingKey: "q")
        #expect(first.id.hasPrefix("body-"))
        #expect(first.id == again.id)
        #expect(first.id != other.id)
    }

    @Test func aReplayGoesToTheDestinationWithoutTheDeadLetterHeadersAndWithItsProperties() throws {
        let properties = AMQPProperties(
            contentType: "application/json",
            headers: [
                "x-docflow-error": "why", "x-docflow-original-exchange": "platform.events",
                "x-docflow-original-routing-key": "document.uploaded", "x-docflow-dead-lettered-at": .timestamp(1),
                "x-death": .array([]), "x-first-death-reason": "rejected", "x-delivery-count": 2, "tenant": "acme",
            ], persistent: true, correlationID: "c-1", replyTo: "replies", messageID: "evt-1", timestamp: 99,
            userID: "platform", appID: "uploader")
        let letter = DeadLetter(body: Data("{\"id\":1}".utf8), properties: properties, routingKey: "document.uploaded")
        let replay = try #require(letter.replay)
        #expect(replay.exchange == "platform.events")
        #expect(replay.routingKey == "document.uploaded")
        #expect(replay.mandatory)
        #expect(replay.body == Data("{\"id\":1}".utf8))
        #expect(replay.properties.headers == ["tenant": "acme"])
        var expected = properties
        expected.headers = ["tenant": "acme"]
        #expect(replay.properties == expected)
    }

    @Test func aMessageThatSaysNothingOfWhereItWasGoingCannotBeReplayed() {
        let letter = DeadLetter(body: Data(), properties: AMQPProperties(), routingKey: "q")
        #expect(letter.destination == nil)
        #expect(letter.replay == nil)
        #expect(letter.reason.hasPrefix("unknown"))
    }
}
