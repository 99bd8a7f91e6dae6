/// What one client may hold of the HTTP port: how long a request may take to arrive, how long a
/// kept-alive connection may wait for the next, how many connections are open at once, and how
/// large a request body may be.
package struct HTTPLimits: Sendable, Equatable {
    /// A new connection's first request, and any request once its first byte has arrived, must
    /// arrive whole (head and body) within this; else the connection is closed.
    package var readTimeout = Duration.seconds(10)
    /// A kept-alive connection with no request in progress is closed after this.
    package var idleTimeout = Duration.seconds(60)
    /// Connections open at once; more wait in the kernel's listen backlog, and beyond it are refused.
    package var maxConnections = 512
    /// Larger request bodies are answered `413 payload_too_large`.
    package var maxBodyBytes = 16 * 1024 * 1024

    package init() {}
}
