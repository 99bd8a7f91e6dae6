import AMQPClient
import DocflowClient
import DocflowCore
import Foundation

/// The dead-letter queue as the console reads it, through `DeadLetterQueue` (the same reading
/// and replay as `docflow dead-letters`), on two channels of the server's own connections,
/// opened at first use. One look or replay at a time: each reads the waiting messages, holds
/// them unsettled, and gives back all it did not replay before the next one starts.
actor ConsoleDeadLetters {
    private let names: Names
    private let reading: AMQPConnection?
    private let publishing: AMQPConnection?
    private var queue: DeadLetterQueue?
    /// Messages one page shows.
    static let limit = 200

    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    struct Listing {
        var letters: [DeadLetter]
        var more: Int
    }

    init(names: Names, reading: AMQPConnection?, publishing: AMQPConnection?) {
        self.names = names
        self.reading = reading
        self.publishing = publishing
    }

    var queueName: String { names.deadLetterQueue }

    /// The messages waiting, oldest first, up to `limit`, and how many more wait.
    func list() async throws -> Listing {
        try await withQueue { queue in
            let letters = try await queue.read(limit: Self.limit)
            return Listing(letters: letters, more: try await queue.depth())
        }
    }

    /// Replays the messages with `id` (as the list shows it) and returns their destinations;
    /// throws when there is none, or one would not go.
    func replay(id: String) async throws -> [String] {
        try await withQueue { queue in
            let letters = try await queue.read().filter { $0.id == id }
            guard !letters.isEmpty else { throw Problem(description: "no message \(id) in \(queue.name)") }
            var destinations: [String] = []
            for letter in letters {
                try await queue.replay(letter)
                destinations.append(letter.destination?.description ?? "?")
            }
            return destinations
        }
    }

    private func withQueue<T: Sendable>(_ body: (DeadLetterQueue) async throws -> T) async throws -> T {
        guard let reading, let publishing else {
            throw Problem(description: "this server has no broker connection to read them with")
        }
        let queue: DeadLetterQueue
        if let open = self.queue {
            queue = open
        } else {
            queue = try await DeadLetterQueue(names: names, reading: reading, publishing: publishing)
            self.queue = queue
        }
        do {
            let result = try await body(queue)
            queue.release()
            return result
        } catch {
            queue.release()
            // A channel the broker closed stays closed: the next look opens new ones.
            if !(error is DeadLetterQueue.Failure), !(error is Problem) { self.queue = nil }
            throw error
        }
    }
}

extension DeadLetter {
    /// A row of the console's list.
    func consoleRow() -> JSONValue {
        let text = String(validating: body, as: UTF8.self) ?? "(\(size) bytes, not UTF-8)"
        let preview = text.count > 600 ? String(text.prefix(600)) + "…" : text
        return .object([
            "id": .string(id), "destination": .string(destination?.description ?? "unknown"),
            "dead_lettered_at": .string(deadLetteredAt.map { RFC3339.string(from: $0) } ?? "unknown"),
            "size": .number(Double(size)), "reason": .string(reason), "body": .string(preview),
            "replayable": .bool(destination != nil),
        ])
    }
}
