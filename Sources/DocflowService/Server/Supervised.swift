import Logging
import ServiceLifecycle

/// One of the worker's services as its group runs it. A failure is logged at error level at
/// once, naming the service and the reason, before the group shuts the others down; a service
/// that ends because it was cancelled ends quietly.
struct Supervised: Service {
    let name: String
    let service: any Service
    /// Cuts a service's wait short when it is cancelled, for a loop that looks for cancellation
    /// between waits.
    let onCancel: (@Sendable () -> Void)?
    /// Cancelled, return at once and let the service end in the background: for a service
    /// whose leftovers are safe to drop because they are durable elsewhere (the outbox).
    let abandonsOnCancel: Bool
    let logger: Logger

    init(
        _ name: String, _ service: any Service, onCancel: (@Sendable () -> Void)? = nil,
        abandonsOnCancel: Bool = false, logger: Logger
    ) {
        self.name = name
        self.service = service
        self.onCancel = onCancel
        self.abandonsOnCancel = abandonsOnCancel
        self.logger = logger
    }

    func run() async throws {
        do {
            if abandonsOnCancel {
                try await untilCancelled { [service] in try await service.run() }
            } else if let onCancel {
                try await withTaskCancellationHandler {
                    try await service.run()
                } onCancel: {
                    onCancel()
                }
            } else {
                try await service.run()
            }
        } catch is CancellationError where Task.isCancelled {
            return
        } catch {
            logger.error("a service failed; stopping", metadata: ["service": "\(name)", "error": "\(error)"])
            throw error
        }
    }

    var configuration: ServiceGroupConfiguration.ServiceConfiguration {
        // A failure drains the others in order, as SIGTERM does, so what was done is written.
        .init(service: self, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name)
    }
}
