import CRabbitMQ

/// A method the broker sends unasked, decoded into Swift values. A frame that does not decode is
/// an `AMQPError` (the connection is then dropped and made again), never a crash.
enum IncomingMethod: Equatable {
    case deliver(consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
    case ack(deliveryTag: UInt64, multiple: Bool)
    case nack(deliveryTag: UInt64, multiple: Bool)
    case `return`(code: UInt16, text: String, exchange: String, routingKey: String)
    case cancel(consumerTag: String)
    case channelClose(code: UInt16, text: String)
    case connectionClose(code: UInt16, text: String)
    case connectionBlocked
    case connectionUnblocked
    /// One the connection does not act on.
    case ignored(amqp_method_number_t)

    /// Decodes a frame read outside a synchronous command. Content frames only come right after
    /// the method they belong to (and are read with it), so one here is a protocol error.
    init(_ frame: amqp_frame_t) throws(AMQPError) {
        switch Int32(frame.frame_type) {
        case AMQP_FRAME_METHOD:
            try self.init(id: frame.payload.method.id, decoded: frame.payload.method.decoded)
        case AMQP_FRAME_HEARTBEAT:
            self = .ignored(0)
        default:
            throw .connectionFailed("unexpected frame of type \(frame.frame_type) on channel \(frame.channel)")
        }
    }

    /// Decodes a method from its id and the arguments rabbitmq-c decoded for it.
    init(id: amqp_method_number_t, decoded: UnsafeMutableRawPointer?) throws(AMQPError) {
        func arguments<T>(_: T.Type) throws(AMQPError) -> T {
            guard let decoded else {
                throw .connectionFailed("method \(Method.name(id)) arrived without its arguments")
            }
            return decoded.assumingMemoryBound(to: T.self).pointee
        }
        switch id {
        case Method.basicDeliver:
            let deliver = try arguments(amqp_basic_deliver_t.self)
            self = .deliver(
                consumerTag: deliver.consumer_tag.string, deliveryTag: deliver.delivery_tag,
                redelivered: deliver.redelivered != 0, exchange: deliver.exchange.string,
                routingKey: deliver.routing_key.string)
        case Method.basicAck:
            let ack = try arguments(amqp_basic_ack_t.self)
            self = .ack(deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0)
        case Method.basicNack:
            let nack = try arguments(amqp_basic_nack_t.self)
            self = .nack(deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0)
        case Method.basicReturn:
            let returned = try arguments(amqp_basic_return_t.self)
            self = .return(
                code: returned.reply_code, text: returned.reply_text.string, exchange: returned.exchange.string,
                routingKey: returned.routing_key.string)
        case Method.basicCancel:
            self = .cancel(consumerTag: try arguments(amqp_basic_cancel_t.self).consumer_tag.string)
        case Method.channelClose:
            let close = try arguments(amqp_channel_close_t.self)
            self = .channelClose(code: close.reply_code, text: close.reply_text.string)
        case Method.connectionClose:
            let close = try arguments(amqp_connection_close_t.self)
            self = .connectionClose(code: close.reply_code, text: close.reply_text.string)
        case Method.connectionBlocked:
            self = .connectionBlocked
        case Method.connectionUnblocked:
            self = .connectionUnblocked
        default:
            self = .ignored(id)
        }
    }
}

/// Method ids; rabbitmq-c defines them as macros Swift does not import.
enum Method {
    static let connectionClose: amqp_method_number_t = 0x000A_0032
    static let connectionCloseOK: amqp_method_number_t = 0x000A_0033
    static let connectionBlocked: amqp_method_number_t = 0x000A_003C
    static let connectionUnblocked: amqp_method_number_t = 0x000A_003D
    static let channelClose: amqp_method_number_t = 0x0014_0028
    static let channelCloseOK: amqp_method_number_t = 0x0014_0029
    static let basicCancel: amqp_method_number_t = 0x003C_001E
    static let basicReturn: amqp_method_number_t = 0x003C_0032
    static let basicDeliver: amqp_method_number_t = 0x003C_003C
    static let basicGetOK: amqp_method_number_t = 0x003C_0047
    static let basicAck: amqp_method_number_t = 0x003C_0050
    static let basicNack: amqp_method_number_t = 0x003C_0078

    /// rabbitmq-c's name for a method, such as `AMQP_BASIC_ACK_METHOD`, for messages.
    static func name(_ id: amqp_method_number_t) -> String {
        guard let name = amqp_method_name(id) else { return "\(id)" }
        return String(cString: name)
    }
}
