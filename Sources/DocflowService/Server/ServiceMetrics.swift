import AMQPClient
import CoreMetrics
import DocflowClient
import DocflowEngine
import DocflowStore
import Prometheus
import Synchronization

/// The worker's metrics, in a Prometheus registry of its own (no global metrics system), served
/// as text on `GET /metrics`. Every family has a `# HELP` line; counters of the hot path are made
/// once and kept, and the gauges are read from their sources at each scrape, so they cost nothing
/// between scrapes.
final class ServiceMetrics: Sendable {
    enum Family {
        static let consumed = "docflow_messages_consumed_total"
        static let deadLettered = "docflow_messages_dead_lettered_total"
        static let published = "docflow_messages_published_total"
        static let parked = "docflow_status_events_parked_total"
        static let reconnects = "docflow_broker_reconnects_total"
        static let inFlight = "docflow_executions_in_flight"
        static let waiting = "docflow_executions_waiting"
        static let outbox = "docflow_outbox_messages"
        static let outboxParked = "docflow_outbox_parked_messages"
        static let tasksAwaiting = "docflow_tasks_awaiting_result"
        static let workflowLabels = "docflow_metrics_workflow_labels"
    }

    /// The help text of each family the service makes; the engine's are in `EngineMetrics.help`.
    static let help: [String: String] = [
        Family.consumed: "Messages taken from a queue: API requests and platform events.",
        Family.deadLettered:
            "Messages docflow moved to the dead-letter queue as unprocessable, by the queue they came from.",
        Family.published: "Status events and tasks the broker confirmed, by exchange.",
        Family.parked: "Status events the broker refused for good, moved to the outbox_parked table.",
        Family.reconnects: "Times a broker connection was made again after it was lost.",
        Family.inFlight: "Executions running steps now, each holding one of the engine's slots.",
        Family.waiting: "Executions started and waiting for a slot.",
        Family.outbox: "Messages committed and waiting in the outbox to be published: status events and tasks.",
        Family.outboxParked: "Status events in the outbox_parked table, never to be published again.",
        Family.tasksAwaiting: "Step attempts sent to docflow workers and waiting for their result.",
        Family.workflowLabels:
            "Workflows with a workflow label value of their own; at --metrics-workflow-labels the rest share \"other\".",
    ]

    /// What the gauges are read from at each scrape.
    struct Sources: Sendable {
        var connections: [AMQPConnection]
        var engine: Engine
        var store: Store
        /// Set when steps are dispatched to workers.
        var pendingTasks: PendingTasks?
    }

    let registry = PrometheusCollectorRegistry()
    let factory: DescribedMetricsFactory
    let engine: EngineMetrics
    /// The counters of the queues and exchanges known at start, by name.
    private let consumedCounters: [String: any CounterHandler]
    private let deadLetteredCounters: [String: any CounterHandler]
    private let publishedCounters: [String: any CounterHandler]
    private let gauges: Gauges
    private let seenConnects = Mutex<[String: Int]>([:])

    private struct Gauges {
        let inFlight: Prometheus.Gauge
        let waiting: Prometheus.Gauge
        let outbox: Prometheus.Gauge
        let outboxParked: Prometheus.Gauge
        let tasksAwaiting: Prometheus.Gauge
        let workflowLabels: Prometheus.Gauge
    }

    /// - Parameter workflowLabels: how many workflows get a `workflow` label value of their own.
    init(names: Names, workflowLabels: Int = 100) {
        let factory = DescribedMetricsFactory(
            registry: registry, help: Self.help.merging(EngineMetrics.help) { own, _ in own },
            timerBuckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
            ])
        self.factory = factory
        engine = EngineMetrics(factory: factory, workflowLabels: workflowLabels)
        func counters(_ family: String, _ label: String, _ values: [String]) -> [String: any CounterHandler] {
            Dictionary(
                values.map { ($0, factory.makeCounter(label: family, dimensions: [(label, $0)])) },
                uniquingKeysWith: { first, _ in first })
        }
        let queues = [names.apiQueue, names.platformEventsQueue]
        consumedCounters = counters(Family.consumed, "queue", queues)
        deadLetteredCounters = counters(Family.deadLettered, "queue", queues)
        publishedCounters = counters(Family.published, "exchange", [names.statusExchange])
        func gauge(_ family: String) -> Prometheus.Gauge {
            factory.registry.makeGauge(descriptor: factory.descriptor(family), labels: [])
        }
        gauges = Gauges(
            inFlight: gauge(Family.inFlight), waiting: gauge(Family.waiting), outbox: gauge(Family.outbox),
            outboxParked: gauge(Family.outboxParked), tasksAwaiting: gauge(Family.tasksAwaiting),
            workflowLabels: gauge(Family.workflowLabels))
    }

    private func counter(_ family: String, _ label: String, _ value: String, in known: [String: any CounterHandler])
        -> any CounterHandler
    {
        known[value] ?? factory.makeCounter(label: family, dimensions: [(label, value)])
    }

    func consumed(_ queue: String) {
        counter(Family.consumed, "queue", queue, in: consumedCounters).increment(by: 1)
    }

    func published(_ exchange: String, count: Int = 1) {
        counter(Family.published, "exchange", exchange, in: publishedCounters).increment(by: Int64(count))
    }

    func deadLettered(_ queue: String) {
        counter(Family.deadLettered, "queue", queue, in: deadLetteredCounters).increment(by: 1)
    }

    /// A status event the broker refused for good was moved to `outbox_parked`.
    func parked(_ exchange: String) {
        factory.makeCounter(label: Family.parked, dimensions: [("exchange", exchange)]).increment(by: 1)
    }

    /// The Prometheus text: counts broker reconnects seen since the last scrape and reads the
    /// gauges first.
    func render(_ sources: Sources) async -> String {
        for connection in sources.connections {
            let name = connection.configuration.connectionName
            let connects = connection.connectCount
            let reconnects = max(connects - 1, 0)
            let delta = seenConnects.withLock { seen -> Int in
                defer { seen[name] = reconnects }
                return reconnects - (seen[name] ?? 0)
            }
            let counter = factory.makeCounter(label: Family.reconnects, dimensions: [("connection", name)])
            if delta > 0 { counter.increment(by: Int64(delta)) }
        }
        let load = sources.engine.load
        gauges.inFlight.set(Int64(load.running))
        gauges.waiting.set(Int64(load.waiting))
        gauges.tasksAwaiting.set(Int64(sources.pendingTasks?.count ?? 0))
        gauges.workflowLabels.set(Int64(engine.labelledWorkflows))
        // A database that cannot be read leaves the last values: the scrape still answers.
        if let (outbox, parked) = try? await sources.store.read({ db in
            (try Outbox.count(db), try Outbox.parkedCount(db))
        }) {
            gauges.outbox.set(Int64(outbox))
            gauges.outboxParked.set(Int64(parked))
        }
        return registry.emitToString()
    }
}
