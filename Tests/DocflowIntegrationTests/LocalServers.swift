import DocflowCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real HTTP server on loopback that records every request and answers from a script.
final class RecordingHTTPServer: Sendable {
    struct Recorded: Sendable {
        let method: String
        let path: String
        /// Header names in lower case.
        let headers: [String: String]
        let body: Data
        let receivedAt: ContinuousClock.Instant
    }

    struct Answer: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String = "ok"
        /// How long to wait before answering (a slow or hanging receiver).
        var delay: Duration = .zero
        /// Answers only once this is opened (at most a minute): a receiver the test releases.
        var gate: Latch? = nil
    }

    private let state = Mutex<(recorded: [Recorded], script: [Answer])>(([], []))
    private let portBox = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// The address it listens on: any of 127/8 (Linux routes all of it to loopback), or `::1`.
    let host: String

    init(host: String = "127.0.0.1") {
        self.host = host
    }

    var requests: [Recorded] { state.withLock { $0.recorded } }
    var port: Int { portBox.withLock { $0 } ?? 0 }

    /// Answers these in order, then 200 "ok".
    func script(_ answers: [Answer]) {
        state.withLock { $0.script = answers }
    }

    func start() async throws {
        let responder = CallbackResponder<BasicRequestContext> { [self] request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let answer = self.state.withLock { state -> Answer in
                state.recorded.append(
                    Recorded(
                        method: request.method.rawValue, path: request.uri.path, headers: headers,
                        body: Data(buffer: body), receivedAt: .now))
                return state.script.isEmpty ? Answer(status: 200) : state.script.removeFirst()
            }
            if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
            if let gate = answer.gate { _ = await gate.wait(timeout: .seconds(60)) }
            var responseHeaders = HTTPFields()
            for (name, value) in answer.headers { responseHeaders[HTTPField.Name(name)!] = value }
            return Response(
                status: .init(code: answer.status), headers: responseHeaders,
                body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        var logger = Logger(label: "test.http")
        logger.logLevel = .error
        let application = Application(
            responder: responder, configuration: .init(address: .hostname(host, port: 0)),
            onServerRunning: { [self] channel in self.portBox.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
        task.withLock { $0 = Task { try? await application.runService(gracefulShutdownSignals: []) } }
        // Generous: on a loaded machine with hundreds of tests in parallel, starting takes a while.
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while portBox.withLock({ $0 }) == nil {
            if ContinuousClock.now > deadline { throw TestFailure("the recording HTTP server did not start") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func stop() {
        task.withLock { $0 }?.cancel()
    }

    func url(_ path: String) -> String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}

/// A small real SMTP server on loopback that accepts every message and keeps it.
final class SMTPListener: @unchecked Sendable {
    struct Message: Sendable {
        let from: String
        let recipients: [String]
        let data: String
    }

    private let lock = NSLock()
    private var received: [Message] = []
    private var listener: Int32 = -1
    private(set) var port = 0

    var messages: [Message] { lock.withLock { received } }

    func start() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> Bool in
                bind(listener, generic, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, generic, &length) == 0
            }
        }
        guard ok else { throw TestFailure("cannot start the SMTP listener") }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                serve(client)
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve(_ fd: Int32) {
        var buffer = [UInt8]()
        func send(_ line: String) {
            let bytes = Array((line + "\r\n").utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        func readLine() -> String? {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<end], as: UTF8.self).trimmingCharacters(in: ["\r"])
                    buffer.removeSubrange(...end)
                    return line
                }
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return nil }
                buffer.append(contentsOf: chunk[..<n])
            }
        }
        send("220 localhost test SMTP")
        var from = ""
        var recipients: [String] = []
        while let line = readLine() {
            let upper = line.uppercased()
            if upper.hasPrefix("EHLO") || upper.hasPrefix("HELO") {
                send("250-localhost")
                send("250 8BITMIME")
            } else if upper.hasPrefix("MAIL FROM:") {
                from = String(line.dropFirst(10)).trimmingCharacters(in: [" ", "<", ">"])
                send("250 OK")
            } else if upper.hasPrefix("RCPT TO:") {
                recipients.append(String(line.dropFirst(8)).trimmingCharacters(in: [" ", "<", ">"]))
                send("250 OK")
            } else if upper == "DATA" {
                send("354 go ahead")
                var lines: [String] = []
                while let dataLine = readLine(), dataLine != "." {
                    lines.append(dataLine.hasPrefix("..") ? String(dataLine.dropFirst()) : dataLine)
                }
                let message = Message(from: from, recipients: recipients, data: lines.joined(separator: "\r\n"))
                lock.withLock { received.append(message) }
                recipients = []
                send("250 OK queued")
            } else if upper == "QUIT" {
                send("221 bye")
                return
            } else {
                send("250 OK")
            }
        }
    }
}
