/// How large the messages docflow sends and the outputs it keeps may be. A status event, an API
/// reply over AMQP and an outbox row stay under `maxMessageBytes`, well under the broker's own
/// limit (RabbitMQ refuses a larger message and closes the channel); a step output over
/// `maxStepOutputBytes` fails its step.
package struct MessageLimits: Sendable, Equatable {
    /// The largest message docflow publishes or accepts, in bytes.
    package var maxMessageBytes: Int
    /// The largest output a step may produce, in bytes of JSON.
    package var maxStepOutputBytes: Int

    /// A step's or an execution's error message is cut to this many bytes of UTF-8: a jq
    /// program's `error(...)` may carry any amount of data.
    package static let maxErrorBytes = 4096

    package init(maxMessageBytes: Int = 4 * 1024 * 1024, maxStepOutputBytes: Int = 16 * 1024 * 1024) {
        self.maxMessageBytes = maxMessageBytes
        self.maxStepOutputBytes = maxStepOutputBytes
    }

    /// `message` cut to `maxErrorBytes` at a character boundary, saying how much was cut.
    package static func errorText(_ message: String) -> String {
        guard message.utf8.count > maxErrorBytes else { return message }
        let cap = maxErrorBytes - 64
        var end = message.startIndex
        var bytes = 0
        for character in message {
            let size = character.utf8.count
            guard bytes + size <= cap else { break }
            bytes += size
            end = message.index(after: end)
        }
        return "\(message[..<end])… (\(message.utf8.count - bytes) more bytes cut)"
    }
}
