import CRabbitMQ
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One AMQP connection, owned by a thread of its own as rabbitmq-c requires.
///
/// The connection keeps itself up: when the broker goes away it reconnects, to the configuration's
/// endpoints in turn, at once and then with capped exponential backoff (`ReconnectSchedule`), declares again what was declared through its channels, reopens its
/// channels with their prefetch and confirm mode, resumes every consumer and publishes again
/// every message the broker had not confirmed. Deliveries from before a reconnect can no longer
/// be settled; the broker has requeued them.
public final class AMQPConnection: Sendable {
    public let configuration: AMQPConfiguration
    let inbox: Inbox
    let shared: Shared
    private let logger: Logger

    /// What the connection's thread and its callers both read.
    final class Shared: Sendable {
        struct State {
            var connected = false
            var lastError: AMQPError?
            var connects = 0
            var endpoint: AMQPEndpoint?
            var serverProperties: [String: AMQPFieldValue] = [:]
            var nextChannel: UInt16 = 1
            var nextConsumer = 1
        }

        private let state = Mutex(State())

        func withLock<T>(_ body: (inout State) -> T) -> T {
            state.withLock { body(&$0) }
        }
    }

    /// Starts connecting at once, in the background.
    public init(_ configuration: AMQPConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let inbox = Inbox()
        let shared = Shared()
        self.inbox = inbox
        self.shared = shared
        // The last word of the connection's name ("consume", "publish") tells the threads apart.
        let name = "amqp \(configuration.connectionName.split(separator: " ").last ?? "")"
        let thread = Thread {
            Self.nameCurrentThread(name)
            ConnectionLoop(configuration: configuration, logger: logger, inbox: inbox, shared: shared).run()
        }
        thread.name = name
        thread.start()
        inbox.send { [weak self] loop in loop?.owner = self }
    }

    deinit {
        inbox.send { loop in loop?.stop() }
    }

    /// As `top -H` and `perf` show the thread: Foundation's `Thread.name` does not reach the
    /// kernel on Linux. (DocflowCore has the same; this library does not depend on it.)
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = write(fd, bytes, bytes.count)
        _ = Glibc.close(fd)
    }

    /// Whether the connection is up right now.
    public var isConnected: Bool { shared.withLock { $0.connected } }

    /// How many times the connection has come up, the first time included.
    public var connectCount: Int { shared.withLock { $0.connects } }

    /// The endpoint the connection is up on, if it is up.
    public var endpoint: AMQPEndpoint? { shared.withLock { $0.endpoint } }

    /// What the broker said of itself when the connection last came up (`product`, `version`,
    /// `cluster_name`, `capabilities`); empty before.
    public var serverProperties: [String: AMQPFieldValue] { shared.withLock { $0.serverProperties } }

    /// The last connection failure, if any.
    public var lastError: AMQPError? { shared.withLock { $0.lastError } }

    /// Waits until the connection is up; throws the last failure when it is not up in time.
    public func waitUntilConnected(timeout: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !isConnected {
            if clock.now >= deadline {
                throw lastError ?? AMQPError.timeout("connecting to \(configuration.redacted)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// A new channel. It opens now if the connection is up, else when it comes up.
    public func openChannel() async throws -> AMQPChannel {
        let number = shared.withLock { state in
            defer { state.nextChannel += 1 }
            return state.nextChannel
        }
        let channel = AMQPChannel(connection: self, number: number)
        try await perform { loop, continuation in
            loop.addChannel(number)
            continuation.resume(returning: ())
        }
        return channel
    }

    /// Closes the connection: consumers finish, unconfirmed publishes fail with `closed`.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            inbox.send { loop in
                loop?.stop()
                continuation.resume()
            }
        }
    }

    /// Closes the socket without a goodbye, as a network failure would; the connection then
    /// reconnects. For tests of recovery.
    public func simulateConnectionLoss() {
        inbox.send { loop in loop?.dropConnection() }
    }

    /// Runs `body` on the connection's thread, or with `nil` once the connection is closed.
    func perform<T: Sendable>(
        _ body: @escaping @Sendable (ConnectionLoop, CheckedContinuation<T, any Error>) -> Void
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            inbox.send { loop in
                guard let loop else { return continuation.resume(throwing: AMQPError.closed) }
                body(loop, continuation)
            }
        }
    }

    func nextConsumerTag(channel: UInt16) -> String {
        let n = shared.withLock { state in
            defer { state.nextConsumer += 1 }
            return state.nextConsumer
        }
        return "\(configuration.connectionName).\(channel).\(n)"
    }
}

/// The commands other threads hand to the connection's thread, and a pipe that wakes it.
final class Inbox: Sendable {
    typealias Command = @Sendable (ConnectionLoop?) -> Void

    private struct State {
        var commands: [Command] = []
        var closed = false
    }

    private let state = Mutex(State())
    /// The read end, for poll(2).
    let fd: Int32
    private let writeFD: Int32

    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "cannot create the AMQP wake-up pipe")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        fd = fds[0]
        writeFD = fds[1]
    }

    deinit {
        Glibc.close(fd)
        Glibc.close(writeFD)
    }

    func send(_ command: @escaping Command) {
        // Only the command that finds the inbox empty writes to the pipe: the loop drains every
        // command at once, so later ones ride on that wake-up (one syscall per burst, not per command).
        let accepted = state.withLock { state -> Bool? in
            guard !state.closed else { return nil }
            state.commands.append(command)
            return state.commands.count == 1
        }
        guard let accepted else { return command(nil) }
        if accepted {
            var one: UInt8 = 1
            _ = Glibc.write(writeFD, &one, 1)  // a full pipe already means "wake up"
        }
    }

    /// Takes every command waiting, clearing the wake-up signal first so none is missed.
    func drain() -> [Command] {
        var buffer = [UInt8](repeating: 0, count: 256)
        while Glibc.read(fd, &buffer, buffer.count) > 0 {}
        return state.withLock { state in
            defer { state.commands.removeAll(keepingCapacity: true) }
            return state.commands
        }
    }

    /// From now on commands run at once with no connection; returns the ones still waiting.
    func close() -> [Command] {
        state.withLock { state in
            state.closed = true
            defer { state.commands.removeAll() }
            return state.commands
        }
    }
}
