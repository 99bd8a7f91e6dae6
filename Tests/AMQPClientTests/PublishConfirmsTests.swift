import Foundation
import Testing

@testable import AMQPClient

/// Publisher-confirm bookkeeping, without a broker. Tokens are the publishes' numbers.
@Suite("PublishConfirms")
struct PublishConfirmsTests {
    typealias Confirms = PublishConfirms<Int>

    private func message(
        _ routingKey: String = "q", exchange: String = "", mandatory: Bool = false, messageID: String? = nil
    ) -> AMQPMessage {
        AMQPMessage(
            exchange: exchange, routingKey: routingKey, body: Data("x".utf8),
            properties: AMQPProperties(messageID: messageID), mandatory: mandatory)
    }

    /// Publishes 1 to `count`, all on the wire.
    private func published(_ count: Int) -> Confirms {
        var confirms = Confirms()
        for token in 1...count { confirms.add(message(), token: token, sendNow: true) }
        return confirms
    }

    /// What a `basic.ack` or `basic.nack` settles: each publish's token and error.
    private func confirm(
        _ confirms: inout Confirms, _ tag: UInt64, multiple: Bool = false, nacked: Bool = false
    ) -> [Outcome] {
        var outcomes: [Confirms.Outcome] = []
        confirms.confirmed(tag: tag, multiple: multiple, nacked: nacked, into: &outcomes)
        return outcomes.map { Outcome(token: $0.token, error: $0.error) }
    }

    struct Outcome: Equatable {
        let token: Int
        let error: AMQPError?
    }

    @Test func publishesGetDeliveryTagsInTheOrderTheyGoOnTheWire() {
        let confirms = published(3)
        #expect(confirms.pending.map(\.tag) == [1, 2, 3])
        #expect(confirms.pending.map(\.token) == [1, 2, 3])
    }

    @Test func anAckSettlesOnlyThePublishWithItsTag() {
        var confirms = published(3)
        #expect(confirm(&confirms, 2) == [Outcome(token: 2, error: nil)])
        #expect(confirms.pending.map(\.token) == [1, 3])
    }

