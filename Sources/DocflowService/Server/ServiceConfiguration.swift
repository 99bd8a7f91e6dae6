import AMQPClient
import DocflowClient
import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import Logging

/// Everything `docflow serve` can be told (contract section 0).
package struct ServiceConfiguration: Sendable {
    /// The broker, or the nodes of a cluster separated by commas, tried in turn.
    package var amqpURL = "amqp://guest:guest@127.0.0.1:5672/%2F"
    /// The kind of docflow's own durable queues.
    package var queueType = QueueType.auto
    /// Seconds between heartbeats on both broker connections; a broker silent for two is dropped.
    package var amqpHeartbeat = 5
    package var databasePath = "./data/docflow.sqlite"
    package var prefix = "docflow"
    package var eventsExchange = "platform.events"
    /// 0 turns the HTTP port off.
    package var httpPort = 8080
    /// How long one live-update stream of the web console (`/ui/events`) stays open before the
    /// browser opens the next; shorter behind a proxy that cuts idle or long responses.
    package var consoleStreamLifetime = Duration.seconds(60)
    /// Timeouts, the connection cap and the body limit of the HTTP port.
    package var httpLimits = HTTPLimits()
    /// API keys on the HTTP port (`--insecure-no-auth`, `--metrics-require-key`).
    package var authentication = HTTPAuthentication()
    /// Broker users allowed to call the API over AMQP (`--amqp-read-users`, `--amqp-write-users`).
    package var amqpAuthorization = AMQPAuthorization()
    package var smtpURL: String?
    /// The sender of email integrations that name none.
    package var smtpFrom = "docflow@localhost"
    /// Destination ranges (CIDR) refused even when `outboundAllow` lists them.
    package var outboundDeny: [String] = []
    /// Destination ranges (CIDR) allowed although loopback, private, link-local or metadata
    /// addresses, which are refused by default (`AddressClass`).
    package var outboundAllow: [String] = []
    package var documentURLTemplate: String?
    package var documentRoot = "./data/documents"
    /// Larger documents fail their parse step.
    package var maxDocumentBytes = 50 * 1024 * 1024
    /// The largest status event, AMQP API reply or request, and platform event; and the largest
    /// step output.
    package var messageLimits = MessageLimits()
    /// Integration templates: largest template and largest rendering, when saved and when run.
    package var templateLimits = TemplateLimits()
    /// How many API requests run at once.
    package var apiConcurrency: UInt16 = 64
    /// How many platform events are handled at once (the consumer's prefetch).
    package var eventConcurrency: UInt16 = 256
    /// How many executions run at once; more wait their turn.
    package var maxConcurrentExecutions = 256
    /// How many jq helper processes run programs at once.
    package var jqProcesses = 2
    /// The `docflow-jq` helper; by default beside the docflow binary.
    package var jqPath: String?
    /// The longest a jq program runs, whatever its step's `timeout_ms`.
    package var maxJQTimeout = Duration.seconds(10)
    /// How many documents (PDF, DOCX, HTML) are parsed at once, each in a helper process.
    package var parseProcesses = ParserPool.defaultProcesses
    /// Each parser helper's address space, in MiB.
    package var parseMemoryMiB = ParserPool.defaultMemoryMiB
    /// The `docflow-parse` helper; by default beside the docflow binary.
    package var parsePath: String?
    /// `FULL` or `NORMAL`; FULL unless a benchmark says otherwise.
    package var synchronous = "FULL"
    /// Step types the engine sends to `docflow worker`s (`--dispatch`) instead of running them;
    /// empty: every step runs in the engine.
    package var dispatchTypes: [StepType] = []
    /// How much finished history the janitor keeps.
    package var retention = RetentionPolicy()
    /// Between the janitor's passes.
    package var retentionInterval = Duration.seconds(300)
    /// How long a graceful shutdown may take before what still runs is cancelled.
    package var drainTime = Duration.seconds(30)
    /// How many workflows get a `workflow` label value of their own in `/metrics`; later ones
    /// share `other`.
    package var metricsWorkflowLabels = 100

    package init() {}

    package var names: Names { Names(prefix: prefix, eventsExchange: eventsExchange) }
}

extension ServiceConfiguration {
    /// The parse step as this configuration has it (documents, helper processes, limits): the
    /// engine's and a worker's alike.
    func parseStep(http: CurlClient, logger: Logger) -> ParseStep {
        let parser = ParserPool(
            executable: parsePath ?? ParserPool.defaultExecutable, processes: parseProcesses,
            memoryMiB: parseMemoryMiB, maxOutputBytes: messageLimits.maxStepOutputBytes, logger: logger)
        return ParseStep(
            source: DocumentSource(
                http: http, root: documentRoot, urlTemplate: documentURLTemplate, maxBytes: maxDocumentBytes),
            parser: parser)
    }
}

extension ServiceConfiguration {
    /// The two broker connections a docflow process holds, named `<prefix> <role>consume` and
    /// `<prefix> <role>publish`: one consumes, one publishes with confirms, so confirm frames never
    /// meet deliveries. Made, not opened: they connect on first use.
    func brokerConnections(role: String = "", logger: Logger) throws -> (
        consuming: AMQPConnection, publishing: AMQPConnection
    ) {
        var amqp = try AMQPConfiguration(url: amqpURL)
        amqp.heartbeat = amqpHeartbeat
        var consume = amqp
        consume.connectionName = "\(prefix) \(role)consume"
        var publish = amqp
        publish.connectionName = "\(prefix) \(role)publish"
        return (AMQPConnection(consume, logger: logger), AMQPConnection(publish, logger: logger))
    }
}
