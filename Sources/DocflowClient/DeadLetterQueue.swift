import AMQPClient
import Foundation
import Synchronization

/// `<prefix>.dead-letter` for an operator: read its messages without removing any, and replay
/// some to where they were going. Messages are taken with `basic.get` and held unsettled on the
/// reading connection, so a reader that dies gives them all back; replays are published with
/// confirms on a connection of their own, and a message leaves the queue only once the broker
/// has confirmed its copy.
public final class DeadLetterQueue: Sendable {
    public let name: String
    private let reading: AMQPChannel
    private let publishing: AMQPChannel
    /// The deliveries read and not replayed, by delivery tag.
    private let held = Mutex<[UInt64: AMQPDelivery]>([:])

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Parameters:
    ///   - reading: the connection to take messages on.
    ///   - publishing: another connection, for the replays (in confirm mode).
    public init(names: Names, reading: AMQPConnection, publishing: AMQPConnection) async throws {
        name = names.deadLetterQueue
        self.reading = try await reading.openChannel()
        self.publishing = try await publishing.openChannel()
        try await self.publishing.enableConfirms()
    }

    /// How many messages wait in the queue, not counting those this reader holds.
    public func depth() async throws -> Int {
        do {
            return Int(try await reading.inspectQueue(name).messageCount)
        } catch let error as AMQPError where error.replyName == "NOT_FOUND" {
            throw Failure(description: "no queue \(name): has docflow serve run with that prefix?")
        }
    }

    /// Takes the messages waiting now, oldest first, up to `limit`, and holds them until
    /// `release()`: none is removed.
    public func read(limit: Int = .max) async throws -> [DeadLetter] {
        let waiting = try await depth()
        var letters: [DeadLetter] = []
        while letters.count < min(waiting, limit), let delivery = try await reading.get(queue: name) {
            held.withLock { $0[delivery.deliveryTag] = delivery }
            letters.append(DeadLetter(delivery))
        }
        return letters
    }

    /// Publishes `letter` to its destination and, once the broker confirms it, removes it from the
    /// queue. Throws (and the letter stays) when its destination is unknown, takes it nowhere
    /// (`unroutable`), or the broker refuses it (such as a `user_id` that is not the login).
    public func replay(_ letter: DeadLetter) async throws {
        guard held.withLock({ $0[letter.deliveryTag] != nil }) else {
            throw Failure(description: "\(letter.id) was not read by this reader, or was replayed already")
        }
        guard let message = letter.replay else {
            throw Failure(
                description: "\(letter.id) says nowhere where it was going: no x-docflow-original-* or x-death header")
        }
        do {
            try await publishing.publish(message)
        } catch AMQPError.unroutable {
            throw Failure(description: "no queue takes \(letter.id) at \(letter.destination!): nothing was replayed")
        }
        held.withLock { $0.removeValue(forKey: letter.deliveryTag) }?.ack()
    }

    /// Gives back every message read and not replayed, in their order. The nack leaves before the
    /// reading connection's close.
    public func release() {
        let newest = held.withLock { held in
            defer { held.removeAll() }
            return held.max { $0.key < $1.key }?.value
        }
        // One nack for all: its own tag must be one still held (the broker insists).
        newest?.nack(requeue: true, multiple: true)
    }
}
