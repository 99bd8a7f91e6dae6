import Foundation

/// One broker to connect to: a node of a cluster, or the only broker.
public struct AMQPEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String
    public var virtualHost: String

    public init(
        host: String = "127.0.0.1", port: Int = 5672, username: String = "guest", password: String = "guest",
        virtualHost: String = "/"
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.virtualHost = virtualHost
    }

    /// Reads `amqp://user:password@host:port/vhost`; the vhost is percent-decoded (`%2F` is `/`),
    /// and an absent one is `/`. `amqps` is not supported by this client.
    public init(url: String) throws(AMQPConfiguration.URLError) {
        guard let components = URLComponents(string: url), components.scheme == "amqp" else {
            throw AMQPConfiguration.URLError(description: "not an amqp:// URL: \(Self.redacted(url))")
        }
        self.init()
        if let host = components.host, !host.isEmpty { self.host = host }
        if let port = components.port { self.port = port }
        if let user = components.user { self.username = user }
        if let password = components.password { self.password = password }
        let path = components.percentEncodedPath
        if path.count > 1 {
            let raw = String(path.dropFirst())
            guard let vhost = raw.removingPercentEncoding else {
                throw AMQPConfiguration.URLError(description: "bad virtual host in \(Self.redacted(url))")
            }
            self.virtualHost = vhost
        }
    }

    /// `amqp://host:port/vhost`, safe to log: no credentials.
    public var redacted: String { "amqp://\(host):\(port)/\(virtualHost == "/" ? "%2F" : virtualHost)" }

    /// A URL with whatever stands before an `@` dropped, for error messages.
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://") else { return url }
        return String(url[..<scheme.upperBound]) + String(url[url.index(after: at)...])
    }
}
