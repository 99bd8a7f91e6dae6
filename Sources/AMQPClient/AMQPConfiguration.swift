import Foundation

/// Where and how to connect. Parse one from an `amqp://user:pass@host:port/vhost` URL.
public struct AMQPConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String
    public var virtualHost: String
    /// Seconds between heartbeats proposed to the broker, which may lower it; 0 turns them off.
    /// With heartbeats on, the connection sends one whenever it sent nothing for half the
    /// negotiated interval, and closes (then reconnects) when nothing at all came from the broker
    /// for two intervals. The default, 30, suits clients; a server that reports readiness wants
    /// less.
    public var heartbeat: Int
    public var connectTimeout: Duration
    /// How long a synchronous command (declare, consume, ...) may wait for the broker.
    public var rpcTimeout: Duration
    /// Reconnect backoff: the first wait, doubled after each failure up to the cap.
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
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.virtualHost = virtualHost
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

    /// Reads `amqp://user:password@host:port/vhost`; the vhost is percent-decoded (`%2F` is `/`),
    /// and an absent one is `/`. `amqps` is not supported by this client.
    public init(url: String, connectionName: String = "amqp-client") throws(URLError) {
        guard let components = URLComponents(string: url), components.scheme == "amqp" else {
            throw URLError(description: "not an amqp:// URL: \(url)")
        }
        self.init(connectionName: connectionName)
        if let host = components.host, !host.isEmpty { self.host = host }
        if let port = components.port { self.port = port }
        if let user = components.user { self.username = user }
        if let password = components.password { self.password = password }
        let path = components.percentEncodedPath
        if path.count > 1 {
            let raw = String(path.dropFirst())
            guard let vhost = raw.removingPercentEncoding else {
                throw URLError(description: "bad virtual host in \(url)")
            }
            self.virtualHost = vhost
        }
    }

    /// `host:port/vhost`, safe to log: no credentials.
    public var redacted: String { "amqp://\(host):\(port)/\(virtualHost == "/" ? "%2F" : virtualHost)" }
}
