/// Exchange and queue names, all under the configured prefix except the platform's exchange.
public struct Names: Sendable, Equatable {
    public let prefix: String
    public let eventsExchange: String

    public init(prefix: String, eventsExchange: String = "platform.events") {
        self.prefix = prefix
        self.eventsExchange = eventsExchange
    }

    public var apiQueue: String { "\(prefix).api" }
    public var statusExchange: String { "\(prefix).status" }
    public var deadLetterExchange: String { "\(prefix).dlx" }
    public var deadLetterQueue: String { "\(prefix).dead-letter" }
    public var platformEventsQueue: String { "\(prefix).platform-events" }
    /// Where the engine sends steps of `type` (`parse`, `extract`, `integration`) for workers.
    public func taskQueue(_ type: String) -> String { "\(prefix).tasks.\(type)" }
    /// Where workers send results back, for the prefix's one engine (single active consumer).
    public var resultsQueue: String { "\(prefix).results" }
}
