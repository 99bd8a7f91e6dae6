import ArgumentParser
import DocflowCLI
import DocflowService
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the worker: the API over AMQP and HTTP, triggers, and the workflow engine.")

    @Option(
        help:
            "RabbitMQ URL; repeat or comma-separate for the nodes of a cluster (DOCFLOW_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672/%2F)."
    )
    var amqpURL: [String] = []

    @Option(
        help:
            "Kind of docflow's own queues: auto (quorum when the broker has them; existing queues kept as they are), quorum or classic (DOCFLOW_QUEUE_TYPE)."
    )
    var queueType = env("DOCFLOW_QUEUE_TYPE", "auto")

    @Option(
        help:
            "Seconds between AMQP heartbeats; a broker silent for two is dropped (DOCFLOW_AMQP_HEARTBEAT_SECONDS)."
    )
    var amqpHeartbeatSeconds = Int(env("DOCFLOW_AMQP_HEARTBEAT_SECONDS", "5")) ?? 5

    @Option(help: "SQLite database file, created with its folder (DOCFLOW_DATABASE).")
    var database = env("DOCFLOW_DATABASE", "./data/docflow.sqlite")

    @Option(help: "Prefix of every exchange and queue docflow owns (DOCFLOW_PREFIX).")
    var prefix = env("DOCFLOW_PREFIX", "docflow")

    @Option(help: "The platform's events exchange (DOCFLOW_EVENTS_EXCHANGE).")
    var eventsExchange = env("DOCFLOW_EVENTS_EXCHANGE", "platform.events")

    @Option(help: "HTTP port; 0 turns HTTP off (DOCFLOW_HTTP_PORT).")
    var httpPort = Int(env("DOCFLOW_HTTP_PORT", "8080")) ?? 8080

    @Option(
        help:
            "Seconds a request (head and body) may take to arrive, and a new connection to send its first (DOCFLOW_HTTP_READ_TIMEOUT_SECONDS)."
    )
    var httpReadTimeoutSeconds = Int(env("DOCFLOW_HTTP_READ_TIMEOUT_SECONDS", "10")) ?? 10

    @Option(
        help: "Seconds a kept-alive HTTP connection may wait for its next request (DOCFLOW_HTTP_IDLE_TIMEOUT_SECONDS).")
    var httpIdleTimeoutSeconds = Int(env("DOCFLOW_HTTP_IDLE_TIMEOUT_SECONDS", "60")) ?? 60

    @Option(help: "HTTP connections open at once; more wait in the listen backlog (DOCFLOW_HTTP_MAX_CONNECTIONS).")
    var httpMaxConnections = Int(env("DOCFLOW_HTTP_MAX_CONNECTIONS", "512")) ?? 512

    @Option(help: "Largest HTTP request body, in bytes; larger ones get 413 (DOCFLOW_HTTP_MAX_BODY_BYTES).")
    var httpMaxBodyBytes = Int(env("DOCFLOW_HTTP_MAX_BODY_BYTES", "16777216")) ?? 16_777_216

    @Flag(
        help:
            "Serve the HTTP API without API keys, to anyone who reaches the port: local development only (DOCFLOW_INSECURE_NO_AUTH=1)."
    )
    var insecureNoAuth = env("DOCFLOW_INSECURE_NO_AUTH", "0") == "1"

    @Flag(help: "/metrics needs an API key too, of any scope (DOCFLOW_METRICS_REQUIRE_KEY=1).")
    var metricsRequireKey = env("DOCFLOW_METRICS_REQUIRE_KEY", "0") == "1"

    @Option(
        help:
            "Comma-separated broker users who may call GET routes over AMQP, by the user_id property; unset: anyone (DOCFLOW_AMQP_READ_USERS)."
    )
    var amqpReadUsers: String?

    @Option(
        help:
            "Comma-separated broker users who may call every route over AMQP, by the user_id property; unset: anyone (DOCFLOW_AMQP_WRITE_USERS)."
    )
    var amqpWriteUsers: String?

    @Option(help: "SMTP server for email integrations, smtp:// or smtps:// (DOCFLOW_SMTP_URL).")
    var smtpURL: String?

    @Option(help: "Sender address of email integrations (DOCFLOW_SMTP_FROM).")
    var smtpFrom = env("DOCFLOW_SMTP_FROM", "docflow@localhost")

    // Private ranges are refused by default now; the flag stays so that old command lines start.
    @Flag(help: .hidden)
    var denyPrivateNetworks = false

    @Option(help: "Comma-separated CIDR ranges to refuse as destinations, even when allowed (DOCFLOW_OUTBOUND_DENY).")
    var outboundDeny = env("DOCFLOW_OUTBOUND_DENY", "")

    @Option(
        help:
            "Comma-separated CIDR ranges to allow as destinations although loopback, private, link-local or metadata, e.g. 127.0.0.1/32 (DOCFLOW_OUTBOUND_ALLOW)."
    )
    var outboundAllow = env("DOCFLOW_OUTBOUND_ALLOW", "")

    @Option(help: "Mustache template mapping a document_id to a URL (DOCFLOW_DOCUMENT_URL_TEMPLATE).")
    var documentURLTemplate: String?

    @Option(help: "Folder below which file:// documents may be read (DOCFLOW_DOCUMENT_ROOT).")
    var documentRoot = env("DOCFLOW_DOCUMENT_ROOT", "./data/documents")

    @Option(help: "Largest document a parse step reads, in bytes (DOCFLOW_MAX_DOCUMENT_BYTES).")
    var maxDocumentBytes = Int(env("DOCFLOW_MAX_DOCUMENT_BYTES", "52428800")) ?? 52_428_800

    @Option(
        help:
            "Largest status event, AMQP API request or reply, and platform event, in bytes (DOCFLOW_MAX_MESSAGE_BYTES)."
    )
    var maxMessageBytes = Int(env("DOCFLOW_MAX_MESSAGE_BYTES", "4194304")) ?? 4_194_304

    @Option(help: "Largest output of a step, in bytes of JSON; larger fail the step (DOCFLOW_MAX_STEP_OUTPUT_BYTES).")
    var maxStepOutputBytes = Int(env("DOCFLOW_MAX_STEP_OUTPUT_BYTES", "16777216")) ?? 16_777_216
    @Option(help: "Largest integration template, in bytes; larger ones get 400 (DOCFLOW_MAX_TEMPLATE_BYTES).")
    var maxTemplateBytes = Int(env("DOCFLOW_MAX_TEMPLATE_BYTES", "65536")) ?? 65_536

    @Option(help: "Largest rendered template, in bytes; larger ones fail their step (DOCFLOW_MAX_RENDERED_BYTES).")
    var maxRenderedBytes = Int(env("DOCFLOW_MAX_RENDERED_BYTES", "1048576")) ?? 1_048_576

    @Option(
        help:
            "Longest a transform or condition step's jq program runs, in ms, whatever its timeout_ms (DOCFLOW_MAX_JQ_TIMEOUT_MS)."
    )
    var maxJQTimeoutMs = Int(env("DOCFLOW_MAX_JQ_TIMEOUT_MS", "10000")) ?? 10_000

    @Option(
        help:
            "Documents (PDF, DOCX, HTML) parsed at once, each in a docflow-parse process; more wait their turn (DOCFLOW_PARSE_PROCESSES)."
    )
    var parseProcesses = Int(env("DOCFLOW_PARSE_PROCESSES", "4")) ?? 4

    @Option(help: "Address space of each docflow-parse process, in MiB (DOCFLOW_PARSE_MEMORY_MB).")
    var parseMemoryMb = Int(env("DOCFLOW_PARSE_MEMORY_MB", "1024")) ?? 1024

    @Option(help: "SQLite synchronous mode, FULL or NORMAL (DOCFLOW_SQLITE_SYNCHRONOUS).")
    var sqliteSynchronous = env("DOCFLOW_SQLITE_SYNCHRONOUS", "FULL")

    @Option(
        help:
            "Seconds a graceful stop (SIGTERM, SIGINT) may take before what still runs is cancelled (DOCFLOW_DRAIN_SECONDS)."
    )
    var drainSeconds = Int(env("DOCFLOW_DRAIN_SECONDS", "30")) ?? 30

    @Option(help: "trace, debug, info, notice, warning, error or critical (DOCFLOW_LOG_LEVEL).")
    var logLevel = env("DOCFLOW_LOG_LEVEL", "info")

    func validate() throws {
        guard ["FULL", "NORMAL"].contains(sqliteSynchronous.uppercased()) else {
            throw ValidationError("--sqlite-synchronous must be FULL or NORMAL")
        }
        guard QueueType(rawValue: queueType) != nil else {
            throw ValidationError("--queue-type must be auto, quorum or classic")
        }
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be 0...65535") }
        for (flag, value) in [
            ("--http-read-timeout-seconds", httpReadTimeoutSeconds),
            ("--http-idle-timeout-seconds", httpIdleTimeoutSeconds),
            ("--http-max-connections", httpMaxConnections), ("--http-max-body-bytes", httpMaxBodyBytes),
            ("--max-step-output-bytes", maxStepOutputBytes),
            ("--max-template-bytes", maxTemplateBytes), ("--max-rendered-bytes", maxRenderedBytes),
        ] where value < 1 {
            throw ValidationError("\(flag) must be at least 1")
        }
        // Room for an event's envelope and an execution's ids and statuses once outputs are omitted.
        guard maxMessageBytes >= 65536 else { throw ValidationError("--max-message-bytes must be at least 65536") }
        guard drainSeconds >= 1 else { throw ValidationError("--drain-seconds must be at least 1") }
        // The broker's own limit: heartbeats are a 16-bit count of seconds.
        guard (1...65535).contains(amqpHeartbeatSeconds) else {
            throw ValidationError("--amqp-heartbeat-seconds must be 1...65535")
        }
        guard maxJQTimeoutMs >= 1 else { throw ValidationError("--max-jq-timeout-ms must be at least 1") }
        guard parseProcesses >= 1 else { throw ValidationError("--parse-processes must be at least 1") }
        // The helper's runtime and poppler take about 100 MiB before any document.
        guard parseMemoryMb >= 256 else { throw ValidationError("--parse-memory-mb must be at least 256") }
    }

    func run() async throws {
        let logger = bootstrapLogging(level: logLevel)
        var configuration = ServiceConfiguration()
        configuration.amqpURL = brokerURLs(amqpURL)
        configuration.queueType = QueueType(rawValue: queueType) ?? .auto
        configuration.amqpHeartbeat = amqpHeartbeatSeconds
        configuration.databasePath = database
        configuration.prefix = prefix
        configuration.eventsExchange = eventsExchange
        configuration.httpPort = httpPort
        configuration.authentication = HTTPAuthentication(required: !insecureNoAuth, metricsNeedKey: metricsRequireKey)
        func users(_ list: String?) -> Set<String>? {
            list.map {
                Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            }
        }
        configuration.amqpAuthorization = AMQPAuthorization(
            readUsers: users(amqpReadUsers ?? env("DOCFLOW_AMQP_READ_USERS")),
            writeUsers: users(amqpWriteUsers ?? env("DOCFLOW_AMQP_WRITE_USERS")))
        configuration.httpLimits.readTimeout = .seconds(httpReadTimeoutSeconds)
        configuration.httpLimits.idleTimeout = .seconds(httpIdleTimeoutSeconds)
        configuration.httpLimits.maxConnections = httpMaxConnections
        configuration.httpLimits.maxBodyBytes = httpMaxBodyBytes
        // Optional flags fall back to their variable here: ArgumentParser wants no default for them.
        configuration.smtpURL = smtpURL ?? env("DOCFLOW_SMTP_URL")
        configuration.smtpFrom = smtpFrom
        configuration.outboundDeny = outboundDeny.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        configuration.outboundAllow = outboundAllow.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        configuration.documentURLTemplate = documentURLTemplate ?? env("DOCFLOW_DOCUMENT_URL_TEMPLATE")
        configuration.documentRoot = documentRoot
        configuration.maxDocumentBytes = maxDocumentBytes
        configuration.messageLimits.maxMessageBytes = maxMessageBytes
        configuration.messageLimits.maxStepOutputBytes = maxStepOutputBytes
        configuration.templateLimits.maxTemplateBytes = maxTemplateBytes
        configuration.templateLimits.maxRenderedBytes = maxRenderedBytes
        configuration.maxJQTimeout = .milliseconds(maxJQTimeoutMs)
        configuration.parseProcesses = parseProcesses
        configuration.parseMemoryMiB = parseMemoryMb
        configuration.synchronous = sqliteSynchronous
        configuration.drainTime = .seconds(drainSeconds)
        let server = try DocflowServer(configuration: configuration, logger: logger)
        try await server.run()
    }
}
