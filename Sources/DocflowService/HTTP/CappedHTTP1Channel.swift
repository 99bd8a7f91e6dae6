import DocflowEngine
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// HTTP/1.1 on connections of which at most `cap` are open at once.
///
/// Hummingbird stops accepting at the cap (`MaximumAvailableConnections`, with `HTTPServer`
/// accepting one connection per wake-up), so more wait in the kernel's listen backlog holding no
/// descriptor of ours. One accepted over the cap all the same (while the server starts, before
/// that setting) is closed at once. Connections that hold a place without a request being
/// answered give way to new ones (`OpenConnections`).
struct CappedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let openConnections: OpenConnections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard openConnections.open(channel, logger: logger) else {
            logger.debug("HTTP connection over the cap closed", metadata: ["cap": "\(openConnections.cap)"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(OverTheCap())
        }
        let openConnections = openConnections
        channel.closeFuture.whenComplete { _ in openConnections.closed(channel) }
        // swift-nio accepts without close-on-exec.
        CloseOnExec.markAll()
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// Fails the setup of a connection closed for being over the cap.
private struct OverTheCap: Error {}

/// The open connections of the HTTP port, against the cap.
///
/// A connection is *waiting* while it has no request being answered: new and not yet sending,
/// sending a request slowly, or kept alive between requests. When a new connection takes the
/// last place, the one that has been waiting longest is closed, so that idle or slow clients
/// cannot keep a health check or an API call out until their read or idle timeout: only
/// connections whose requests are being answered hold their places for good.
final class OpenConnections: Sendable {
    let cap: Int

    private struct State {
        var count = 0
        /// Since when each waiting connection has waited.
        var waiting: [ObjectIdentifier: (channel: any Channel, since: NIODeadline)] = [:]
    }

    private let state = Mutex(State())

    init(cap: Int) {
        self.cap = cap
    }

    /// Counts one more, unless that would pass the cap; taking the last place closes the
    /// connection that has waited longest.
    func open(_ channel: any Channel, now: NIODeadline = .now(), logger: Logger? = nil) -> Bool {
        let (accepted, evicted) = state.withLock { state -> (Bool, (any Channel)?) in
            guard state.count < cap else { return (false, nil) }
            state.count += 1
            var evicted: (any Channel)?
            if state.count == cap, let oldest = state.waiting.min(by: { $0.value.since < $1.value.since }) {
                state.waiting[oldest.key] = nil
                evicted = oldest.value.channel
            }
            state.waiting[ObjectIdentifier(channel)] = (channel, now)
            return (true, evicted)
        }
        if let evicted {
            logger?.debug(
                "closed the HTTP connection that waited longest to make room", metadata: ["cap": "\(cap)"])
            evicted.close(promise: nil)
        }
        return accepted
    }

    /// The connection has a request being answered (false), or waits again (true).
    func setWaiting(_ channel: any Channel, _ waiting: Bool, now: NIODeadline = .now()) {
        state.withLock { state in
            let id = ObjectIdentifier(channel)
            if waiting {
                if state.waiting[id] == nil { state.waiting[id] = (channel, now) }
            } else {
                state.waiting[id] = nil
            }
        }
    }

    func closed(_ channel: any Channel) {
        state.withLock { state in
            state.count -= 1
            state.waiting[ObjectIdentifier(channel)] = nil
        }
    }

    /// How many connections wait (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
