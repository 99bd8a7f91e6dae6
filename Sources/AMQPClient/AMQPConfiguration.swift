import Foundation

/// Where and how to connect. Parse one from an `amqp://user:pass@host:port/vhost` URL, or from
/// several, comma-separated: the nodes of a cluster, tried in turn (see `endpoints`).
public struct AMQPConfiguration: Sendable, Equatable {
    /// The brokers to connect to, never empty. Each (re)connect tries them in turn, starting
    /// after the one that failed or dropped the connection last; the first attempt after losing
    /// a connection is immediate, and the backoff below applies once every one failed in a row.
    public var endpoints: [AMQPEndpoint] {
        didSet { if endpoints.isEmpty { endpoints = [AMQPEndpoint()] } }
    }
    /// The first endpoint's settings; setting one changes the first endpoint only.
    public var host: String {
        get { endpoints[0].host }
        set { endpoints[0].host = newValue }
    }
    public var port: Int {
        get { endpoints[0].port }
        set { endpoints[0].port = newValue }
    }
    public var username: String {
        get { endpoints[0].username }
        set { endpoints[0].username = newValue }
    }
    public var password: String {
        get { endpoints[0].password }
        set { endpoints[0].password = newValue }
    }
    public var virtualHost: String {
        get { endpoints[0].virtualHost }
        set { endpoints[0].virtualHost = newValue }
    }
    /// Seconds between heartbeats proposed to the broker, which may lower it; 0 turns them off.
    /// With heartbeats on, the connection sends one whenever it sent nothing for half the
    /// negotiated interval, and closes (then reconnects) when nothing at all came from the broker
    /// for two intervals. The default, 30, suits clients; a server that reports readiness wants
    /// less.
    public var heartbeat: Int
    public var connectTimeout: Duration
    /// How long a synchronous command (declare, consume, ...) may wait for the broker.
    public var rpcTimeout: Duration
    /// Reconnect backoff: the first wait once every endpoint failed in a row, doubled after each
    /// further round of failures up to the cap.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Shown in the broker's management UI.
    public var connectionName: String

    public init(
        host: String = "127.0.0.1", port: Int = 5672, username: String = "guest", password: String = "guest",
        virtualHost: String = "/", heartbeat: Int = 30, connectTimeout: Duration = .seconds(5),
        rpcTimeout: Duration = .seconds(30), initialBackoff: Duration = .milliseconds(100),
        maxBackoff: Duration = .seconds(10), connectionName: String = "amqp-client"
    ) {
        self.endpoints = [
            AMQPEndpoint(host: host, port: port, username: username, password: password, virtualHost: virtualHost)
        ]
        self.heartbeat = heartbeat
        self.connectTimeout = connectTimeout
        self.rpcTimeout = rpcTimeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.connectionName = connectionName
    }

    public struct URLError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads one `amqp://user:password@host:port/vhost` URL or several separated by commas (a
    /// comma inside a URL is written `%2C`); see `AMQPEndpoint.init(url:)`.
    public init(url: String, connectionName: String = "amqp-client") throws(URLError) {
        try self.init(urls: [url], connectionName: connectionName)
    }

    /// Reads URLs as `init(url:)` does; each may itself be a comma-separated list.
    public init(urls: [String], connectionName: String = "amqp-client") throws(URLError) {
        self.init(connectionName: connectionName)
        var endpoints: [AMQPEndpoint] = []
        for list in urls {
            for url in list.split(separator: ",") {
                let url = url.trimmingCharacters(in: .whitespaces)
                if !url.isEmpty { endpoints.append(try AMQPEndpoint(url: url)) }
            }
        }
        guard !endpoints.isEmpty else { throw URLError(description: "no AMQP URL given") }
        self.endpoints = endpoints
    }

    /// The endpoints as `amqp://host:port/vhost`, comma-separated; safe to log: no credentials.
    public var redacted: String { endpoints.map(\.redacted).joined(separator: ",") }
}
