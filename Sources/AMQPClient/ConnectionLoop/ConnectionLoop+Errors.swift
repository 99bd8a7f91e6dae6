import CRabbitMQ

extension ConnectionLoop {
    /// Turns an RPC reply into an error, answering channel and connection closes as the
    /// protocol requires.
    func check(_ reply: amqp_rpc_reply_t, channel: UInt16) -> AMQPError? {
        guard let error = Self.error(of: reply) else { return nil }
        switch error {
        case .channelClosed:
            channelClosed(channel, error: error)
        case .connectionClosed:
            sendConnectionCloseOK()
            connectionLost(error)
        case .library(let status, _) where status == AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue:
            // rabbitmq-c noticed it first, waiting for a reply: the same news as from the monitor.
            let missed = missedHeartbeats()
            connectionLost(missed)
            return missed
        default:
            connectionLost(error)
        }
        return error
    }

    /// The error an RPC reply stands for; nil when it is a normal reply.
    static func error(of reply: amqp_rpc_reply_t) -> AMQPError? {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return .library(reply.library_error)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            let method: IncomingMethod
            do {
                method = try IncomingMethod(id: reply.reply.id, decoded: reply.reply.decoded)
            } catch {
                return error
            }
            switch method {
            case .channelClose(let code, let text):
                return .channelClosed(code: code, text: text)
            case .connectionClose(let code, let text):
                return .connectionClosed(code: code, text: text)
            default:
                return .connectionFailed("unexpected server method \(Method.name(reply.reply.id))")
            }
        default:
            return .connectionFailed("no reply from the broker")
        }
    }
}
