import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The webhook destination of the worker mode: a minimal HTTP/1.1 server on 127.0.0.1 (a port
/// of the system's choosing) that answers every request `200 ok`, keeps connections alive, and
/// counts requests by their `Idempotency-Key` (docflow sends `<execution>:<step>`), so the bench
/// can tell that each execution notified once. POSIX sockets, one accept thread and a thread per
/// connection: curl keeps a few connections per docflow process open and reuses them.
final class HTTPReceiver: Sendable {
    let port: UInt16
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var requests = 0
        var byKey: [String: Int] = [:]
        /// Requests that were not HTTP this receiver understands (chunked, no end of head).
        var malformed = 0
        var connections: Set<Int32> = []
        var stopped = false
    }

    /// What arrived so far.
    struct Counts: Sendable {
        var requests: Int
        /// Requests whose `Idempotency-Key` had come before.
        var duplicates: Int
        var malformed: Int
    }

    /// Binds and listens; `start` accepts.
    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("HTTP receiver: socket() failed, errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && listen(fd, 256) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard bound else {
            let error = errno
            close(fd)
            throw BenchError("HTTP receiver: cannot listen on 127.0.0.1, errno \(error)")
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func start() {
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    var counts: Counts {
        state.withLock { state in
            Counts(
                requests: state.requests, duplicates: state.byKey.values.reduce(0) { $0 + max($1 - 1, 0) },
                malformed: state.malformed)
        }
    }

    /// Requests that carried `key` as their `Idempotency-Key`.
    func requests(key: String) -> Int { state.withLock { $0.byKey[key] ?? 0 } }

    /// Stops accepting and ends every open connection.
    func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            // Wakes the threads blocked in accept() and recv(); each closes its own descriptor.
            shutdown(listener, Int32(SHUT_RDWR))
            for fd in state.connections { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.connections.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                break
            }
            Thread.detachNewThread { [self] in serve(fd) }
        }
        close(listener)
    }

    private static let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
    private static let headEnd = Array("\r\n\r\n".utf8)

    /// Reads requests off one connection until the peer closes it (or asks to), answering each.
    private func serve(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        /// Reads more into `buffer`; false at the end of the connection.
        func fill() -> Bool {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { return true }
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        connection: while true {
            // The head: up to the blank line, at most 64 KiB.
            var scanned = 0
            var found: Int?
            while true {
                while found == nil, scanned + 4 <= buffer.count {
                    if buffer[scanned..<scanned + 4].elementsEqual(Self.headEnd) { found = scanned }
                    scanned += 1
                }
                if found != nil { break }
                guard buffer.count <= 65_536 else {
                    state.withLock { $0.malformed += 1 }
                    break connection
                }
                guard fill() else { break connection }
            }
            guard let end = found else { break }
            let head = String(decoding: buffer[0..<end], as: UTF8.self)
            var contentLength = 0
            var key: String?
            var closes = false
            var chunked = false
            for line in head.split(separator: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch name {
                case "content-length": contentLength = Int(value) ?? 0
                case "idempotency-key": key = value
                case "connection": closes = value.lowercased() == "close"
                case "transfer-encoding": chunked = true
                default: break
                }
            }
            guard !chunked else {
                state.withLock { $0.malformed += 1 }
                break
            }
            let total = end + 4 + contentLength
            while buffer.count < total {
                guard fill() else { break connection }
            }
            buffer.removeFirst(total)
            state.withLock { state in
                state.requests += 1
                if let key { state.byKey[key, default: 0] += 1 }
            }
            var sent = 0
            while sent < Self.response.count {
                let count = Self.response.withUnsafeBytes {
                    send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
                }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break connection }
                sent += count
            }
            if closes { break }
        }
        state.withLock { _ = $0.connections.remove(fd) }
        close(fd)
    }
}
