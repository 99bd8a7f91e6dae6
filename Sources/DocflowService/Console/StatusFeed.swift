import DocflowCore
import DocflowStore
import Foundation
import Synchronization

/// The status events the relay puts on the status exchange, handed to the web console's
/// open `/ui/events` streams as they leave. Costs one atomic load per relayed round while
/// nobody watches; a watcher that falls behind loses its oldest events rather than growing.
package final class StatusFeed: Sendable {
    /// What a stream gets: an event's summary as JSON text, or a beat that keeps it open.
    package enum Item: Sendable, Equatable {
        case status(String)
        case heartbeat
    }

    private struct Watchers {
        var next = 0
        var continuations: [Int: AsyncStream<Item>.Continuation] = [:]
    }

    private let watchers = Mutex(Watchers())
    private let count = Atomic<Int>(0)
    /// Events a slow watcher may have waiting before its oldest are dropped.
    static let buffer = 256

    package init() {}

    /// Streams open now (browsers on `/ui/events`).
    package var watching: Int { count.load(ordering: .relaxed) }

    /// A stream of the events relayed from now on, and its id for `finish`.
    package func subscribe() -> (id: Int, stream: AsyncStream<Item>) {
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingNewest(Self.buffer))
        let id = watchers.withLock { watchers in
            defer { watchers.next += 1 }
            watchers.continuations[watchers.next] = continuation
            count.store(watchers.continuations.count, ordering: .relaxed)
            return watchers.next
        }
        return (id, stream)
    }

    /// Ends one stream.
    package func finish(_ id: Int) {
        let continuation = watchers.withLock { watchers in
            defer { count.store(watchers.continuations.count, ordering: .relaxed) }
            return watchers.continuations.removeValue(forKey: id)
        }
        continuation?.finish()
    }

    /// Ends every stream, as the HTTP port shuts down.
    package func finishAll() {
        let all = watchers.withLock { watchers in
            defer {
                watchers.continuations.removeAll()
                count.store(0, ordering: .relaxed)
            }
            return Array(watchers.continuations.values)
        }
        for continuation in all { continuation.finish() }
    }

    package func heartbeat(_ id: Int) {
        _ = watchers.withLock { $0.continuations[id] }?.yield(.heartbeat)
    }

    /// Called by the relay for each round it puts on the wire (a round sent again after a
    /// failure is seen again: the console only refreshes rows).
    package func relayed(_ batches: [OutboxBatch]) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        var items: [String] = []
        for batch in batches {
            for message in batch.messages {
                if let summary = Self.summary(message) { items.append(summary) }
            }
        }
        guard !items.isEmpty else { return }
        let all = watchers.withLock { Array($0.continuations.values) }
        for continuation in all {
            for item in items { continuation.yield(.status(item)) }
        }
    }

    /// `{event, kind, execution_id, workflow_id, status, error?, step_id?}` of an execution or
    /// step event; nil for tasks and definition changes.
    static func summary(_ message: OutboxMessage) -> String? {
        guard message.queue == nil, let executionID = message.executionID,
            let data = (try? JSONValue.parse(message.body))?["data"]
        else { return nil }
        let step = message.event.hasPrefix("workflow.step.")
        var fields: [String: JSONValue] = [
            "event": .string(message.event), "kind": step ? "step" : "execution",
            "execution_id": .string(executionID), "workflow_id": .string(message.workflowID),
            "status": data["status"] ?? .null, "error": data["error"] ?? .null,
        ]
        if step { fields["step_id"] = data["step_id"] ?? .null }
        return JSONValue.object(fields).encodedString()
    }
}
