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
/// that setting) is closed at once.
struct CappedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let openConnections: OpenConnections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard openConnections.open() else {
            logger.debug("HTTP connection over the cap closed", metadata: ["cap": "\(openConnections.cap)"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(OverTheCap())
        }
        let openConnections = openConnections
        channel.closeFuture.whenComplete { _ in openConnections.closed() }
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

/// How many connections of the HTTP port are open, against the cap.
final class OpenConnections: Sendable {
    let cap: Int
    private let count = Atomic(0)

    init(cap: Int) {
        self.cap = cap
    }

    /// Counts one more, unless that would pass the cap.
    func open() -> Bool {
        if count.add(1, ordering: .relaxed).newValue <= cap { return true }
        count.subtract(1, ordering: .relaxed)
        return false
    }

    func closed() {
        count.subtract(1, ordering: .relaxed)
    }
}
