import DocflowClient
import Foundation

/// Everything `docflow serve` can be told (contract section 0).
public struct ServiceConfiguration: Sendable {
    public var amqpURL = "amqp://guest:guest@127.0.0.1:5672/%2F"
    public var databasePath = "./data/docflow.sqlite"
    public var prefix = "docflow"
    public var eventsExchange = "platform.events"
    /// 0 turns the HTTP port off.
    public var httpPort = 8080
    public var smtpURL: String?
    /// The sender of email integrations that name none.
    public var smtpFrom = "docflow@localhost"
    /// Refuse private address ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) as destinations.
    public var denyPrivateNetworks = false
    /// More denied destination ranges (CIDR); link-local and metadata addresses always are.
    public var outboundDeny: [String] = []
    /// When not empty, the only destination ranges (CIDR) allowed.
    public var outboundAllow: [String] = []
    public var documentURLTemplate: String?
    public var documentRoot = "./data/documents"
    /// Larger documents fail their parse step.
    public var maxDocumentBytes = 50 * 1024 * 1024
    /// How many API requests run at once.
    public var apiConcurrency: UInt16 = 64
    /// How many platform events are handled at once (the consumer's prefetch).
    public var eventConcurrency: UInt16 = 256
    /// How many executions run at once; more wait their turn.
    public var maxConcurrentExecutions = 256
    /// How many jq helper processes run programs at once.
    public var jqProcesses = 2
    /// The `docflow-jq` helper; by default beside the docflow binary.
    public var jqPath: String?
    /// `FULL` or `NORMAL`; FULL unless a benchmark says otherwise.
    public var synchronous = "FULL"
    /// How long a graceful shutdown may take before what still runs is cancelled.
    public var drainTime = Duration.seconds(30)

    public init() {}

    public var names: Names { Names(prefix: prefix, eventsExchange: eventsExchange) }
}
