import DocflowEngine
import Logging
import ServiceLifecycle

/// Resumes interrupted executions at start; at shutdown, stops executions at step boundaries,
/// waiting up to `drain` for them. Cancelled, it stops them without waiting.
final class EngineService: Service, Sendable {
    let engine: Engine
    let drain: Duration
    let logger: Logger

    init(engine: Engine, drain: Duration, logger: Logger) {
        self.engine = engine
        self.drain = drain
        self.logger = logger
    }

    func run() async throws {
        let resumed = try await engine.resumeInterrupted()
        if resumed > 0 { logger.info("resumed interrupted executions", metadata: ["count": "\(resumed)"]) }
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled: executions are told to stop; nobody waits for them.
            await engine.stop(wait: .zero)
            return
        }
        // `Engine.stop` polls with `Task.sleep`, which a cancelled task cannot do: it runs in a
        // task of its own, and cancellation stops the waiting for it, not the stop.
        do {
            try await untilCancelled(cancelling: false) { [engine, drain] in await engine.stop(wait: drain) }
        } catch {
            logger.warning("stopped waiting for executions to reach a step boundary")
        }
    }
}
