import AMQPClient
import DocflowEngine
import DocflowStore

/// What a started worker runs on, built by its start-up I/O.
struct Components: Sendable {
    let store: Store
    let engine: Engine
    let jq: JQPool
    let consuming: AMQPConnection
    let publishing: AMQPConnection
    let http: HTTPServer?
    /// In start order; they stop in reverse.
    let services: [Supervised]

    /// Closes both connections, each sending its pending acks first, and kills the jq helpers.
    func close() async {
        await consuming.close()
        await publishing.close()
        jq.shutdown()
    }
}
