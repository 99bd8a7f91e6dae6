import CRabbitMQ
import Foundation

/// The basic properties of a message. Unset fields are not sent.
public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    public var contentEncoding: String?
    public var headers: [String: AMQPFieldValue]
    /// `true` for delivery mode 2: the broker writes the message to disk in durable queues.
    public var persistent: Bool
    public var priority: UInt8?
    public var correlationID: String?
    public var replyTo: String?
    public var expiration: String?
    public var messageID: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    public var type: String?
    public var userID: String?
    public var appID: String?

    public init(
        contentType: String? = nil, contentEncoding: String? = nil, headers: [String: AMQPFieldValue] = [:],
        persistent: Bool = false, priority: UInt8? = nil, correlationID: String? = nil, replyTo: String? = nil,
        expiration: String? = nil, messageID: String? = nil, timestamp: UInt64? = nil, type: String? = nil,
        userID: String? = nil, appID: String? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.persistent = persistent
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.userID = userID
        self.appID = appID
    }
}

extension AMQPProperties {
    init(_ c: amqp_basic_properties_t) {
        let flags = c._flags
        func has(_ flag: Int32) -> Bool { flags & amqp_flags_t(flag) != 0 }
        self.init(
            contentType: has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? c.content_type.string : nil,
            contentEncoding: has(AMQP_BASIC_CONTENT_ENCODING_FLAG) ? c.content_encoding.string : nil,
            headers: has(AMQP_BASIC_HEADERS_FLAG) ? c.headers.swiftValue : [:],
            persistent: has(AMQP_BASIC_DELIVERY_MODE_FLAG) && c.delivery_mode == 2,
            priority: has(AMQP_BASIC_PRIORITY_FLAG) ? c.priority : nil,
            correlationID: has(AMQP_BASIC_CORRELATION_ID_FLAG) ? c.correlation_id.string : nil,
            replyTo: has(AMQP_BASIC_REPLY_TO_FLAG) ? c.reply_to.string : nil,
            expiration: has(AMQP_BASIC_EXPIRATION_FLAG) ? c.expiration.string : nil,
            messageID: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? c.message_id.string : nil,
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG) ? c.timestamp : nil,
            type: has(AMQP_BASIC_TYPE_FLAG) ? c.type.string : nil,
            userID: has(AMQP_BASIC_USER_ID_FLAG) ? c.user_id.string : nil,
            appID: has(AMQP_BASIC_APP_ID_FLAG) ? c.app_id.string : nil
        )
    }

    func cValue(in arena: CArena) -> amqp_basic_properties_t {
        var c = amqp_basic_properties_t()
        var flags: Int32 = 0
        func set(_ value: String?, _ flag: Int32, _ field: WritableKeyPath<amqp_basic_properties_t, amqp_bytes_t>) {
            guard let value else { return }
            c[keyPath: field] = arena.bytes(value)
            flags |= flag
        }
        set(contentType, AMQP_BASIC_CONTENT_TYPE_FLAG, \.content_type)
        set(contentEncoding, AMQP_BASIC_CONTENT_ENCODING_FLAG, \.content_encoding)
        set(correlationID, AMQP_BASIC_CORRELATION_ID_FLAG, \.correlation_id)
        set(replyTo, AMQP_BASIC_REPLY_TO_FLAG, \.reply_to)
        set(expiration, AMQP_BASIC_EXPIRATION_FLAG, \.expiration)
        set(messageID, AMQP_BASIC_MESSAGE_ID_FLAG, \.message_id)
        set(type, AMQP_BASIC_TYPE_FLAG, \.type)
        set(userID, AMQP_BASIC_USER_ID_FLAG, \.user_id)
        set(appID, AMQP_BASIC_APP_ID_FLAG, \.app_id)
        if !headers.isEmpty {
            c.headers = arena.table(headers)
            flags |= AMQP_BASIC_HEADERS_FLAG
        }
        if persistent {
            c.delivery_mode = 2
            flags |= AMQP_BASIC_DELIVERY_MODE_FLAG
        }
        if let priority {
            c.priority = priority
            flags |= AMQP_BASIC_PRIORITY_FLAG
        }
        if let timestamp {
            c.timestamp = timestamp
            flags |= AMQP_BASIC_TIMESTAMP_FLAG
        }
        c._flags = amqp_flags_t(flags)
        return c
    }
}

/// A message to publish.
public struct AMQPMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: Data
    public var properties: AMQPProperties
    /// Ask the broker to return the message when no queue takes it; `publish` then throws `unroutable`.
    public var mandatory: Bool

    public init(
        exchange: String = "", routingKey: String, body: Data, properties: AMQPProperties = AMQPProperties(),
        mandatory: Bool = false
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
        self.mandatory = mandatory
    }
}

/// A message the broker delivered to a consumer. Settle it once with `ack`, `nack` or `reject`.
public struct AMQPDelivery: Sendable {
    public let exchange: String
    public let routingKey: String
    public let body: Data
    public let properties: AMQPProperties
    public let redelivered: Bool
    public let deliveryTag: UInt64
    public let consumerTag: String
    public let channel: AMQPChannel
    /// Which connection incarnation delivered this; settling a delivery of an earlier one is a no-op
    /// because the broker already requeued it when that connection closed.
    let generation: UInt64

    public func ack(multiple: Bool = false) {
        channel.settle(.ack(multiple: multiple), tag: deliveryTag, generation: generation)
    }

    public func nack(requeue: Bool, multiple: Bool = false) {
        channel.settle(.nack(multiple: multiple, requeue: requeue), tag: deliveryTag, generation: generation)
    }

    public func reject(requeue: Bool) {
        channel.settle(.reject(requeue: requeue), tag: deliveryTag, generation: generation)
    }
}

enum Settlement: Sendable {
    case ack(multiple: Bool)
    case nack(multiple: Bool, requeue: Bool)
    case reject(requeue: Bool)
}
