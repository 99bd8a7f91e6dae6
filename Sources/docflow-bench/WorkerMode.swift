import AMQPClient
import DocflowClient
import DocflowCore
import Foundation

/// The worker mode (issue 15): an invoice workflow, `parse` -> `extract` -> `integration` (a
/// webhook to the bench's own `HTTPReceiver`), run in a closed loop with its steps in the engine
/// (`docflow serve`), then dispatched (`serve --dispatch parse,extract,integration`) to 1, 2
/// and 3 `docflow worker`s on the same prefix. Each mode gets a fresh docflow; the figure that
/// matters is the engine's CPU per execution once the steps run elsewhere.
enum InvoiceWorkflow {
    /// The sample invoice of `examples/documents/sample-invoice.pdf`, as text: `parse` reads it in
    /// the process that runs the step, with no helper.
    static let text = """
        ACME Supplies Ltd.
        INVOICE
        Invoice Number: INV-2024-0042
        Invoice Date: 2024-01-15
        Due Date: 2024-02-14
        Vendor: ACME Supplies Ltd.
        Bill To: Globex Corporation
        Description              Qty    Amount
        Paper, A4, 500 sheets     10    $450.00
        Toner cartridge            4    $790.00
        Subtotal: $1,240.00
        Tax: $99.20
        Total: $1,339.20
        Currency: USD
        """

    static let invoiceNumber = "INV-2024-0042"

    /// The `data` of every `document.uploaded` event: the trigger data of each execution.
    static let eventData = JSONValue.object(["content": .string(text), "file_type": "text"]).encodedString()

    static let stepTypes = ["parse", "extract", "integration"]

    /// Creates a webhook integration to `url` and the workflow that notifies it; returns the
    /// workflow's id.
    static func create(with client: APIClient, receiverURL url: String) async throws -> String {
        let integration = try await client.call(
            "POST", "/api/workflows/integrations",
            body: ["name": "docflow-bench receiver", "integration_type": "webhook", "config": ["url": .string(url)]])
        guard integration.status == 201, let integrationID = integration.body?["id"]?.stringValue else {
            throw BenchError(
                "creating the integration failed (\(integration.status)): \(integration.envelope.encodedString())")
        }
        let definition: JSONValue = [
            "name": "docflow-bench invoice",
            "description": "parse -> extract -> integration, for docflow-bench's worker mode",
            "trigger_type": "event",
            "trigger_config": ["event": "document.uploaded"],
            "enabled": true,
            "definition": [
                "steps": [
                    ["id": "parse", "type": "parse", "config": [:]],
                    ["id": "extract", "type": "extract", "config": ["schema_id": "invoice-schema"]],
                    ["id": "notify", "type": "integration", "config": ["integration_id": .string(integrationID)]],
                ]
            ],
        ]
        let reply = try await client.call("POST", "/api/workflows", body: definition)
        guard reply.status == 201, let id = reply.body?["id"]?.stringValue else {
            throw BenchError("creating the workflow failed (\(reply.status)): \(reply.envelope.encodedString())")
        }
        return id
    }

    /// Reads the latest `limit` executions back and says what is wrong with each, if anything:
    /// not completed, no `invoice_number` from `extract`, or not exactly one request at the
    /// receiver. Returns how many were read and the problems.
    static func check(
        workflowID: String, client: APIClient, receiver: HTTPReceiver, limit: Int
    ) async throws -> (checked: Int, problems: [String]) {
        let reply = try await client.call(
            "GET", "/api/workflows/\(workflowID)/executions", query: ["limit": "\(limit)"])
        guard reply.status == 200, let executions = reply.body?["executions"]?.arrayValue else {
            throw BenchError("reading executions failed (\(reply.status))")
        }
        var problems: [String] = []
        for execution in executions {
            let id = execution["id"]?.stringValue ?? "?"
            if execution["status"]?.stringValue != "completed" {
                problems.append("execution \(id) is \(execution["status"]?.stringValue ?? "?")")
            }
            let steps = execution["execution_log"]?.arrayValue ?? []
            let extract = steps.first { $0["step_id"]?.stringValue == "extract" }
            let found = extract?["output"]?["invoice_number"]?.stringValue
            if found != invoiceNumber {
                problems.append("execution \(id): extract found invoice_number \(found ?? "nothing")")
            }
            let requests = receiver.requests(key: "\(id):notify")
            if requests != 1 { problems.append("execution \(id): the receiver got \(requests) requests") }
        }
        return (executions.count, problems)
    }
}

