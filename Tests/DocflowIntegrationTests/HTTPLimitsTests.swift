import DocflowCore
import DocflowService
import Foundation
import NIOCore
import Testing

/// A test server with an HTTP port and the given limits, answering `/healthz`.
private func startServer(_ configure: @escaping (inout HTTPLimits) -> Void) async throws -> (TestServer, Int) {
    try await TestServer.startWithHTTP { configure(&$0.httpLimits) }
}

@Suite("HTTP limits")
struct HTTPLimitsTests {
    @Test func aBodyOverTheLimitGets413WithAJSONError() async throws {
        let (server, port) = try await startServer { $0.maxBodyBytes = 1024 }
        let large = Data(repeating: UInt8(ascii: " "), count: 4096)
        let reply = try await http("POST", port, "/api/workflows", body: large)
        #expect(reply.status == 413)
        #expect(reply.body?["error"]?["code"] == "payload_too_large")
        #expect(reply.body?["error"]?["message"]?.stringValue?.contains("1024 bytes") == true)
        let hook = try await http("POST", port, "/hooks/\(UUID().uuidString.lowercased())", body: large)
        #expect(hook.status == 413)
        // A body at the limit is read as usual.
        var atLimit = Data("{\"name\": \"\"}".utf8)
        atLimit.append(Data(repeating: UInt8(ascii: " "), count: 1024 - atLimit.count))
        #expect(try await http("POST", port, "/api/workflows", body: atLimit).status == 400)
        try await server.stop()
    }

    @Test func aChunkedBodyOverTheLimitGets413() async throws {
        let (server, port) = try await startServer { $0.maxBodyBytes = 1024 }
        let connection = try RawConnection(port: port)
        let chunk = String(repeating: " ", count: 800)
        connection.send(
            "POST /api/workflows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(testAPIKey)\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n")
        let reply = try await connection.readResponse(within: .seconds(10))
        #expect(reply.hasPrefix("HTTP/1.1 413"), "\(reply)")
        #expect(reply.contains(#""code":"payload_too_large""#))
        try await server.stop()
    }
}

@Suite("HTTP limits Timing")
struct HTTPLimitsTimingTests {
    @Test func halfARequestHeadIsClosedWithinTheReadTimeout() async throws {
        let (server, port) = try await startServer { $0.readTimeout = .seconds(1) }
        let connection = try RawConnection(port: port)
        connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        let closed = await connection.waitForClose(within: .seconds(4))
        let after = try #require(closed, "a half-sent head kept its connection open")
        #expect(after >= .milliseconds(800))
        try await server.stop()
    }

    @Test func aBodyThatDoesNotArriveInTimeIsClosedEvenWhileItTrickles() async throws {
        let (server, port) = try await startServer { $0.readTimeout = .seconds(1) }
        let connection = try RawConnection(port: port)
        connection.send("POST /api/workflows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(testAPIKey)\r\nContent-Length: 100\r\n\r\n{")
        let started = ContinuousClock.now
        // A byte every 200 ms: never idle, never done.
        while ContinuousClock.now - started < .seconds(4), connection.isOpen {
            connection.send(" ")
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(!connection.isOpen, "a trickling body kept its connection open")
        #expect(ContinuousClock.now - started < .seconds(3))
        try await server.stop()
    }

    @Test func anIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        let (server, port) = try await startServer { $0.idleTimeout = .seconds(1) }
        let connection = try RawConnection(port: port)
        connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try await connection.readResponse(within: .seconds(5))
        #expect(first.hasPrefix("HTTP/1.1 200"))
        // Kept alive: a second request on the same connection is answered.
        connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await connection.readResponse(within: .seconds(5)).hasPrefix("HTTP/1.1 200"))
        let closed = await connection.waitForClose(within: .seconds(4))
        let after = try #require(closed, "an idle connection stayed open")
        #expect(after >= .milliseconds(800))
        try await server.stop()
    }

    @Test func connectionsOverTheCapWaitInTheBacklogAndTheServerStillAnswers() async throws {
        let cap = 4
        let (server, port) = try await startServer { $0.maxConnections = cap }
        var idle = try (0..<(cap * 3)).map { _ in try RawConnection(port: port) }
        // Sampled once the accepting has settled, and the median taken: /proc/net/tcp is read in
        // pages while other tests' sockets come and go, so one reading is no snapshot.
        try await Task.sleep(for: .milliseconds(500))
        var samples: [Int] = []
        for _ in 0..<11 {
            samples.append(try openServerSockets(port: port))
            try await Task.sleep(for: .milliseconds(50))
        }
        let open = samples.sorted()[samples.count / 2]
        #expect(open <= cap, "\(open) connections open at once (readings \(samples)), the cap is \(cap)")
        #expect(open > 0)
        // As earlier ones close, those waiting in the backlog are taken, and a new one is answered.
        idle.removeAll()
        let fresh = try RawConnection(port: port)
        fresh.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await fresh.readResponse(within: .seconds(15)).hasPrefix("HTTP/1.1 200"))
        try await server.stop()
    }
}

@Suite("HTTP limits: idle connections give way")
struct HTTPIdleEvictionTests {
    @Test func idleConnectionsAtTheCapGiveWayToANewRequest() async throws {
        let cap = 4
        // Idle connections would hold their places for the whole read timeout: 30 s.
        let (server, port) = try await startServer {
            $0.maxConnections = cap
            $0.readTimeout = .seconds(30)
        }
        let idle = try (0..<(cap * 3)).map { _ in try RawConnection(port: port) }
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        let fresh = try RawConnection(port: port)
        fresh.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await fresh.readResponse(within: .seconds(20)).hasPrefix("HTTP/1.1 200"))
        #expect(ContinuousClock.now - started < .seconds(10), "a health check waited for idle connections")
        // The oldest idle ones were closed to make room.
        #expect(await idle[0].waitForClose(within: .seconds(5)) != nil)
        try await server.stop()
    }
}

