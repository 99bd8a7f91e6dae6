extension ConnectionLoop {
    /// One channel as the connection's thread knows it: its settings, to open it again after a
    /// reconnect, its consumers, and the bookkeeping of its acks and confirms.
    final class ChannelState {
        let number: UInt16
        var isOpen = false
        var prefetch: UInt16?
        var confirmMode = false
        var consumers: [String: Consumer] = [:]
        var consumerOrder: [String] = []
        var acks = DeliveryAcks()
        var confirms = PublishConfirms<Completion<Void>>()

        init(number: UInt16) { self.number = number }
    }

    final class Consumer {
        let spec: ConsumerSpec
        let continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation
        /// When set, deliveries go to it on this thread instead of into the sequence.
        let onDelivery: (@Sendable (AMQPDelivery) -> Void)?

        init(
            spec: ConsumerSpec, continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation,
            onDelivery: (@Sendable (AMQPDelivery) -> Void)?
        ) {
            self.spec = spec
            self.continuation = continuation
            self.onDelivery = onDelivery
        }
    }
}
