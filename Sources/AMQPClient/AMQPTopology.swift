/// An exchange to declare.
public struct AMQPExchange: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case direct, fanout, topic, headers
    }

    public var name: String
    public var kind: Kind
    public var durable: Bool
    public var autoDelete: Bool
    public var isInternal: Bool
    public var arguments: [String: AMQPFieldValue]

    public init(
        _ name: String, kind: Kind, durable: Bool = true, autoDelete: Bool = false, isInternal: Bool = false,
        arguments: [String: AMQPFieldValue] = [:]
    ) {
        self.name = name
        self.kind = kind
        self.durable = durable
        self.autoDelete = autoDelete
        self.isInternal = isInternal
        self.arguments = arguments
    }
}

/// A queue to declare. An empty name asks the broker to name it.
public struct AMQPQueue: Sendable, Hashable {
    public var name: String
    public var durable: Bool
    public var exclusive: Bool
    public var autoDelete: Bool
    public var arguments: [String: AMQPFieldValue]

    public init(
        _ name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
        arguments: [String: AMQPFieldValue] = [:]
    ) {
        self.name = name
        self.durable = durable
        self.exclusive = exclusive
        self.autoDelete = autoDelete
        self.arguments = arguments
    }

    /// A durable quorum queue; `deliveryLimit` dead-letters a message after that many redeliveries.
    public static func quorum(
        _ name: String, deliveryLimit: Int? = nil, deadLetterExchange: String? = nil,
        arguments: [String: AMQPFieldValue] = [:]
    ) -> AMQPQueue {
        var arguments = arguments
        arguments["x-queue-type"] = "quorum"
        if let deliveryLimit { arguments["x-delivery-limit"] = .int(Int64(deliveryLimit)) }
        if let deadLetterExchange { arguments["x-dead-letter-exchange"] = .string(deadLetterExchange) }
        return AMQPQueue(name, durable: true, arguments: arguments)
    }
}

/// The broker's answer to a queue declaration.
public struct AMQPQueueInfo: Sendable, Equatable {
    public let name: String
    public let messageCount: UInt32
    public let consumerCount: UInt32
}

/// A binding of a queue to an exchange.
public struct AMQPBinding: Sendable, Hashable {
    public var queue: String
    public var exchange: String
    public var routingKey: String
    public var arguments: [String: AMQPFieldValue]

    public init(queue: String, exchange: String, routingKey: String, arguments: [String: AMQPFieldValue] = [:]) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
        self.arguments = arguments
    }
}

/// What the connection declares again, in order, after it reconnects.
enum TopologyItem: Sendable, Hashable {
    case exchange(AMQPExchange)
    case queue(AMQPQueue)
    case binding(AMQPBinding)
}