/// Sockets this process holds whose local port is `port`: the server's accepted connections.
/// A connection still in the listen backlog has no file yet (inode 0), so it does not count.
private func openServerSockets(port: Int) throws -> Int {
    // procfs reports a size of 0, so read to the end rather than trust it.
    let fd = open("/proc/net/tcp", O_RDONLY)
    guard fd >= 0 else { throw TestFailure("cannot read /proc/net/tcp: errno \(errno)") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    let table = String(decoding: bytes, as: UTF8.self)
    let hexPort = String(format: ":%04X", port)
    // Read in pages while sockets come and go, the table may list one twice: count peers, once.
    var peers = Set<Substring>()
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        // local address, remote address, state (0A is LISTEN), inode
        if fields.count > 9, fields[1].hasSuffix(hexPort), fields[3] != "0A", fields[9] != "0" {
            peers.insert(fields[2])
        }
    }
    return peers.count
}

/// A TCP connection to 127.0.0.1 that sends what a test says and never blocks a thread:
/// reads poll a non-blocking socket between short sleeps.
private final class RawConnection {
    let fd: Int32
    private(set) var isOpen = true
    private var received = Data()

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw TestFailure("cannot connect to port \(port): errno \(errno)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        if bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) < 0 {
            isOpen = false
        }
    }

    /// Reads what has arrived; notes end of stream or a reset.
    private func poll() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while isOpen {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                isOpen = false
            } else {
                return
            }
        }
    }

    /// How long until the server closed the connection, or nil if it is still open after `limit`.
    func waitForClose(within limit: Duration) async -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < limit {
            poll()
            if !isOpen { return ContinuousClock.now - started }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// One response: its head and a `Content-Length` body.
    func readResponse(within limit: Duration) async throws -> String {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < limit {
            poll()
            if let end = received.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count - end.upperBound >= length {
                    let response = received[..<(end.upperBound + length)]
                    received.removeSubrange(..<(end.upperBound + length))
                    return String(decoding: response, as: UTF8.self)
                }
            }
            if !isOpen {
                throw TestFailure("closed before a whole response: \(String(decoding: received, as: UTF8.self))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("no whole response in \(limit): \(String(decoding: received, as: UTF8.self))")
    }
}

@Suite("HTTP limits: connection timeouts")
struct HTTPConnectionTimeoutsTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let read = TimeAmount.seconds(10)
    let idle = TimeAmount.seconds(60)

    func connection() -> HTTPConnectionTimeouts {
        HTTPConnectionTimeouts(readTimeout: read, idleTimeout: idle, now: start)
    }

    @Test func aNewConnectionMustSendItsFirstRequestWithinTheReadTimeout() {
        let timeouts = connection()
        #expect(timeouts.deadline == start + read)
        #expect(timeouts.timerFired(now: start + read) == .close)
        #expect(timeouts.timerFired(now: start + .seconds(1)) == .schedule(start + read))
    }

    @Test func aRequestIsTimedFromItsFirstByteNotItsLast() {
        var timeouts = connection()
        #expect(timeouts.headRead(now: start + .seconds(1)) == .nothing)
        #expect(timeouts.endRead(now: start + .seconds(2)) == .cancelTimer)
        #expect(timeouts.responseEnded(now: start + .seconds(3)) == .schedule(start + .seconds(3) + idle))
        // Bytes of the next request start its read deadline; more bytes do not move it.
        let next = start + .seconds(20)
        #expect(timeouts.bytesArrived(now: next) == .schedule(next + read))
        #expect(timeouts.bytesArrived(now: next + .seconds(5)) == .nothing)
        #expect(timeouts.headRead(now: next + .seconds(6)) == .nothing)
        #expect(timeouts.timerFired(now: next + read) == .close)
    }

    @Test func whileAnsweringNothingIsTimed() {
        var timeouts = connection()
        _ = timeouts.headRead(now: start)
        _ = timeouts.endRead(now: start)
        #expect(timeouts.phase == .answering)
        #expect(timeouts.bytesArrived(now: start + .seconds(1)) == .nothing)
        #expect(timeouts.timerFired(now: start + .seconds(600)) == .nothing)
    }

    @Test func aBodyStillArrivingAfterItsAnswerKeepsItsReadDeadline() {
        var timeouts = connection()
        _ = timeouts.headRead(now: start)
        // A 413 written before the body ended: the rest is read on the request's deadline.
        #expect(timeouts.responseEnded(now: start + .seconds(1)) == .nothing)
        #expect(timeouts.phase == .reading(until: start + read))
        #expect(timeouts.endRead(now: start + .seconds(2)) == .schedule(start + .seconds(2) + idle))
    }

    @Test func aPipelinedRequestIsTimedOnceTheOneBeforeIsAnswered() {
        var timeouts = connection()
        _ = timeouts.headRead(now: start)
        _ = timeouts.endRead(now: start)
        #expect(timeouts.headRead(now: start + .seconds(1)) == .nothing)
        let answered = start + .seconds(30)
        #expect(timeouts.responseEnded(now: answered) == .schedule(answered + read))
        #expect(timeouts.endRead(now: answered + .seconds(1)) == .cancelTimer)
        #expect(timeouts.responseEnded(now: answered + .seconds(2)) == .schedule(answered + .seconds(2) + idle))
    }
}
