import AMQPClient
import DocflowClient
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// One docflow per prefix, kept by the broker: the owner holds `<prefix>.owner`, a queue
/// exclusive to its consuming connection. A second connection can neither declare nor consume
/// it (RESOURCE_LOCKED), and the broker deletes it the moment the owner's connection ends, kill -9
/// included (within two heartbeats when the owner's host vanishes).
///
/// The owner consumes the queue and answers every probe sent to it with its identity, so a
/// refused process can say who serves the prefix. After a reconnect the connection declares the
/// queue again and resumes the consumer; if another process holds it by then, the lease is lost
/// and `run()` throws, which stops the worker.
final class PrefixLease: Service, Sendable {
    let queue: String
    let identity: OwnerIdentity
    private let consuming: AMQPConnection
    private let publishing: AMQPConnection
    private let probeTimeout: Duration
    private let logger: Logger
    private let machine: Mutex<PrefixLeaseStateMachine>
    private let consumer = Mutex<AMQPConsumer?>(nil)
    private let prober = Mutex<APIClient?>(nil)
    /// One to declare and consume on, one to answer probes on (a reply that the broker refuses
    /// closes only its own channel).
    private let channels = Mutex<(lease: AMQPChannel, replies: AMQPChannel)?>(nil)

    /// - Parameter grace: how long a holder that does not answer may keep the queue before this
    ///   process gives up: the broker drops a dead connection within two of its heartbeats.
    init(
        prefix: String, identity: OwnerIdentity, consuming: AMQPConnection, publishing: AMQPConnection,
        grace: Duration, probeTimeout: Duration = .seconds(2), logger: Logger
    ) {
        queue = "\(prefix).owner"
        self.identity = identity
        self.consuming = consuming
        self.publishing = publishing
        self.probeTimeout = probeTimeout
        self.logger = logger
        machine = Mutex(PrefixLeaseStateMachine(me: identity.instance, grace: grace))
    }

    /// Takes the lease, or throws `prefixServed` naming the owner. Waits for the broker if it is down.
    func acquire() async throws {
        try await drive(machine.withLock { $0.start() })
    }

    /// Watches the lease while the worker serves; throws `prefixLost` when another process took
    /// it over during a reconnect. The lease itself lasts until the consuming connection closes.
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.watch() }
        } catch is CancellationError {
            return
        }
    }

    private func watch() async throws {
        while let consumer = consumer.withLock({ $0 }) {
            var end = PrefixLeaseStateMachine.ConsumerEnd.closed
            do {
                for try await _ in consumer {}
            } catch {
                end = Self.isLocked(error) ? .locked : .failed
                logger.warning(
                    "the prefix lease's consumer ended; taking the lease again",
                    metadata: ["queue": "\(queue)", "error": "\(error)"])
            }
            if Task.isCancelled { return }
            try await drive(machine.withLock { $0.consumerEnded(end, now: .now) })
            if case .closed = end { return }
        }
    }

    private func drive(_ first: PrefixLeaseStateMachine.Action) async throws {
        var action = first
        while true {
            switch action {
            case .declare:
                action = await declare()
            case .declareAfter(let pause):
                try await Task.sleep(for: pause)
                action = await declare()
            case .probe:
                action = await probe()
            case .hold:
                logger.info("holding the prefix", metadata: ["queue": "\(queue)", "owner": "\(identity)"])
                return
            case .refuse(let owner):
                throw ServerError.prefixServed(prefix: identity.prefix, owner: owner)
            case .lose(let owner):
                throw ServerError.prefixLost(prefix: identity.prefix, owner: owner)
            case .stop:
                return
            }
        }
    }

    private func declare() async -> PrefixLeaseStateMachine.Action {
        do {
            let (channel, replies) = try await openChannels()
            try await channel.declare(AMQPQueue(queue, durable: false, exclusive: true))
            let answer = identity.encoded()
            let (queue, logger) = (self.queue, self.logger)
            let started = try await channel.consume(queue: queue, noAck: true, exclusive: true) { probe in
                guard let replyTo = probe.properties.replyTo else { return }
                let asking = OwnerIdentity.decode(probe.body)
                logger.warning(
                    "another docflow asked for this prefix and was refused",
                    metadata: ["queue": "\(queue)", "other": "\(asking.map { "\($0)" } ?? "unknown")"])
                let reply = AMQPMessage(
                    exchange: "", routingKey: replyTo, body: answer,
                    properties: AMQPProperties(
                        contentType: "application/json", correlationID: probe.properties.correlationID))
                replies.publish(batch: [reply]) { _ in }
            }
            consumer.withLock { $0 = started }
            return machine.withLock { $0.declared() }
        } catch let error where Self.isLocked(error) {
            return machine.withLock { $0.locked(now: .now) }
        } catch AMQPError.closed {
            return .stop
        } catch {
            logger.warning("could not take the prefix lease; trying again", metadata: ["error": "\(error)"])
            return machine.withLock { $0.failed() }
        }
    }

    private func openChannels() async throws -> (lease: AMQPChannel, replies: AMQPChannel) {
        if let open = channels.withLock({ $0 }) { return open }
        let open = (lease: try await consuming.openChannel(), replies: try await consuming.openChannel())
        channels.withLock { $0 = open }
        return open
    }

    private func probe() async -> PrefixLeaseStateMachine.Action {
        do {
            let client: APIClient
            if let existing = prober.withLock({ $0 }) {
                client = existing
            } else {
                client = try await APIClient(connection: publishing, queue: queue)
                prober.withLock { $0 = client }
            }
            let data = try await client.send(identity.encoded(), to: queue, timeout: probeTimeout)
            if let owner = OwnerIdentity.decode(data) {
                return machine.withLock { $0.answered(by: owner, now: .now) }
            }
        } catch {
            logger.debug("the prefix's holder did not answer", metadata: ["queue": "\(queue)", "error": "\(error)"])
        }
        return machine.withLock { $0.unanswered(now: .now) }
    }

    private static func isLocked(_ error: any Error) -> Bool {
        (error as? AMQPError)?.replyName == "RESOURCE_LOCKED"
    }
}
