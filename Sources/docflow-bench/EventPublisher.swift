import AMQPClient
import DocflowCore
import Foundation
import Synchronization

/// Publishes platform events, persistent and confirmed, without making its callers wait.
///
/// `send` only queues; one flusher takes everything queued as one pipelined batch and keeps up
/// to `window` batches unconfirmed at once, so events queued in the same instant travel
/// together and a slow confirm never delays the next send. Refused publishes are counted.
final class EventPublisher: Sendable {
    let exchange: String
    let routingKey: String
    private let channel: AMQPChannel
    private let window: AsyncSemaphore
    private let wakeup = WakeSignal()
    private let state = Mutex(State())
    private let flusher: Mutex<Task<Void, Never>?> = Mutex(nil)

    private struct State {
        var queued: [AMQPMessage] = []
        var unconfirmed = 0
        var failed = 0
        var lastError: String?
        var stopped = false
    }

    /// - Parameter channel: a channel of a connection used for nothing else.
    init(channel: AMQPChannel, exchange: String, routingKey: String, window: Int = 16) async throws {
        try await channel.enableConfirms()
        self.channel = channel
        self.exchange = exchange
        self.routingKey = routingKey
        self.window = AsyncSemaphore(window)
        let task = Task { [self] in await flushLoop() }
        flusher.withLock { $0 = task }
    }

    /// A `document.uploaded` event as the platform would publish it.
    func message(eventID: String, sequence: Int) -> AMQPMessage {
        let amount = sequence % 100 + 1
        let body =
            #"{"data":{"amount":\#(amount),"document_id":"doc-\#(sequence)"},"event":"document.uploaded","#
            + #""id":"\#(eventID)","timestamp":"\#(RFC3339.string(from: Date()))"}"#
        return AMQPMessage(
            exchange: exchange, routingKey: routingKey, body: Data(body.utf8),
            properties: AMQPProperties(
                contentType: "application/json", persistent: true, messageID: eventID,
                timestamp: UInt64(Date().timeIntervalSince1970)))
    }

    /// Queues messages for the next batch.
    func send(_ messages: [AMQPMessage]) {
        guard !messages.isEmpty else { return }
        state.withLock { state in
            state.queued.append(contentsOf: messages)
            state.unconfirmed += messages.count
        }
        wakeup.signal()
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

    /// Stops the flusher once what is queued is published and confirmed.
    func stop() async {
        await waitUntilConfirmed()
        state.withLock { $0.stopped = true }
        wakeup.signal()
        await flusher.withLock { $0 }?.value
    }

    private func flushLoop() async {
        await withDiscardingTaskGroup { group in
            while true {
                let (batch, stopped) = state.withLock { state in
                    defer { state.queued.removeAll(keepingCapacity: true) }
                    return (state.queued, state.stopped)
                }
                if batch.isEmpty {
                    if stopped { return }
                    await wakeup.wait(timeout: .milliseconds(200))
                    continue
                }
                await window.acquire()
                group.addTask { [self] in
                    let results = await channel.publish(batch: batch)
                    window.release()
                    state.withLock { state in
                        state.unconfirmed -= batch.count
                        for case .failure(let error) in results {
                            state.failed += 1
                            state.lastError = "\(error)"
                        }
                    }
                }
            }
        }
    }
}
