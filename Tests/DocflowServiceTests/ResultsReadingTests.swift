import AMQPClient
import DocflowCore
import DocflowEngine
import Foundation
import Testing

@testable import DocflowService

/// What the engine makes of each message on `<prefix>.results`, without a broker: a worker's
/// result, a task the broker sent back (which fails its attempt), an expired copy (dropped: the
/// engine's own timer times the attempt out) and garbage (dead-lettered).
@Suite struct ResultsReadingTests {
    static let limit = 1 << 20

    static func task(_ id: String, reason: String) -> AMQPProperties {
        AMQPProperties(
            headers: [
                "x-first-death-reason": .string(reason), "x-first-death-queue": .string("p.tasks.extract"),
            ], messageID: id, type: "docflow.task")
    }

    @Test func aWorkersResultIsReadAsItself() throws {
        let result = StepTaskResult(taskID: "e:extract:1", outcome: .success(["total": 12]), runMs: 7, worker: "w:1")
        let reading = ResultsConsumer.read(
            result.json().encoded(), properties: AMQPProperties(type: "docflow.result"), maxMessageBytes: Self.limit)
        #expect(reading == .result(result))
    }

    /// A resumed execution sends its step again under the same task id; the copy the killed engine
    /// sent may expire meanwhile and must not fail the attempt pending now (the kill test's first
    /// failure: a dozen executions failed "expired" right after the engine's restart).
    @Test func anExpiredTaskIsDroppedNotAppliedToThePendingAttempt() {
        let reading = ResultsConsumer.read(
            Data("{}".utf8), properties: Self.task("e:extract:1", reason: "expired"), maxMessageBytes: Self.limit)
        guard case .drop(let taskID, _) = reading else {
            Issue.record("an expired copy was read as \(reading)")
            return
        }
        #expect(taskID == "e:extract:1")
    }

    @Test func aTaskGivenBackTooOftenFailsItsAttemptForGood() throws {
        let reading = ResultsConsumer.read(
            Data("{}".utf8), properties: Self.task("e:parse:2", reason: "delivery_limit"), maxMessageBytes: Self.limit)
        guard case .result(let result) = reading, case .failure(let error) = result.outcome else {
            Issue.record("read as \(reading)")
            return
        }
        #expect(result.taskID == "e:parse:2")
        #expect(!error.retryable)
        #expect(error.message.contains("given back by a worker"))
    }

    @Test func garbageAndOversizedMessagesAreDeadLetteredNamingWhy() {
        let notJSON = ResultsConsumer.read(
            Data("nope".utf8), properties: AMQPProperties(type: "docflow.result"), maxMessageBytes: Self.limit)
        #expect(notJSON == .deadLetter("not a task result: the result is not JSON"))
        let big = ResultsConsumer.read(Data(count: 11), properties: AMQPProperties(), maxMessageBytes: 10)
        #expect(big == .deadLetter("the result is 11 bytes, more than 10"))
        let anonymous = ResultsConsumer.read(
            Data("{}".utf8), properties: AMQPProperties(type: "docflow.task"), maxMessageBytes: Self.limit)
        #expect(anonymous == .deadLetter("a dead-lettered task without a message_id"))
    }
}
