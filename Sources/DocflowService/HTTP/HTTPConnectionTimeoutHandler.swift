import NIOCore
import NIOHTTPTypes

/// Closes a connection of the HTTP port whose request does not arrive within the read timeout
/// or that stays idle past the idle timeout (`HTTPConnectionTimeouts` decides; this arms the
/// timer and closes).
final class HTTPConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let readTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// Told when the connection starts and stops waiting, so a waiting one can give way.
    private let openConnections: OpenConnections?
    private var timeouts: HTTPConnectionTimeouts?
    private var timer: Scheduled<Void>?
    private var waiting = true

    init(readTimeout: TimeAmount, idleTimeout: TimeAmount, openConnections: OpenConnections? = nil) {
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.openConnections = openConnections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = NIODeadline.now()
        switch unwrapInboundIn(data) {
        case .head: apply(timeouts?.headRead(now: now), context: context)
        case .body: break
        case .end: apply(timeouts?.endRead(now: now), context: context)
        }
        context.fireChannelRead(data)
    }

    // Fired for every read from the socket, also one that holds only part of a head.
    func channelReadComplete(context: ChannelHandlerContext) {
        apply(timeouts?.bytesArrived(now: .now()), context: context)
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            apply(timeouts?.responseEnded(now: .now()), context: context)
        }
        context.write(data, promise: promise)
    }

    private func start(context: ChannelHandlerContext) {
        guard timeouts == nil else { return }
        let started = HTTPConnectionTimeouts(readTimeout: readTimeout, idleTimeout: idleTimeout, now: .now())
        timeouts = started
        if let deadline = started.deadline { apply(.schedule(deadline), context: context) }
    }

    private func apply(_ action: HTTPConnectionTimeouts.Action?, context: ChannelHandlerContext) {
        let nowWaiting = timeouts.map { $0.phase != .answering } ?? true
        if nowWaiting != waiting {
            waiting = nowWaiting
            openConnections?.setWaiting(context.channel, nowWaiting)
        }
        switch action {
        case .schedule(let deadline):
            timer?.cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                timer = nil
                apply(timeouts?.timerFired(now: .now()), context: context)
            }
        case .cancelTimer:
            timer?.cancel()
            timer = nil
        case .close:
            timer?.cancel()
            timer = nil
            context.close(promise: nil)
        case .nothing, nil:
            break
        }
    }
}

@available(*, unavailable)
extension HTTPConnectionTimeoutHandler: Sendable {}