/// One mode of the worker mode.
struct WorkerModeFigures: Codable, Sendable {
    /// `local`, `1 worker`, `2 workers`...
    var mode: String
    var workers: Int
    /// CPU: `worker` is `docflow serve` (the engine), `step_workers` the `docflow worker`s.
    var closedLoop: ClosedLoopFigures
    /// Executions that ended during the mode (warm-up and drain included), and the requests the
    /// receiver counted meanwhile: one each when all is well.
    var executions: Int
    var receiverRequests: Int
    /// Requests with an `Idempotency-Key` seen before (a retried notification), over the whole run.
    var duplicateRequests: Int
    /// The latest executions, read back through the API and checked.
    var sampled: Int
    var sampleProblems: [String]
    var warnings: [String]
}

/// The worker mode's settings and modes, in the run's JSON.
struct WorkerRunFigures: Codable, Sendable {
    var workflow: String
    var executions: Int
    var warmup: Int
    var inFlight: Int
    var workerConcurrency: Int
    var statusEventsPerExecution: Double
    var modes: [WorkerModeFigures]
}

extension BenchRun {
    /// Every mode of the worker mode, on one receiver.
    func measureWorkerModes() async throws -> WorkerRunFigures {
        let receiver = try HTTPReceiver()
        receiver.start()
        defer { receiver.stop() }
        Self.say("worker mode: receiver at \(receiver.url("/hook"))")
        var modes: [WorkerModeFigures] = []
        var perExecution = 0.0
        for count in [0] + options.workerCounts {
            let (mode, events) = try await measureWorkerMode(workers: count, receiver: receiver)
            modes.append(mode)
            perExecution = events
        }
        return WorkerRunFigures(
            workflow: "parse -> extract -> integration (webhook to a local receiver)",
            executions: options.workerExecutions, warmup: options.workerWarmup, inFlight: options.workerInFlight,
            workerConcurrency: options.workerConcurrency, statusEventsPerExecution: rounded(perExecution, 2),
            modes: modes)
    }

