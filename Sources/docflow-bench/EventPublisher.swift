import AMQPClient
import DocflowCore
import Foundation
import Synchronization

/// Publishes platform events, persistent and confirmed, without making its callers wait.
///
/// `send` puts its messages on the wire at once, from the caller's thread, and their confirms are
/// counted on the connection's thread: no task and no thread hop of the benchmark's own per event,
/// so the load generator takes as little as it can of the CPU it shares with what it measures.
/// Refused publishes are counted.
final class EventPublisher: Sendable {
    let exchange: String
    let routingKey: String
    /// The `data` of every event, as JSON text; nil: `{"amount", "document_id"}` varying by event.
    let data: String?
    private let channel: AMQPChannel
    private let state = Mutex(State())

    private struct State {
        var unconfirmed = 0
        var failed = 0
        var lastError: String?
    }

    /// - Parameter channel: a channel of a connection used for nothing else.
    init(channel: AMQPChannel, exchange: String, routingKey: String, data: String? = nil) async throws {
        try await channel.enableConfirms()
        self.channel = channel
        self.exchange = exchange
        self.routingKey = routingKey
        self.data = data
    }

    /// A `document.uploaded` event as the platform would publish it.
    func message(eventID: String, sequence: Int) -> AMQPMessage {
        let data = self.data ?? #"{"amount":\#(sequence % 100 + 1),"document_id":"doc-\#(sequence)"}"#
        let body =
            #"{"data":\#(data),"event":"document.uploaded","#
            + #""id":"\#(eventID)","timestamp":"\#(RFC3339.string(from: Date()))"}"#
        return AMQPMessage(
            exchange: exchange, routingKey: routingKey, body: Data(body.utf8),
            properties: AMQPProperties(
                contentType: "application/json", persistent: true, messageID: eventID,
                timestamp: UInt64(Date().timeIntervalSince1970)))
    }

    /// Publishes messages, pipelined, in this order.
    func send(_ messages: [AMQPMessage]) {
        guard !messages.isEmpty else { return }
        state.withLock { $0.unconfirmed += messages.count }
        channel.publish(batch: messages) { [self] results in
            state.withLock { state in
                state.unconfirmed -= results.count
                for case .failure(let error) in results {
                    state.failed += 1
                    state.lastError = "\(error)"
                }
            }
        }
    }

    /// How many publishes the broker refused or lost, and the last reason.
    var failures: (count: Int, lastError: String?) {
        state.withLock { ($0.failed, $0.lastError) }
    }

    /// Waits until everything sent so far is confirmed (or refused).
    func waitUntilConfirmed(timeout: Duration = .seconds(60)) async {
        let deadline = Nanos.now() + UInt64(timeout.components.seconds) * 1_000_000_000
        while state.withLock({ $0.unconfirmed }) > 0, Nanos.now() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Returns once what was sent is confirmed.
    func stop() async {
        await waitUntilConfirmed()
    }
}
