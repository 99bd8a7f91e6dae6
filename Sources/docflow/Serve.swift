import ArgumentParser
import DocflowCLI
import DocflowService
import DocflowStore
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the worker: the API over AMQP and HTTP, triggers, and the workflow engine.")

    @OptionGroup var shared: SharedOptions

    @Option(
        help:
            "Comma-separated step types to send to `docflow worker`s instead of running them here: parse, extract, integration (DOCFLOW_DISPATCH)."
    )
    var dispatch = env("DOCFLOW_DISPATCH", "")

    @Option(help: "SQLite database file, created with its folder (DOCFLOW_DATABASE).")
    var database = env("DOCFLOW_DATABASE", "./data/docflow.sqlite")

    @Option(help: "The platform's events exchange (DOCFLOW_EVENTS_EXCHANGE).")
    var eventsExchange = env("DOCFLOW_EVENTS_EXCHANGE", "platform.events")

    @Option(help: "HTTP port; 0 turns HTTP off (DOCFLOW_HTTP_PORT).")
    var httpPort = Int(env("DOCFLOW_HTTP_PORT", "8080")) ?? 8080

    @Option(
        help:
            "Seconds one live-update stream of the web console stays open before the browser opens the next; lower it behind a proxy that cuts long responses (DOCFLOW_CONSOLE_STREAM_SECONDS)."
    )
    var consoleStreamSeconds = Int(env("DOCFLOW_CONSOLE_STREAM_SECONDS", "60")) ?? 60

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
            "Workflows that get a workflow label of their own in /metrics, the first ones seen; later ones share \"other\" (DOCFLOW_METRICS_WORKFLOW_LABELS)."
    )
    var metricsWorkflowLabels = Int(env("DOCFLOW_METRICS_WORKFLOW_LABELS", "100")) ?? 100

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

    @Option(
        help:
            "Longest a transform or condition step's jq program runs, in ms, whatever its timeout_ms (DOCFLOW_MAX_JQ_TIMEOUT_MS)."
    )
    var maxJQTimeoutMs = Int(env("DOCFLOW_MAX_JQ_TIMEOUT_MS", "10000")) ?? 10_000

    @Option(
        help:
            "Days of finished executions to keep, with their trigger claims; 0 keeps them all (DOCFLOW_RETENTION_DAYS)."
    )
    var retentionDays = Int(env("DOCFLOW_RETENTION_DAYS", "30")) ?? 30

    @Option(
        help:
            "Finished executions to keep per workflow, the newest; 0 keeps them all (DOCFLOW_RETENTION_PER_WORKFLOW)."
    )
    var retentionPerWorkflow = Int(env("DOCFLOW_RETENTION_PER_WORKFLOW", "10000")) ?? 10_000

    @Option(help: "Seconds between the janitor's pruning passes (DOCFLOW_RETENTION_INTERVAL_SECONDS).")
    var retentionIntervalSeconds = Int(env("DOCFLOW_RETENTION_INTERVAL_SECONDS", "300")) ?? 300

    @Option(help: "SQLite synchronous mode, FULL or NORMAL (DOCFLOW_SQLITE_SYNCHRONOUS).")
    var sqliteSynchronous = env("DOCFLOW_SQLITE_SYNCHRONOUS", "FULL")

    func validate() throws {
        guard ["FULL", "NORMAL"].contains(sqliteSynchronous.uppercased()) else {
            throw ValidationError("--sqlite-synchronous must be FULL or NORMAL")
        }
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be 0...65535") }
        guard (1...3600).contains(consoleStreamSeconds) else {
            throw ValidationError("--console-stream-seconds must be 1...3600")
        }
        for (flag, value) in [
            ("--http-read-timeout-seconds", httpReadTimeoutSeconds),
            ("--http-idle-timeout-seconds", httpIdleTimeoutSeconds),
            ("--http-max-connections", httpMaxConnections), ("--http-max-body-bytes", httpMaxBodyBytes),
        ] where value < 1 {
            throw ValidationError("\(flag) must be at least 1")
        }
        guard retentionDays >= 0 else { throw ValidationError("--retention-days must be 0 or more") }
        guard retentionPerWorkflow >= 0 else { throw ValidationError("--retention-per-workflow must be 0 or more") }
        guard retentionIntervalSeconds >= 1 else {
            throw ValidationError("--retention-interval-seconds must be at least 1")
        }
        guard maxJQTimeoutMs >= 1 else { throw ValidationError("--max-jq-timeout-ms must be at least 1") }
        guard (0...10000).contains(metricsWorkflowLabels) else {
            throw ValidationError("--metrics-workflow-labels must be 0...10000")
        }
        _ = try workerStepTypes(dispatch, flag: "--dispatch")
    }

    func run() async throws {
        let logger = bootstrapLogging(level: shared.logLevel, format: shared.format)
        var configuration = ServiceConfiguration()
        shared.apply(to: &configuration)
        configuration.dispatchTypes = try workerStepTypes(dispatch, flag: "--dispatch")
        configuration.databasePath = database
        configuration.eventsExchange = eventsExchange
        configuration.httpPort = httpPort
        configuration.consoleStreamLifetime = .seconds(consoleStreamSeconds)
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
        configuration.maxJQTimeout = .milliseconds(maxJQTimeoutMs)
        configuration.synchronous = sqliteSynchronous
        configuration.retention = RetentionPolicy(
            maxAge: retentionDays == 0 ? nil : Double(retentionDays) * 86_400,
            maxPerWorkflow: retentionPerWorkflow == 0 ? nil : retentionPerWorkflow)
        configuration.retentionInterval = .seconds(retentionIntervalSeconds)
        configuration.metricsWorkflowLabels = metricsWorkflowLabels
        let server = try DocflowServer(configuration: configuration, logger: logger)
        try await server.run()
    }
}