    /// One mode: `workers` 0 runs the steps in `docflow serve`, more dispatches them.
    private func measureWorkerMode(
        workers count: Int, receiver: HTTPReceiver
    ) async throws -> (WorkerModeFigures, statusEvents: Double) {
        let name = count == 0 ? "local" : count == 1 ? "1 worker" : "\(count) workers"
        let prefix = "\(runID)-w\(count)"
        let binary = options.docflow ?? ServerProcess.binaryBesideBench()
        let loopback = ["--outbound-allow", "127.0.0.1/32"]
        let server = try ServerProcess(
            binary: binary, prefix: prefix, synchronous: "FULL", amqpURL: options.amqpURL,
            arguments: count == 0 ? loopback : ["--dispatch", InvoiceWorkflow.stepTypes.joined(separator: ",")])
        let cleanup = try await control.openChannel()
        var workers: [WorkerProcess] = []
        var monitor: StatusMonitor?
        var publisher: EventPublisher?
        func removeQueues() async {
            await server.removeTopology(channel: cleanup)
            guard count > 0 else { return }
            for queue in InvoiceWorkflow.stepTypes.map({ "\(prefix).tasks.\($0)" }) + ["\(prefix).results"] {
                _ = try? await cleanup.deleteQueue(queue)
            }
        }
        do {
            let client = try await APIClient(connection: control, queue: server.apiQueue)
            Self.say("workers, \(name): starting docflow serve (prefix \(prefix))")
            try await server.start(client: client)
            let workflowID = try await InvoiceWorkflow.create(with: client, receiverURL: receiver.url("/hook"))
            for index in 0..<count {
                workers.append(
                    try WorkerProcess(
                        binary: binary, name: "\(prefix)-worker-\(index + 1)", prefix: prefix,
                        amqpURL: options.amqpURL,
                        arguments: [
                            "--types", InvoiceWorkflow.stepTypes.joined(separator: ","), "--concurrency",
                            "\(options.workerConcurrency)",
                        ] + loopback))
            }
            if count > 0 { try await waitForConsumers(count, prefix: prefix, workers: workers) }
            let status = try await StatusMonitor(
                connection: monitoring, exchange: server.statusExchange, queue: "\(prefix).bench-status")
            monitor = status
            let events = try await EventPublisher(
                channel: try await publishing.openChannel(), exchange: server.eventsExchange,
                routingKey: "document.uploaded", data: InvoiceWorkflow.eventData)
            publisher = events
            var target = LoadTarget(
                name: "docflow \(name)", publisher: events, monitor: status,
                worker: server.pid.map { ProcessSampler(pid: $0) }, broker: broker)
            target.stepWorkers = workers.map { ProcessSampler(pid: $0.pid) }

            let requestsBefore = receiver.counts.requests
            Self.say(
                "workers, \(name): closed loop, \(options.workerWarmup) + \(options.workerExecutions) executions, "
                    + "\(options.workerInFlight) in flight")
            let closed = try await ClosedLoop(target: target, inFlight: options.workerInFlight)
                .run(warmup: options.workerWarmup, events: options.workerExecutions)
            let totals = status.totals
            let executions = totals.endings
            var counts = receiver.counts
            // A webhook's request is answered before its execution ends; this wait is a safety net.
            for _ in 0..<50 where counts.requests - requestsBefore < executions {
                try await Task.sleep(for: .milliseconds(20))
                counts = receiver.counts
            }
            let sample = try await InvoiceWorkflow.check(
                workflowID: workflowID, client: client, receiver: receiver, limit: 5)
            let cpu = closed.cpuSecondsPerThousand
            Self.say(
                "workers, \(name): \(format(closed.rate, 1)) executions/s, engine CPU \(cpu.worker.map { format($0, 3) } ?? "-") "
                    + "ms/exec, workers CPU \(cpu.stepWorkers.map { format($0, 3) } ?? "-") ms/exec; receiver "
                    + "\(counts.requests - requestsBefore) requests for \(executions) executions; sample of "
                    + "\(sample.checked): \(sample.problems.isEmpty ? "ok" : sample.problems.joined(separator: "; "))")

            let failures = events.failures
            await events.stop()
            await status.stop()
            var warnings: [String] = []
            for worker in workers { warnings += await worker.stop() }
            workers = []
            let trouble = await server.stop()
            warnings += server.logTail(lines: 10).split(separator: "\n").map(String.init)
            if let trouble { warnings.append(trouble) }
            if failures.count > 0 {
                warnings.append("\(failures.count) event publishes failed: \(failures.lastError ?? "")")
            }
            if counts.requests - requestsBefore != executions {
                warnings.append(
                    "the receiver counted \(counts.requests - requestsBefore) requests for \(executions) executions")
            }
            await removeQueues()
            let mode = WorkerModeFigures(
                mode: name, workers: count, closedLoop: closed, executions: executions,
                receiverRequests: counts.requests - requestsBefore, duplicateRequests: counts.duplicates,
                sampled: sample.checked, sampleProblems: sample.problems, warnings: warnings)
            return (mode, Double(totals.executionEvents) / Double(max(executions, 1)))
        } catch {
            Self.say("workers, \(name) failed: \(error)\ndocflow serve's last log lines:\n\(server.logTail())")
            await publisher?.stop()
            await monitor?.stop()
            for worker in workers {
                for line in await worker.stop() { Self.say(line) }
            }
            await server.stop()
            await removeQueues()
            throw error
        }
    }

    /// Waits until each task queue of the prefix has `count` consumers, so that the warm-up does
    /// not begin with workers still starting.
    private func waitForConsumers(_ count: Int, prefix: String, workers: [WorkerProcess]) async throws {
        let channel = try await control.openChannel()
        let deadline = Nanos.now() + 60_000_000_000
        while true {
            var ready = true
            for type in InvoiceWorkflow.stepTypes {
                let info = try? await channel.inspectQueue("\(prefix).tasks.\(type)")
                if (info?.consumerCount ?? 0) < count { ready = false }
            }
            if ready { return }
            if let dead = workers.first(where: { !$0.isRunning }) {
                throw BenchError("\(dead.name) exited: see \(dead.logPath)")
            }
            guard Nanos.now() < deadline else {
                throw BenchError("\(count) docflow workers did not consume \(prefix).tasks.* within 60 s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
