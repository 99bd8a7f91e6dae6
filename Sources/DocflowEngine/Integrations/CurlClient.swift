import CCurl
import DocflowCore
import Foundation
import Synchronization

package struct HTTPRequest: Sendable {
    package var method: String
    package var url: String
    package var headers: [(String, String)]
    package var body: Data?
    /// The whole transfer, redirects included.
    package var timeout: Duration
    /// Larger responses fail the transfer.
    package var maxResponseBytes: Int
    /// Names of headers that carry secrets (compared without case): sent to the URL's own scheme,
    /// host and port only, and dropped when a redirect leads anywhere else.
    package var secretHeaders: Set<String>

    package init(
        method: String = "GET", url: String, headers: [(String, String)] = [], body: Data? = nil,
        timeout: Duration = .seconds(30), maxResponseBytes: Int = 10 * 1024 * 1024, secretHeaders: Set<String> = []
    ) {
        self.secretHeaders = Set(secretHeaders.map { $0.lowercased() })
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }
}

package struct HTTPResponse: Sendable {
    package var status: Int
    /// Header names in lower case.
    package var headers: [String: String]
    package var body: Data
    /// The URL that answered, after redirects.
    package var url: String
}

package enum TransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A bad URL or an unsupported scheme.
    case invalid(String)
    /// The destination policy refused it.
    case refused(String)
    /// DNS, connect, TLS, a reset, a time-out: worth another attempt.
    case network(String)
    case tooLarge(Int)

    package var description: String {
        switch self {
        case .invalid(let reason), .refused(let reason), .network(let reason): reason
        case .tooLarge(let limit): "response is larger than \(limit) bytes"
        }
    }
}

