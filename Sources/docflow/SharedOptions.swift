import ArgumentParser
import DocflowCLI
import DocflowService

/// The options `docflow serve` and `docflow worker` share: the broker, the prefix, and what
/// running `parse`, `extract` and `integration` steps needs (documents, outbound destinations,
/// SMTP, limits).
struct SharedOptions: ParsableArguments {
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

    @Option(help: "Prefix of every exchange and queue docflow owns (DOCFLOW_PREFIX).")
    var prefix = env("DOCFLOW_PREFIX", "docflow")

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
            "Documents (PDF, DOCX, HTML) parsed at once, each in a docflow-parse process; more wait their turn (DOCFLOW_PARSE_PROCESSES)."
    )
    var parseProcesses = Int(env("DOCFLOW_PARSE_PROCESSES", "4")) ?? 4

    @Option(help: "Address space of each docflow-parse process, in MiB (DOCFLOW_PARSE_MEMORY_MB).")
    var parseMemoryMb = Int(env("DOCFLOW_PARSE_MEMORY_MB", "1024")) ?? 1024

    @Option(
        help:
            "Seconds a graceful stop (SIGTERM, SIGINT) may take before what still runs is cancelled (DOCFLOW_DRAIN_SECONDS)."
    )
    var drainSeconds = Int(env("DOCFLOW_DRAIN_SECONDS", "30")) ?? 30

    @Option(help: "trace, debug, info, notice, warning, error or critical (DOCFLOW_LOG_LEVEL).")
    var logLevel = env("DOCFLOW_LOG_LEVEL", "info")

    @Option(help: "text, or json for one JSON object per line (DOCFLOW_LOG_FORMAT).")
    var logFormat = env("DOCFLOW_LOG_FORMAT", "text")

    func validate() throws {
        guard LogFormat(rawValue: logFormat.lowercased()) != nil else {
            throw ValidationError("--log-format must be text or json")
        }
        guard QueueType(rawValue: queueType) != nil else {
            throw ValidationError("--queue-type must be auto, quorum or classic")
        }
        for (flag, value) in [
            ("--max-step-output-bytes", maxStepOutputBytes), ("--max-template-bytes", maxTemplateBytes),
            ("--max-rendered-bytes", maxRenderedBytes),
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
        guard parseProcesses >= 1 else { throw ValidationError("--parse-processes must be at least 1") }
        // The helper's runtime and poppler take about 100 MiB before any document.
        guard parseMemoryMb >= 256 else { throw ValidationError("--parse-memory-mb must be at least 256") }
    }

    /// What `--log-format` says, validated.
    var format: LogFormat { LogFormat(rawValue: logFormat.lowercased()) ?? .text }

    /// Sets what these options say in `configuration`.
    func apply(to configuration: inout ServiceConfiguration) {
        configuration.amqpURL = brokerURLs(amqpURL)
        configuration.queueType = QueueType(rawValue: queueType) ?? .auto
        configuration.amqpHeartbeat = amqpHeartbeatSeconds
        configuration.prefix = prefix
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
        configuration.parseProcesses = parseProcesses
        configuration.parseMemoryMiB = parseMemoryMb
        configuration.drainTime = .seconds(drainSeconds)
    }
}
