import AMQPClient
import DocflowEngine
import DocflowStore

/// What a started worker runs on, built by its start-up I/O.
struct Components: Sendable {
    let store: Store
    /// Held until `close()`: the lease on the prefix ends with the consuming connection.
    let lock: DatabaseLock
    let engine: Engine
    let jq: JQPool
    let consuming: AMQPConnection
    let publishing: AMQPConnection
    let http: HTTPServer?
    /// Status events for the console's live pages.
    let feed: StatusFeed
    /// The API's routes, as the router holds them.
    let routes: [Router.Entry]
    /// In start order; they stop in reverse.
    let services: [Supervised]

    /// Closes both connections, each sending its pending acks first (which ends the prefix's
    /// lease), kills the jq helpers and lets go of the database's lock.
    func close() async {
        await consuming.close()
        await publishing.close()
        jq.shutdown()
        lock.release()
    }
}
