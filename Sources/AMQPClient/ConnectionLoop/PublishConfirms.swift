/// The unconfirmed publishes of one channel in confirm mode. Does no I/O: events say what the
/// broker did, and settled publishes come back with their outcome for the caller to complete.
///
/// Publishes get delivery tags in the order they go on the wire, from 1 on each newly opened
/// channel. `basic.ack` and `basic.nack` settle one publish, or with `multiple` every one up to a
/// tag. A `basic.return` marks a mandatory publish unroutable; the ack that follows settles it as
/// such. A closed channel fails every pending publish; a lost connection keeps them to send again,
/// in order and with new tags, once the channel is open again.
///
/// `Token` is what the caller needs to complete a publish (its completion handler).
struct PublishConfirms<Token> {
    struct Publish {
        let message: AMQPMessage
        let token: Token
        /// 0 while not on the wire of the current connection.
        fileprivate(set) var tag: UInt64 = 0
        fileprivate(set) var returned: AMQPError?
    }

    /// A settled publish: `error` is nil when the broker confirmed it.
    struct Outcome {
        let token: Token
        let error: AMQPError?
    }

    /// Every publish not settled yet, in publishing order.
    private(set) var pending: [Publish] = []
    private var nextTag: UInt64 = 1

    var isEmpty: Bool { pending.isEmpty }

    /// A new publish; with `sendNow` it is on the wire (the caller sends it) and gets the next tag,
    /// else it waits for the channel to open (`resendAll`).
    mutating func add(_ message: AMQPMessage, token: Token, sendNow: Bool) {
        var publish = Publish(message: message, token: token)
        if sendNow {
            publish.tag = nextTag
            nextTag += 1
        }
        pending.append(publish)
    }

    /// Confirm mode was selected on a newly opened channel: the broker counts from 1 again.
    mutating func confirmSelected() {
        nextTag = 1
    }

    /// Every pending publish is to go out again, in order: each gets the next tag, and the caller
    /// sends `pending`.
    mutating func resendAll() {
        for index in pending.indices {
            pending[index].tag = nextTag
            pending[index].returned = nil
            nextTag += 1
        }
    }

    /// The connection was lost: nothing is on the wire any more; everything waits for `resendAll`.
    mutating func connectionLost() {
        for index in pending.indices { pending[index].tag = 0 }
    }

    /// `basic.ack` (`nacked` false) or `basic.nack` from the broker: appends the publishes it
    /// settles to `settled`, in order.
    mutating func confirmed(tag: UInt64, multiple: Bool, nacked: Bool, into settled: inout [Outcome]) {
        if multiple {
            let count = pending.prefix { $0.tag != 0 && $0.tag <= tag }.count
            for publish in pending[..<count] {
                settled.append(Outcome(token: publish.token, error: nacked ? .nacked : publish.returned))
            }
            pending.removeFirst(count)
        } else if let index = pending.firstIndex(where: { $0.tag == tag }) {
            let publish = pending.remove(at: index)
            settled.append(Outcome(token: publish.token, error: nacked ? .nacked : publish.returned))
        }
    }

    /// `basic.return`: marks the publish it returns unroutable; false when none matches. A return
    /// comes before the ack of its message and carries no delivery tag: it belongs to the oldest
    /// unconfirmed mandatory message with the same address (and message id, when it has one).
    @discardableResult
    mutating func returned(exchange: String, routingKey: String, messageID: String?, error: AMQPError) -> Bool {
        guard
            let index = pending.firstIndex(where: {
                $0.tag != 0 && $0.returned == nil && $0.message.mandatory && $0.message.exchange == exchange
                    && $0.message.routingKey == routingKey
                    && (messageID == nil || $0.message.properties.messageID == messageID)
            })
        else { return false }
        pending[index].returned = error
        return true
    }

    /// The channel closed, or the connection is shutting down: every pending publish fails with
    /// `error`.
    mutating func failAll(with error: AMQPError, into settled: inout [Outcome]) {
        for publish in pending { settled.append(Outcome(token: publish.token, error: error)) }
        pending.removeAll()
    }
}