/// Outgoing HTTP and SMTP through libcurl. Transfers block, so they run on a bounded number of
/// threads beside the engine's tasks; each takes a reused easy handle from a pool.
package final class CurlClient: Sendable {
    private let policy: OutboundPolicy
    private let handles = Mutex<[Handle]>([])
    private let slots: AsyncSemaphore
    private let connectTimeout: Duration

    private struct Handle: @unchecked Sendable {
        let raw: UnsafeMutableRawPointer
    }

    private static let globalInit: Bool = {
        curl_global_init(Int(CURL_GLOBAL_ALL))
        return true
    }()

    package init(
        policy: OutboundPolicy = OutboundPolicy(), concurrency: Int = 16, connectTimeout: Duration = .seconds(5)
    ) {
        _ = Self.globalInit
        self.policy = policy
        self.slots = AsyncSemaphore(concurrency)
        self.connectTimeout = connectTimeout
    }

    deinit {
        for handle in handles.withLock({ $0 }) { curl_easy_cleanup(handle.raw) }
    }

    /// Sends a request, following up to 3 redirects; every connection, to the first host and to
    /// each redirect's, is checked against the policy. Errors name the URL through `redacted`.
    package func perform(_ request: HTTPRequest) async throws(TransferError) -> HTTPResponse {
        let deadline = ContinuousClock.now.advanced(by: request.timeout)
        var current = request
        for _ in 0...3 {
            let response = try await performOnce(current, deadline: deadline)
            guard [301, 302, 303, 307, 308].contains(response.status), let location = response.headers["location"],
                let next = URL(string: location, relativeTo: URL(string: current.url))?.absoluteString
            else { return response }
            if response.status == 303 || (response.status != 307 && response.status != 308 && current.method == "POST")
            {
                current.method = "GET"
                current.body = nil
            }
            if Self.origin(next) != Self.origin(current.url) {
                current.headers.removeAll { current.secretHeaders.contains($0.0.lowercased()) }
            }
            current.url = next
        }
        throw .network("too many redirects from \(Self.redacted(request.url))")
    }

    /// Sends an email: `message` is the whole RFC 5322 text.
    package func sendMail(smtpURL: String, from: String, to: [String], message: Data, timeout: Duration)
        async throws(TransferError)
    {
        guard let url = URL(string: smtpURL), let scheme = url.scheme?.lowercased(),
            ["smtp", "smtps"].contains(scheme),
            url.host != nil
        else { throw .invalid("the SMTP URL must be smtp:// or smtps://") }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        try await transfer { handle in
            var cleanup: [() -> Void] = []
            defer { cleanup.forEach { $0() } }
            let gate = self.common(handle, url: smtpURL, protocols: "smtp,smtps", deadline: deadline, cleanup: &cleanup)
            docflow_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(from)>")
            var recipients: UnsafeMutablePointer<curl_slist>?
            for address in to { recipients = curl_slist_append(recipients, "<\(address)>") }
            cleanup.append { curl_slist_free_all(recipients) }
            docflow_curl_set_slist(handle, CURLOPT_MAIL_RCPT, recipients)
            // STARTTLS when the server offers it; smtps:// is TLS from the start.
            docflow_curl_set_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
            docflow_curl_set_long(handle, CURLOPT_UPLOAD, 1)
            let source = Source(message)
            let sourcePointer = Unmanaged.passRetained(source)
            cleanup.append { sourcePointer.release() }
            docflow_curl_set_data_callback(handle, CURLOPT_READFUNCTION, readCallback)
            docflow_curl_set_pointer(handle, CURLOPT_READDATA, sourcePointer.toOpaque())
            let code = curl_easy_perform(handle)
            guard code == CURLE_OK else {
                throw Self.error(code, gate: gate, what: "sending mail through \(Self.redacted(smtpURL))")
            }
        }
    }

    // MARK: Internals

    private func performOnce(_ request: HTTPRequest, deadline: ContinuousClock.Instant) async throws(TransferError)
        -> HTTPResponse
    {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(),
            ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else { throw .invalid("not an http(s) URL: \(Self.redacted(request.url))") }
        return try await transfer { handle in
            var cleanup: [() -> Void] = []
            defer { cleanup.forEach { $0() } }
            let gate = self.common(
                handle, url: request.url, protocols: "http,https", deadline: deadline, cleanup: &cleanup)
            switch request.method {
            case "GET": docflow_curl_set_long(handle, CURLOPT_HTTPGET, 1)
            case "HEAD": docflow_curl_set_long(handle, CURLOPT_NOBODY, 1)
            default: docflow_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
            let body = request.body ?? Data()
            if request.method != "GET", request.method != "HEAD" {
                let copy = body.withUnsafeBytes { bytes -> UnsafeMutableRawPointer in
                    let memory = malloc(max(bytes.count, 1))!
                    if bytes.count > 0 { memory.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
                    return memory
                }
                cleanup.append { free(copy) }
                docflow_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
                docflow_curl_set_pointer(handle, CURLOPT_POSTFIELDS, copy)
            }
            var headers: UnsafeMutablePointer<curl_slist>?
            for (name, value) in request.headers { headers = curl_slist_append(headers, "\(name): \(value)") }
            // curl would otherwise send "Expect: 100-continue" and wait for it on larger bodies.
            headers = curl_slist_append(headers, "Expect:")
            cleanup.append { curl_slist_free_all(headers) }
            docflow_curl_set_slist(handle, CURLOPT_HTTPHEADER, headers)
            let sink = Sink(limit: request.maxResponseBytes)
            let sinkPointer = Unmanaged.passRetained(sink)
            cleanup.append { sinkPointer.release() }
            docflow_curl_set_data_callback(handle, CURLOPT_WRITEFUNCTION, writeCallback)
            docflow_curl_set_pointer(handle, CURLOPT_WRITEDATA, sinkPointer.toOpaque())
            docflow_curl_set_data_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback)
            docflow_curl_set_pointer(handle, CURLOPT_HEADERDATA, sinkPointer.toOpaque())
            let code = curl_easy_perform(handle)
            if sink.overflow { throw TransferError.tooLarge(request.maxResponseBytes) }
            guard code == CURLE_OK else {
                throw Self.error(code, gate: gate, what: "\(request.method) \(Self.redacted(request.url))")
            }
            var status = 0
            docflow_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return HTTPResponse(status: status, headers: sink.headers, body: sink.data, url: request.url)
        }
    }

    /// Settings every transfer shares: the URL and its allowed schemes, the time limits, no
    /// proxy, and the gate that checks each address curl connects to against the policy. The
    /// gate sees the socket address itself, after DNS, so no spelling of a host gets past it.
    private func common(
        _ handle: UnsafeMutableRawPointer, url: String, protocols: String, deadline: ContinuousClock.Instant,
        cleanup: inout [() -> Void]
    ) -> Gate {
        docflow_curl_set_string(handle, CURLOPT_URL, url)
        docflow_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, protocols)
        // A proxy would connect on docflow's behalf, where the gate cannot see; *_proxy variables
        // are ignored.
        docflow_curl_set_string(handle, CURLOPT_PROXY, "")
        docflow_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        docflow_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        docflow_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout.milliseconds))
        let remaining = max((deadline - ContinuousClock.now).milliseconds, 1)
        docflow_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(remaining))
        let gate = Gate(policy: policy)
        let gatePointer = Unmanaged.passRetained(gate)
        cleanup.append { gatePointer.release() }
        docflow_curl_set_opensocket_callback(handle, openSocketCallback)
        docflow_curl_set_pointer(handle, CURLOPT_OPENSOCKETDATA, gatePointer.toOpaque())
        return gate
    }

    private func transfer<T: Sendable>(_ work: @escaping @Sendable (UnsafeMutableRawPointer) throws -> T)
        async throws(TransferError) -> T
    {
        await slots.acquire()
        defer { slots.release() }
        let handle = handles.withLock { $0.popLast() } ?? Handle(raw: curl_easy_init())
        let result: Result<T, TransferError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                curl_easy_reset(handle.raw)
                do {
                    continuation.resume(returning: .success(try work(handle.raw)))
                } catch let error as TransferError {
                    continuation.resume(returning: .failure(error))
                } catch {
                    continuation.resume(returning: .failure(.network("\(error)")))
                }
            }
        }
        handles.withLock { $0.append(handle) }
        return try result.get()
    }

    /// `what` names the destination through `redacted` only.
    private static func error(_ code: CURLcode, gate: Gate, what: String) -> TransferError {
        // Every address curl tried was refused: curl reports that as a failed connect.
        if gate.opened == 0, let refusal = gate.refusals.first { return .refused(refusal) }
        // curl_easy_strerror is a fixed sentence per code. CURLOPT_ERRORBUFFER is never set: its
        // detailed text can quote the URL, and with it a secret in the path or query.
        let reason = String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: return .invalid("\(what): \(reason)")
        default: return .network("\(what) failed: \(reason)")
        }
    }

    /// The URL as errors and logs may show it: scheme, host and port, then `/…` when it had a
    /// path, query or fragment. User, password, path and query can each carry a secret (a Slack
    /// webhook's path is its token, a presigned URL's query is its key), so none is shown; a
    /// `file:` URL keeps its path, which names a file below the document root and nothing more.
    package static func redacted(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            return "a URL that does not parse"
        }
        if scheme == "file" {
            return "file://" + components.path
        }
        guard let host = components.host, !host.isEmpty else { return "\(scheme): URL without a host" }
        var origin = "\(scheme)://\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host)"
        if let port = components.port { origin += ":\(port)" }
        let rest = !components.percentEncodedPath.isEmpty && components.percentEncodedPath != "/"
        if rest || components.percentEncodedQuery != nil || components.percentEncodedFragment != nil {
            origin += "/…"
        }
        return origin
    }

    /// Scheme, host and port: where a secret header may go. A redirect elsewhere drops them.
    package static func origin(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return "\(scheme)://\(host):\(port)"
    }
}

