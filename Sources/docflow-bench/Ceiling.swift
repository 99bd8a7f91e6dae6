import AMQPClient
import Foundation
import Synchronization

/// The ceiling: docflow's message pattern per execution on the same client library, without the
/// engine, SQLite or jq. A worker consumes each event from a quorum queue (as docflow's events
/// queue is), publishes the status events docflow would publish for it, persistent and
/// confirmed, to a topic exchange, and acks the event once they are confirmed. The last status
/// event names the event like docflow's `workflow.completed`, so the same monitor and closed loop
/// measure both.
final class Ceiling: Sendable {
    let eventsExchange: String
    let queue: String
    let statusExchange: String
    private let consumeChannel: AMQPChannel
    private let publishChannel: AMQPChannel
    private let statusMessages: Int
    private let bodyBytes: Int
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let failures = Atomic<Int>(0)

    /// Declares the ceiling's exchanges and queue under `prefix`.
    /// - Parameters:
    ///   - consuming, publishing: two connections of its own, as docflow has.
    ///   - statusMessages: how many status events docflow publishes per execution.
    ///   - bodyBytes: their average size.
    init(
        prefix: String, consuming: AMQPConnection, publishing: AMQPConnection, statusMessages: Int, bodyBytes: Int,
        prefetch: UInt16
    ) async throws {
        eventsExchange = "\(prefix).ceiling-events"
        queue = "\(prefix).ceiling"
        statusExchange = "\(prefix).ceiling-status"
        self.statusMessages = max(statusMessages, 1)
        self.bodyBytes = bodyBytes
        consumeChannel = try await consuming.openChannel()
        publishChannel = try await publishing.openChannel()
        try await consumeChannel.declare(AMQPExchange(eventsExchange, kind: .topic))
        try await consumeChannel.declare(AMQPExchange(statusExchange, kind: .topic))
        try await consumeChannel.declare(.quorum(queue))
        try await consumeChannel.bind(
            AMQPBinding(queue: queue, exchange: eventsExchange, routingKey: "document.uploaded"))
        try await consumeChannel.setPrefetch(prefetch)
        try await publishChannel.enableConfirms()
    }

    /// Starts the worker: each event is handled on the consuming connection's thread as it
    /// arrives (the library's fastest path, the one docflow's event consumer takes), its status
    /// events go out as one pipelined batch, and the event is acked once they are all confirmed
    /// (the client sends those acks as `multiple` ones).
    func start() async throws {
        let consumer = try await consumeChannel.consume(queue: queue) { [self] delivery in
            publishChannel.publish(batch: statusEvents(for: delivery)) { [self] results in
                if results.contains(where: { if case .failure = $0 { true } else { false } }) {
                    failures.add(1, ordering: .relaxed)
                }
                delivery.ack()
            }
        }
        let worker = Task {
            do {
                for try await _ in consumer {}
            } catch {
                FileHandle.standardError.write(Data("ceiling consumer stopped: \(error)\n".utf8))
            }
        }
        task.withLock { $0 = worker }
    }

    /// Events whose status events the broker did not all confirm.
    var failedPublishes: Int { failures.load(ordering: .relaxed) }

    /// The status events docflow would publish for one event, the last one naming the event.
    private func statusEvents(for delivery: AMQPDelivery) -> [AMQPMessage] {
        let eventID = Self.field("id", in: delivery.body) ?? "unknown"
        let executionID = UUID().uuidString.lowercased()
        let workflowID = "ceiling"
        var messages: [AMQPMessage] = []
        messages.reserveCapacity(statusMessages)
        for index in 0..<statusMessages {
            let event =
                index == 0
                ? "workflow.started" : index == statusMessages - 1 ? "workflow.completed" : "workflow.step.completed"
            let messageID = UUID().uuidString.lowercased()
            var body = #"{"data":{"execution_id":"\#(executionID)","trigger_data":{"event_id":"\#(eventID)"}},"#
            body += #""event":"\#(event)","id":"\#(messageID)","pad":""#
            body += String(repeating: "x", count: max(bodyBytes - body.utf8.count - 2, 0)) + #""}"#
            messages.append(
                AMQPMessage(
                    exchange: statusExchange, routingKey: "\(event).\(workflowID)", body: Data(body.utf8),
                    properties: AMQPProperties(
                        contentType: "application/json",
                        headers: ["workflow_id": .string(workflowID), "execution_id": .string(executionID)],
                        persistent: true, messageID: messageID, timestamp: UInt64(Date().timeIntervalSince1970))))
        }
        return messages
    }

    /// Stops the worker and deletes the ceiling's queue and exchanges.
    func stop() async {
        task.withLock { $0 }?.cancel()
        _ = try? await consumeChannel.deleteQueue(queue)
        try? await consumeChannel.deleteExchange(eventsExchange)
        try? await consumeChannel.deleteExchange(statusExchange)
    }

    /// A top-level string field of a compact JSON body, found without parsing (`"id":"…"`).
    static func field(_ name: String, in body: Data) -> String? {
        guard let text = String(data: body, encoding: .utf8), let range = text.range(of: "\"\(name)\":\"") else {
            return nil
        }
        let rest = text[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}
