import AMQPClient
import DocflowCore
import Foundation
import Synchronization

/// Calls the Workflows API over AMQP request/reply, as any platform service would: publishes to
/// the API queue with `reply_to: amq.rabbitmq.reply-to` and matches replies by `correlation_id`.
public final class APIClient: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        /// The whole reply envelope: `{"status", "body"}` or `{"status", "error"}`.
        public let envelope: JSONValue
        public var body: JSONValue? { envelope["body"] }
        public var error: JSONValue? { envelope["error"] }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let channel: AMQPChannel
    private let queue: String
    /// Sent as every request's `user_id`: the broker checks it is the connection's login, and
    /// docflow attributes the request (and its audit entry) to it.
    private let userID: String?
    private let waiting = Waiters()
    private let listener: Task<Void, Never>

    /// - Parameters:
    ///   - queue: the API queue, `<prefix>.api`.
    ///   - userID: the connection's broker login, to be identified by (nil: anonymous).
    public init(connection: AMQPConnection, queue: String, userID: String? = nil) async throws {
        self.userID = userID
        let channel = try await connection.openChannel()
        // Direct reply-to needs the consumer on the channel that publishes the requests.
        let replies = try await channel.consume(queue: "amq.rabbitmq.reply-to", noAck: true)
        // Confirms plus `mandatory` make a request to a queue nobody declared fail at once.
        try await channel.enableConfirms()
        self.channel = channel
        self.queue = queue
        let waiting = self.waiting
        listener = Task {
            do {
                for try await reply in replies {
                    guard let id = reply.properties.correlationID, let continuation = waiting.take(id) else {
                        continue
                    }
                    continuation.resume(returning: reply.body)
                }
            } catch {}
            for continuation in waiting.takeAll() {
                continuation.resume(throwing: Failure(description: "the reply consumer stopped"))
            }
        }
    }

    deinit {
        listener.cancel()
    }

    /// Sends `{"method", "path", "query", "body"}` and waits for the reply.
    public func call(
        _ method: String, _ path: String, query: [String: String] = [:], body: JSONValue? = nil,
        messageID: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> Reply {
        var request: [String: JSONValue] = ["method": .string(method), "path": .string(path)]
        if !query.isEmpty { request["query"] = .object(query.mapValues { .string($0) }) }
        if let body { request["body"] = body }
        let data = try await send(JSONValue.object(request).encoded(), messageID: messageID, timeout: timeout)
        let envelope: JSONValue
        do {
            envelope = try JSONValue.parse(data)
        } catch {
            throw Failure(description: "reply is \(error)")
        }
        return Reply(status: envelope["status"]?.intValue ?? 0, envelope: envelope)
    }

    /// Sends raw request bytes to the API queue and returns the raw reply.
    public func send(_ body: Data, messageID: String? = nil, timeout: Duration = .seconds(30)) async throws -> Data {
        try await send(body, to: queue, messageID: messageID, timeout: timeout)
    }

    /// Sends raw request bytes to any queue that answers on `reply_to`; the request expires with
    /// the timeout, so a late service does not work for nobody.
    public func send(_ body: Data, to queue: String, messageID: String? = nil, timeout: Duration) async throws -> Data {
        let correlationID = UUID().uuidString.lowercased()
        let message = AMQPMessage(
            exchange: "", routingKey: queue, body: body,
            properties: AMQPProperties(
                contentType: "application/json", correlationID: correlationID, replyTo: "amq.rabbitmq.reply-to",
                expiration: String(max(timeout.milliseconds, 1)), messageID: messageID, userID: userID),
            mandatory: true)
        let timer = Task { [waiting, queue] in
            try await Task.sleep(for: timeout)
            waiting.take(correlationID)?.resume(
                throwing: Failure(description: "no reply from \(queue) within \(timeout): is docflow serve running?"))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            waiting.put(correlationID, continuation)
            Task {
                do {
                    try await channel.publish(message)
                } catch AMQPError.unroutable {
                    waiting.take(correlationID)?.resume(
                        throwing: Failure(
                            description: "nothing consumes \(queue): is docflow serve running with that prefix?"))
                } catch {
                    waiting.take(correlationID)?.resume(throwing: error)
                }
            }
        }
    }
}

/// Requests waiting for their reply, by correlation id.
private final class Waiters: Sendable {
    private let state = Mutex<[String: CheckedContinuation<Data, any Error>]>([:])

    func put(_ id: String, _ continuation: CheckedContinuation<Data, any Error>) {
        state.withLock { $0[id] = continuation }
    }

    func take(_ id: String) -> CheckedContinuation<Data, any Error>? {
        state.withLock { $0.removeValue(forKey: id) }
    }

    func takeAll() -> [CheckedContinuation<Data, any Error>] {
        state.withLock { pending in
            defer { pending.removeAll() }
            return Array(pending.values)
        }
    }
}