/// Collects a response's body and headers.
private final class Sink {
    let limit: Int
    var data = Data()
    var headers: [String: String] = [:]
    var overflow = false

    init(limit: Int) {
        self.limit = limit
    }
}

/// Judges every socket address of one transfer against the policy, and remembers why it refused.
private final class Gate {
    let policy: OutboundPolicy
    var refusals: [String] = []
    /// Sockets opened for addresses the policy allowed.
    var opened = 0

    init(policy: OutboundPolicy) {
        self.policy = policy
    }
}

/// Feeds an upload.
private final class Source {
    let data: Data
    var offset = 0

    init(_ data: Data) {
        self.data = data
    }
}

private let writeCallback: docflow_curl_data_callback = { buffer, size, count, userdata in
    let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
    let length = size * count
    if sink.data.count + length > sink.limit {
        sink.overflow = true
        return 0
    }
    if let buffer { sink.data.append(UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: length) }
    return length
}

private let headerCallback: docflow_curl_data_callback = { buffer, size, count, userdata in
    let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
    let length = size * count
    guard let buffer else { return length }
    let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        sink.headers.removeAll()  // a new response (after a 100 Continue)
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        sink.headers[name] = value
    }
    return length
}

private let readCallback: docflow_curl_data_callback = { buffer, size, count, userdata in
    let source = Unmanaged<Source>.fromOpaque(userdata!).takeUnretainedValue()
    let length = min(size * count, source.data.count - source.offset)
    guard length > 0, let buffer else { return 0 }
    source.data.withUnsafeBytes { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + source.offset, byteCount: length)
    }
    source.offset += length
    return length
}

/// Opens the socket curl asks for, when the gate allows its address; a refused address makes
/// curl try the next one, and fail with `CURLE_COULDNT_CONNECT` when none is left.
private let openSocketCallback: curl_opensocket_callback = { userdata, _, target in
    let gate = Unmanaged<Gate>.fromOpaque(userdata!).takeUnretainedValue()
    guard let target else { return CURL_SOCKET_BAD }
    let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
    guard let address = IPAddress(family: target.pointee.family, sockaddr: UnsafeRawPointer(target) + offset) else {
        gate.refusals.append("refused to connect: not an IP address (family \(target.pointee.family))")
        return CURL_SOCKET_BAD
    }
    if let refusal = gate.policy.refusal(address) {
        gate.refusals.append(refusal)
        return CURL_SOCKET_BAD
    }
    // Close-on-exec, as curl opens its own: helper processes must not inherit connections.
    let descriptor = socket(
        target.pointee.family, target.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), target.pointee.`protocol`)
    if descriptor >= 0 { gate.opened += 1 }
    return descriptor
}
