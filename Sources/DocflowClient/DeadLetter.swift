import AMQPClient
import DocflowCore
import Foundation

/// A message waiting in `<prefix>.dead-letter`, read back: where it was going, why it is there and
/// since when, from docflow's headers (`x-docflow-error`, `x-docflow-original-exchange`,
/// `x-docflow-original-routing-key`, `x-docflow-dead-lettered-at`) or, for a message the broker
/// dead-lettered itself (at a delivery limit, an expiry), from its `x-death` and `x-first-death-*`.
public struct DeadLetter: Sendable {
    public let body: Data
    public let properties: AMQPProperties
    /// The routing key it came to the dead-letter queue with: its original one.
    public let routingKey: String
    /// Whether it was read before (a listing gives every message back).
    public let redelivered: Bool
    /// Its delivery tag on the channel that read it, for `DeadLetterQueue` to settle it.
    public let deliveryTag: UInt64
    /// Its `message_id`, or for a message without one `body-` and a digest of its body: the same
    /// message reads the same id at every listing.
    public let id: String
    /// Where it was published; nil when neither docflow's nor the broker's headers say.
    public let destination: Destination?
    /// Why: docflow's sentence, or the broker's reason and queue (`broker: delivery_limit in docflow.api`).
    public let reason: String
    /// When it was dead-lettered; for a docflow dead letter of an older version, when it was
    /// published, if its publisher said.
    public let deadLetteredAt: Date?

    /// An exchange and a routing key; the default exchange is `""`.
    public struct Destination: Sendable, Equatable, CustomStringConvertible {
        public let exchange: String
        public let routingKey: String

        public init(exchange: String, routingKey: String) {
            self.exchange = exchange
            self.routingKey = routingKey
        }

        /// `exchange → routing key`, the default exchange as `(default)`.
        public var description: String { "\(exchange.isEmpty ? "(default)" : exchange) → \(routingKey)" }
    }

    /// The headers dead-lettering added, which a replay leaves out: docflow's, the broker's, and
    /// a quorum queue's delivery count.
    public static let deadLetterHeaders: Set<String> = [
        "x-docflow-error", "x-docflow-original-exchange", "x-docflow-original-routing-key",
        "x-docflow-dead-lettered-at", "x-death", "x-first-death-reason", "x-first-death-queue",
        "x-first-death-exchange", "x-last-death-reason", "x-last-death-queue", "x-last-death-exchange",
        "x-delivery-count",
    ]

    /// A message read from the dead-letter queue.
    public init(_ delivery: AMQPDelivery) {
        self.init(
            body: delivery.body, properties: delivery.properties, routingKey: delivery.routingKey,
            redelivered: delivery.redelivered, deliveryTag: delivery.deliveryTag)
    }

    public init(
        body: Data, properties: AMQPProperties, routingKey: String, redelivered: Bool = false, deliveryTag: UInt64 = 0
    ) {
        self.body = body
        self.properties = properties
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.deliveryTag = deliveryTag
        let headers = properties.headers
        id = properties.messageID.flatMap { $0.isEmpty ? nil : $0 } ?? "body-" + Self.digest(body)
        let firstDeath = Self.firstDeath(headers)
        if let exchange = headers["x-docflow-original-exchange"]?.stringValue,
            let routingKey = headers["x-docflow-original-routing-key"]?.stringValue
        {
            destination = Destination(exchange: exchange, routingKey: routingKey)
        } else if let exchange = headers["x-first-death-exchange"]?.stringValue ?? firstDeath?["exchange"]?.stringValue
        {
            let routingKey: String
            if case .array(let keys)? = firstDeath?["routing-keys"], let first = keys.first?.stringValue {
                routingKey = first
            } else {
                routingKey = self.routingKey
            }
            destination = Destination(exchange: exchange, routingKey: routingKey)
        } else {
            destination = nil
        }
        if let error = headers["x-docflow-error"]?.stringValue {
            reason = error
        } else if let brokerReason = headers["x-first-death-reason"]?.stringValue ?? firstDeath?["reason"]?.stringValue
        {
            let queue = headers["x-first-death-queue"]?.stringValue ?? firstDeath?["queue"]?.stringValue
            reason = "broker: \(brokerReason)" + (queue.map { " in \($0)" } ?? "")
        } else {
            reason = "unknown: no x-docflow-error or x-death header"
        }
        if case .timestamp(let seconds)? = headers["x-docflow-dead-lettered-at"] {
            deadLetteredAt = Date(timeIntervalSince1970: Double(seconds))
        } else if case .timestamp(let seconds)? = firstDeath?["time"] {
            deadLetteredAt = Date(timeIntervalSince1970: Double(seconds))
        } else {
            deadLetteredAt = properties.timestamp.map { Date(timeIntervalSince1970: Double($0)) }
        }
    }

    /// The body's size in bytes.
    public var size: Int { body.count }

    /// The message to publish to replay it: to its destination, with its body and properties and
    /// without the dead-letter headers; mandatory, so that a destination no queue takes fails
    /// instead of dropping it. nil when the destination is unknown.
    public var replay: AMQPMessage? {
        guard let destination else { return nil }
        var properties = self.properties
        properties.headers = properties.headers.filter { !Self.deadLetterHeaders.contains($0.key) }
        return AMQPMessage(
            exchange: destination.exchange, routingKey: destination.routingKey, body: body,
            properties: properties, mandatory: true)
    }

    /// The entry of `x-death` about the first dead-lettering: the one naming `x-first-death-queue`
    /// and `-reason`, else the last (the broker puts the newest first).
    private static func firstDeath(_ headers: [String: AMQPFieldValue]) -> [String: AMQPFieldValue]? {
        guard case .array(let entries)? = headers["x-death"] else { return nil }
        let tables = entries.compactMap { entry -> [String: AMQPFieldValue]? in
            if case .table(let table) = entry { return table }
            return nil
        }
        let queue = headers["x-first-death-queue"]?.stringValue
        let reason = headers["x-first-death-reason"]?.stringValue
        return tables.first { queue != nil && $0["queue"]?.stringValue == queue && $0["reason"]?.stringValue == reason }
            ?? tables.last
    }

    /// FNV-1a, 64 bits, in hex: a stable name for a body, not a security measure.
    static func digest(_ body: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension AMQPFieldValue {
    /// As JSON, for showing: bytes as text when they are UTF-8 (else base64), timestamps in RFC 3339.
    public var jsonValue: JSONValue {
        switch self {
        case .bool(let value): .bool(value)
        case .int(let value): .number(Double(value))
        case .double(let value): .number(value)
        case .string(let value): .string(value)
        case .bytes(let bytes):
            String(validating: bytes, as: UTF8.self).map { .string($0) } ?? .string(Data(bytes).base64EncodedString())
        case .timestamp(let seconds): .string(RFC3339.string(from: Date(timeIntervalSince1970: Double(seconds))))
        case .array(let values): .array(values.map(\.jsonValue))
        case .table(let table): .object(table.mapValues(\.jsonValue))
        case .void: .null
        }
    }
}
