import CRabbitMQ

/// Settling deliveries: `DeliveryAcks` decides what to send and when; this sends it.
extension ConnectionLoop {
    func settle(_ settlement: Settlement, tag: UInt64, generation: UInt64, channel number: UInt16) {
        guard connection != nil, let state = channels[number], state.isOpen,
            state.acks.settle(settlement, tag: tag, generation: generation, into: &ackActions)
        else {
            logger.debug("not settling a delivery of an earlier connection; the broker requeued it")
            return
        }
        sendAckActions(channel: state)
    }

    /// Sends the acks coalesced while running commands: one `multiple` ack per channel, and the
    /// ones that came out of order.
    func flushAcks() {
        for state in channels.values where state.acks.hasPendingAcks {
            state.acks.flush(into: &ackActions)
            sendAckActions(channel: state)
        }
    }

    /// Sends `ackActions` in order on the channel, and empties it for reuse. A failure drops the
    /// connection, and the rest is not sent: the broker requeues what was not settled.
    private func sendAckActions(channel state: ChannelState) {
        defer { ackActions.removeAll(keepingCapacity: true) }
        guard state.isOpen else { return }
        for action in ackActions {
            guard let connection else { return }
            let status =
                switch action {
                case .ack(let tag, let multiple):
                    amqp_basic_ack(connection, state.number, tag, multiple ? 1 : 0)
                case .nack(let tag, let multiple, let requeue):
                    amqp_basic_nack(connection, state.number, tag, multiple ? 1 : 0, requeue ? 1 : 0)
                case .reject(let tag, let requeue):
                    amqp_basic_reject(connection, state.number, tag, requeue ? 1 : 0)
                }
            if status != AMQP_STATUS_OK.rawValue { return connectionLost(.library(status)) }
        }
    }
}
