import CRabbitMQ
import Foundation

/// Frames the broker sends unasked: deliveries, confirms, returns, cancels and closes.
extension ConnectionLoop {
    func handle(_ frame: amqp_frame_t) {
        let number = frame.channel
        let method: IncomingMethod
        do {
            method = try IncomingMethod(frame)
        } catch {
            return connectionLost(error)
        }
        switch method {
        case .deliver(let consumerTag, let deliveryTag, let redelivered, let exchange, let routingKey):
            guard let (properties, body) = readContent(channel: number) else { return }
            guard let state = channels[number], let consumer = state.consumers[consumerTag], let owner else {
                logger.warning("delivery for an unknown consumer", metadata: ["consumer": "\(consumerTag)"])
                return
            }
            if !consumer.spec.noAck { state.acks.delivered(deliveryTag) }
            let delivery = AMQPDelivery(
                exchange: exchange, routingKey: routingKey, body: body, properties: properties,
                redelivered: redelivered, deliveryTag: deliveryTag, consumerTag: consumerTag,
                channel: AMQPChannel(connection: owner, number: number), generation: state.acks.generation)
            if let onDelivery = consumer.onDelivery {
                onDelivery(delivery)
            } else {
                consumer.continuation.yield(delivery)
            }
        case .ack(let tag, let multiple):
            confirmed(channel: number, tag: tag, multiple: multiple, nacked: false)
        case .nack(let tag, let multiple):
            confirmed(channel: number, tag: tag, multiple: multiple, nacked: true)
        case .return(let code, let text, let exchange, let routingKey):
            guard let (properties, _) = readContent(channel: number) else { return }
            channels[number]?.confirms.returned(
                exchange: exchange, routingKey: routingKey, messageID: properties.messageID,
                error: .unroutable(code: code, text: text))
        case .cancel(let tag):
            if let state = channels[number] {
                logger.warning("broker cancelled a consumer", metadata: ["consumer": "\(tag)"])
                removeConsumer(tag, from: state, finishing: AMQPError.consumerCancelled(tag))
            }
        case .channelClose(let code, let text):
            channelClosed(number, error: .channelClosed(code: code, text: text))
        case .connectionClose(let code, let text):
            sendConnectionCloseOK()
            connectionLost(.connectionClosed(code: code, text: text))
        case .connectionBlocked:
            logger.warning("broker blocked publishing (resource alarm)")
        case .connectionUnblocked:
            logger.info("broker unblocked publishing")
        case .ignored:
            break
        }
    }

    /// The header and body frames that follow a delivery or a return.
    private func readContent(channel: UInt16) -> (AMQPProperties, Data)? {
        guard let connection else { return nil }
        var message = amqp_message_t()
        let reply = amqp_read_message(connection, channel, &message, 0)
        if let error = check(reply, channel: channel) {
            if connection == self.connection { connectionLost(error) }
            return nil
        }
        defer { amqp_destroy_message(&message) }
        return (AMQPProperties(message.properties), message.body.data)
    }

    /// The broker closed a channel: answer it, fail what was in flight there, reopen it later.
    func channelClosed(_ number: UInt16, error: AMQPError) {
        if let connection {
            var ok = amqp_channel_close_ok_t(dummy: 0)
            _ = amqp_send_method(connection, number, Method.channelCloseOK, &ok)
        }
        logger.warning("broker closed a channel", metadata: ["channel": "\(number)", "error": "\(error)"])
        guard let state = channels[number] else { return }
        state.isOpen = false
        state.confirms.failAll(with: error, into: &outcomes)
        completeSettled()
        channelsToReopen.insert(number)
    }

    /// Answers the broker's `connection.close`, as the protocol requires before the socket closes.
    func sendConnectionCloseOK() {
        guard let connection else { return }
        var ok = amqp_connection_close_ok_t(dummy: 0)
        _ = amqp_send_method(connection, 0, Method.connectionCloseOK, &ok)
    }
}
