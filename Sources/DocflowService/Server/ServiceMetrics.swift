import AMQPClient
import CoreMetrics
import DocflowEngine
import Prometheus
import Synchronization

/// The worker's metrics, in a Prometheus registry of its own (no global metrics system), served
/// as text on `GET /metrics`.
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let seenConnects = Mutex<[String: Int]>([:])

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        self.factory = factory
    }

    var engine: EngineMetrics { EngineMetrics(factory: factory) }

    func consumed(_ queue: String) {
        Counter(label: "docflow_messages_consumed_total", dimensions: [("queue", queue)], factory: factory).increment()
    }

    func published(_ exchange: String, count: Int = 1) {
        Counter(label: "docflow_messages_published_total", dimensions: [("exchange", exchange)], factory: factory)
            .increment(by: count)
    }

    func deadLettered(_ queue: String) {
        Counter(label: "docflow_messages_dead_lettered_total", dimensions: [("queue", queue)], factory: factory)
            .increment()
    }

    /// A status event the broker refused for good was moved to `outbox_parked`.
    func parked(_ exchange: String) {
        Counter(label: "docflow_status_events_parked_total", dimensions: [("exchange", exchange)], factory: factory)
            .increment()
    }

    /// The Prometheus text; counts broker reconnects seen since the last scrape first.
    func render(connections: [AMQPConnection]) -> String {
        for connection in connections {
            let name = connection.configuration.connectionName
            let connects = connection.connectCount
            let reconnects = max(connects - 1, 0)
            let delta = seenConnects.withLock { seen -> Int in
                defer { seen[name] = reconnects }
                return reconnects - (seen[name] ?? 0)
            }
            let counter = Counter(
                label: "docflow_broker_reconnects_total", dimensions: [("connection", name)], factory: factory)
            if delta > 0 { counter.increment(by: delta) }
        }
        return registry.emitToString()
    }
}
