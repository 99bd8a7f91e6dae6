import Foundation

/// A TCP forwarder on loopback in front of a server (the shared broker) that a test can freeze:
/// frozen, it forwards nothing either way and keeps every socket open, as a hung broker or a
/// stalled network path would, without touching the server that others use. New connections are
/// accepted and connected through while frozen, and wait like the others.
public final class FreezableProxy: @unchecked Sendable {
    private let lock = NSLock()
    private var frozen = false
    private var stopped = false
    private let listener: Int32
    private let target: sockaddr_in
    /// Why the proxy could not start.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The loopback port it listens on.
    public let port: Int

    /// Forwards to `host:port` (an IPv4 address or a name that resolves to one).
    public init(host: String, port targetPort: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(targetPort), &hints, &found) == 0, let found, let address = found.pointee.ai_addr
        else { throw Failure(description: "cannot resolve \(host)") }
        target = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
        freeaddrinfo(found)

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &local) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> Bool in
                bind(fd, generic, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw Failure(description: "cannot listen on loopback")
        }
        listener = fd
        port = Int(UInt16(bigEndian: local.sin_port))
        let accepting = Thread { [self] in acceptLoop() }
        accepting.name = "test proxy accept"
        accepting.start()
    }

    /// Stops forwarding, both ways, on every connection; sockets stay open.
    public func freeze() { lock.withLock { frozen = true } }

    /// Forwards again, starting with what waited meanwhile.
    public func thaw() { lock.withLock { frozen = false } }

    /// Closes the listener and every connection.
    public func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private var isFrozen: Bool { lock.withLock { frozen } }
    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        while !isStopped {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = target
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    connect(upstream, generic, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard connected else {
                close(upstream)
                close(client)
                continue
            }
            let forwarding = Thread { [self] in forward(client, upstream) }
            forwarding.name = "test proxy"
            forwarding.start()
        }
    }

    /// Copies bytes both ways until either side closes or the proxy stops.
    private func forward(_ a: Int32, _ b: Int32) {
        defer {
            close(a)
            close(b)
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !isStopped {
            if isFrozen {
                usleep(20_000)
                continue
            }
            var fds = [
                pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, 20) <= 0 { continue }
            // Checked again: a freeze that began during the poll holds back what it reported.
            if isFrozen { continue }
            for (from, to) in [(0, b), (1, a)] where fds[from].revents != 0 {
                let n = read(fds[from].fd, &buffer, buffer.count)
                if n <= 0 { return }
                var written = 0
                while written < n {
                    let w = buffer.withUnsafeBytes {
                        send(to, $0.baseAddress! + written, n - written, Int32(MSG_NOSIGNAL))
                    }
                    if w <= 0 { return }
                    written += w
                }
            }
        }
    }
}
