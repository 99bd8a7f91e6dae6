import AMQPClient
import Foundation
import Synchronization

/// A monitoring consumer of a status exchange: an exclusive queue bound with `#`, so every
/// status event is really delivered. It hands each `workflow.completed` (or `.failed`) to the
/// current `Flight`, by the `event_id` of its trigger data, and counts the status events that
/// belong to executions, so a warm-up can tell how many one execution publishes.
final class StatusMonitor: Sendable {
    /// Status events that carried an `execution_id` header, and their body bytes.
    struct Counts: Sendable {
        var executionEvents = 0
        var executionEventBytes = 0
        var endings = 0
    }

    let queue: String
    private let channel: AMQPChannel
    /// Shared with the delivery handler on the connection's thread.
    private final class Shared: Sendable {
        let flight = Mutex<Flight?>(nil)
        let counts = Mutex(Counts())
    }

    private let shared = Shared()
    private let consumer: AMQPConsumer
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Declares and binds the queue on `connection` (a connection of its own) and starts consuming.
    init(connection: AMQPConnection, exchange: String, queue: String) async throws {
        let channel = try await connection.openChannel()
        try await channel.declare(AMQPQueue(queue, durable: false, exclusive: true, autoDelete: true))
        try await channel.bind(AMQPBinding(queue: queue, exchange: exchange, routingKey: "#"))
        // noAck: a monitoring consumer that settles nothing, as the broker's fastest path; each
        // delivery is handled on the connection's thread, as it arrives.
        let shared = self.shared
        let consumer = try await channel.consume(queue: queue, noAck: true, exclusive: true) { delivery in
            let now = Nanos.now()
            let isExecutionEvent = delivery.properties.headers["execution_id"] != nil
            let key = delivery.routingKey
            let completed = key.hasPrefix("workflow.completed.")
            let ending = completed || key.hasPrefix("workflow.failed.") || key.hasPrefix("workflow.cancelled.")
            shared.counts.withLock { counts in
                if isExecutionEvent {
                    counts.executionEvents += 1
                    counts.executionEventBytes += delivery.body.count
                }
                if ending { counts.endings += 1 }
            }
            guard ending, let eventID = Self.eventID(in: delivery.body) else { return }
            shared.flight.withLock { $0 }?.complete(eventID, at: now, failed: !completed)
        }
        self.channel = channel
        self.queue = queue
        self.consumer = consumer
        let task = Task {
            do {
                for try await _ in consumer {}
            } catch {
                FileHandle.standardError.write(Data("status consumer of \(queue) stopped: \(error)\n".utf8))
            }
        }
        self.task.withLock { $0 = task }
    }

    /// From now on, completions go to `flight`.
    func follow(_ flight: Flight?) {
        shared.flight.withLock { $0 = flight }
    }

    var totals: Counts { shared.counts.withLock { $0 } }

    /// Stops consuming and deletes the queue.
    func stop() async {
        try? await consumer.cancel()
        task.withLock { $0 }?.cancel()
        _ = try? await channel.deleteQueue(queue)
    }

    /// The first `"event_id":"…"` of a body. docflow writes compact JSON, and in the benchmark's
    /// workflow only `trigger_data` holds that key, so a byte search finds it without parsing the log.
    static func eventID(in body: Data) -> String? {
        let needle = Array(#""event_id":""#.utf8)
        return body.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard bytes.count > needle.count else { return nil }
            var i = 0
            let last = bytes.count - needle.count
            while i <= last {
                if bytes[i] == needle[0] {
                    var match = true
                    for j in 1..<needle.count where bytes[i + j] != needle[j] {
                        match = false
                        break
                    }
                    if match {
                        let start = i + needle.count
                        var end = start
                        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
                        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                    }
                }
                i += 1
            }
            return nil
        }
    }
}
