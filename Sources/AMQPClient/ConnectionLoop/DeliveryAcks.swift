/// What the connection sends to settle deliveries on one channel.
enum AckAction: Equatable, Sendable {
    case ack(UInt64, multiple: Bool)
    case nack(UInt64, multiple: Bool, requeue: Bool)
    case reject(UInt64, requeue: Bool)
}

/// The delivery acks of one channel, coalesced. Does no I/O: each event appends to `actions` what
/// the connection must send, in order.
///
/// An ack of the oldest unsettled delivery moves a watermark, sent as one `basic.ack` with
/// `multiple` at the next `flush` (after each round of commands); an ack that comes out of order
/// goes out alone at that same flush, so a slow delivery never holds back the acks of later ones.
/// Nacks and rejects go out at once, after the acks still pending. Settling a delivery of an
/// earlier generation of the channel does nothing: the broker requeued it when the channel closed.
struct DeliveryAcks: Sendable {
    /// Changes whenever the channel is opened anew; deliveries carry it.
    private(set) var generation: UInt64 = 0
    /// Deliveries that await settling, in delivery order, from `unsettledHead` on.
    private var unsettled: [UInt64] = []
    private var unsettledHead = 0
    /// Settled deliveries behind an unsettled one: true while their ack still has to be sent.
    private var settledAhead: [UInt64: Bool] = [:]
    /// Out-of-order acks to send alone at the next flush (unless a `multiple` one covers them).
    private var singles: [UInt64] = []
    /// The newest acked tag with nothing unsettled before it; 0 when there is none to send.
    private var ackUpTo: UInt64 = 0

    /// Whether `flush` has acks to send.
    var hasPendingAcks: Bool { ackUpTo > 0 || !singles.isEmpty }

    /// The channel was opened (again): a new generation, and the deliveries of the old one are
    /// forgotten.
    mutating func opened(generation: UInt64) {
        self.generation = generation
        unsettled.removeAll()
        unsettledHead = 0
        settledAhead.removeAll()
        singles.removeAll()
        ackUpTo = 0
    }

    /// A delivery to a consumer that settles its deliveries.
    mutating func delivered(_ tag: UInt64) {
        unsettled.append(tag)
    }

    /// Settles a delivery as `settlement` says; false (and no action) when `generation` is not
    /// the channel's current one.
    @discardableResult
    mutating func settle(
        _ settlement: Settlement, tag: UInt64, generation: UInt64, into actions: inout [AckAction]
    ) -> Bool {
        guard generation == self.generation else { return false }
        switch settlement {
        case .ack(multiple: false):
            // Unknown to the bookkeeping (already settled, or never tracked): the broker decides.
            if !settleLocally(tag, unsent: true) { actions.append(.ack(tag, multiple: false)) }
        case .ack(multiple: true):
            settleLocally(upTo: tag, unsent: true)
        case .nack(let multiple, let requeue):
            // Acks not sent yet go first: a multiple nack must not take them with it.
            flush(into: &actions)
            actions.append(.nack(tag, multiple: multiple, requeue: requeue))
            if multiple {
                settleLocally(upTo: tag, unsent: false)
            } else {
                settleLocally(tag, unsent: false)
            }
        case .reject(let requeue):
            flush(into: &actions)
            actions.append(.reject(tag, requeue: requeue))
            settleLocally(tag, unsent: false)
        }
        return true
    }

    /// The acks held back so far: the watermark as one `multiple` ack, then the out-of-order
    /// acks no `multiple` ack covers.
    mutating func flush(into actions: inout [AckAction]) {
        // The multiple ack's own tag is always still outstanding (RabbitMQ insists on that).
        if ackUpTo > 0 { actions.append(.ack(ackUpTo, multiple: true)) }
        ackUpTo = 0
        for tag in singles where settledAhead[tag] == true {
            settledAhead[tag] = false
            actions.append(.ack(tag, multiple: false))
        }
        singles.removeAll(keepingCapacity: true)
    }

    /// Settles `tag` locally; `unsent` when its ack is still to be sent. False when the tag is
    /// not an unsettled delivery of this channel.
    @discardableResult
    private mutating func settleLocally(_ tag: UInt64, unsent: Bool) -> Bool {
        guard unsettledHead < unsettled.count, tag >= unsettled[unsettledHead], settledAhead[tag] == nil
        else { return false }
        settledAhead[tag] = unsent
        if unsent, tag != unsettled[unsettledHead] { singles.append(tag) }
        while unsettledHead < unsettled.count,
            let toSend = settledAhead.removeValue(forKey: unsettled[unsettledHead])
        {
            if toSend { ackUpTo = unsettled[unsettledHead] }
            unsettledHead += 1
        }
        if unsettledHead > 1024, unsettledHead * 2 > unsettled.count {
            unsettled.removeFirst(unsettledHead)
            unsettledHead = 0
        }
        return true
    }

    /// Settles every delivery up to and including `tag` (a `multiple` one).
    private mutating func settleLocally(upTo tag: UInt64, unsent: Bool) {
        while unsettledHead < unsettled.count, unsettled[unsettledHead] <= tag {
            settledAhead.removeValue(forKey: unsettled[unsettledHead])
            unsettledHead += 1
        }
        if unsent { ackUpTo = max(ackUpTo, tag) }
    }
}