    @Test func aMultipleAckSettlesEveryPublishUpToItsTag() {
        var confirms = published(4)
        #expect(
            confirm(&confirms, 3, multiple: true) == [
                Outcome(token: 1, error: nil), Outcome(token: 2, error: nil), Outcome(token: 3, error: nil),
            ])
        #expect(confirms.pending.map(\.token) == [4])
    }

    @Test func aNackFailsItsPublishWithNacked() {
        var confirms = published(2)
        #expect(confirm(&confirms, 1, nacked: true) == [Outcome(token: 1, error: .nacked)])
        #expect(confirms.pending.map(\.token) == [2])
    }

    @Test func aMultipleNackFailsEveryPublishUpToItsTag() {
        var confirms = published(3)
        #expect(
            confirm(&confirms, 2, multiple: true, nacked: true) == [
                Outcome(token: 1, error: .nacked), Outcome(token: 2, error: .nacked),
            ])
        #expect(confirms.pending.map(\.token) == [3])
    }

    @Test func anAckOfAnUnknownTagSettlesNothing() {
        var confirms = published(2)
        #expect(confirm(&confirms, 9) == [])
        #expect(confirms.pending.count == 2)
    }

    @Test func aReturnThenItsAckSettlesTheMandatoryPublishAsUnroutable() {
        var confirms = Confirms()
        confirms.add(message("rk", exchange: "ex", mandatory: true), token: 1, sendNow: true)
        let unroutable = AMQPError.unroutable(code: 312, text: "NO_ROUTE")
        let matched = confirms.returned(exchange: "ex", routingKey: "rk", messageID: nil, error: unroutable)
        #expect(matched)
        #expect(confirm(&confirms, 1) == [Outcome(token: 1, error: unroutable)])
    }

    @Test func aReturnBelongsToTheOldestUnconfirmedMandatoryPublishToItsAddress() {
        var confirms = Confirms()
        confirms.add(message("rk", exchange: "ex", mandatory: false), token: 1, sendNow: true)
        confirms.add(message("other", exchange: "ex", mandatory: true), token: 2, sendNow: true)
        confirms.add(message("rk", exchange: "ex", mandatory: true, messageID: "a"), token: 3, sendNow: true)
        confirms.add(message("rk", exchange: "ex", mandatory: true, messageID: "b"), token: 4, sendNow: true)
        confirms.add(message("rk", exchange: "ex", mandatory: true), token: 5, sendNow: true)
        let unroutable = AMQPError.unroutable(code: 312, text: "NO_ROUTE")
        let matchedByID = confirms.returned(exchange: "ex", routingKey: "rk", messageID: "b", error: unroutable)
        #expect(matchedByID)
        let matchedByAddress = confirms.returned(exchange: "ex", routingKey: "rk", messageID: nil, error: unroutable)
        #expect(matchedByAddress)
        #expect(
            confirm(&confirms, 5, multiple: true) == [
                Outcome(token: 1, error: nil), Outcome(token: 2, error: nil), Outcome(token: 3, error: unroutable),
                Outcome(token: 4, error: unroutable), Outcome(token: 5, error: nil),
            ])
    }

    @Test func aReturnThatMatchesNoPendingPublishChangesNothing() {
        var confirms = published(1)
        let unroutable = AMQPError.unroutable(code: 312, text: "NO_ROUTE")
        let matched = confirms.returned(exchange: "", routingKey: "q", messageID: nil, error: unroutable)
        #expect(!matched)
        #expect(confirm(&confirms, 1) == [Outcome(token: 1, error: nil)])
    }

    @Test func aClosedChannelFailsEveryPendingPublishWithItsError() {
        var confirms = published(2)
        confirms.add(message(), token: 3, sendNow: false)
        let closed = AMQPError.channelClosed(code: 404, text: "NOT_FOUND - no exchange 'x'")
        var outcomes: [Confirms.Outcome] = []
        confirms.failAll(with: closed, into: &outcomes)
        #expect(outcomes.map(\.token) == [1, 2, 3])
        #expect(outcomes.map(\.error) == [closed, closed, closed])
        #expect(confirms.isEmpty)
    }

    @Test func aReconnectSendsEveryUnconfirmedPublishAgainInOrderWithNewTags() {
        var confirms = published(4)
        _ = confirm(&confirms, 2)
        confirms.connectionLost()
        #expect(confirms.pending.map(\.tag) == [0, 0, 0])
        // An ack of the old connection, had it arrived, would settle nothing now.
        #expect(confirm(&confirms, 3, multiple: true) == [])
        confirms.confirmSelected()
        confirms.resendAll()
        #expect(confirms.pending.map(\.token) == [1, 3, 4])
        #expect(confirms.pending.map(\.tag) == [1, 2, 3])
        #expect(
            confirm(&confirms, 2, multiple: true) == [Outcome(token: 1, error: nil), Outcome(token: 3, error: nil)])
        confirms.add(message(), token: 5, sendNow: true)
        #expect(confirms.pending.map(\.tag) == [3, 4])
    }

    @Test func aPublishWhileTheChannelIsDownWaitsWithoutATagAndGoesOutOnReopen() {
        var confirms = Confirms()
        confirms.add(message(), token: 1, sendNow: false)
        #expect(confirms.pending.map(\.tag) == [0])
        #expect(confirm(&confirms, 1, multiple: true) == [])
        confirms.confirmSelected()
        confirms.resendAll()
        #expect(confirm(&confirms, 1) == [Outcome(token: 1, error: nil)])
    }

    @Test func aReturnBeforeAReconnectIsForgottenWhenThePublishGoesOutAgain() {
        var confirms = Confirms()
        confirms.add(message("rk", mandatory: true), token: 1, sendNow: true)
        _ = confirms.returned(
            exchange: "", routingKey: "rk", messageID: nil, error: .unroutable(code: 312, text: "NO_ROUTE"))
        confirms.connectionLost()
        confirms.confirmSelected()
        confirms.resendAll()
        #expect(confirm(&confirms, 1) == [Outcome(token: 1, error: nil)])
    }
}
