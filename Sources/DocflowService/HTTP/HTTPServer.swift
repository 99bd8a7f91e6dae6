import AMQPClient
import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// docflow's HTTP port (contract section 3): the whole API at the seed's paths through the same
/// router as AMQP, signed webhooks, health, readiness, metrics and the OpenAPI document, within
/// `HTTPLimits`; and the web console under `/` and `/ui` (`Console`).
package final class HTTPServer: Service, Sendable {
    /// The routes the port serves itself, beside the router's: `OpenAPIDocument` describes them too.
    package static let ownRoutes: [Router.Entry] = [
        Router.Entry(method: "GET", pattern: "/healthz", query: []),
        Router.Entry(method: "GET", pattern: "/readyz", query: []),
        Router.Entry(method: "GET", pattern: "/metrics", query: []),
        Router.Entry(method: "GET", pattern: "/openapi.json", query: []),
        Router.Entry(method: "POST", pattern: "/hooks/{id}", query: []),
    ]

    private let application: Application<CallbackResponder<BasicRequestContext>>
    private let console: Console?
    private let boundPort = Box<Int>()
    private let configuredPort: Int

    /// The port the server listens on, once it does.
    var port: Int? { boundPort.value }

    init(
        port: Int, limits: HTTPLimits, authentication: HTTPAuthentication, router: Router, webhooks: WebhookTrigger,
        store: Store, connections: [AMQPConnection], metrics: @escaping @Sendable () async -> String,
        console: Console? = nil, logger: Logger
    ) {
        configuredPort = port
        self.console = console
        let maxBody = limits.maxBodyBytes
        let responder = CallbackResponder<BasicRequestContext> { request, context in
            var request = request
            let path = request.uri.path
            if let console, Console.serves(path) { return await console.respond(request) }
            switch (request.method, path) {
            case (.get, "/healthz"):
                return Self.json(200, ["status": "ok"])
            case (.get, "/openapi.json"):
                // No key: the document holds no secrets, and the routes it describes keep theirs.
                var buffer = ByteBuffer()
                buffer.writeBytes(OpenAPIDocument.encoded)
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
            case (.get, "/readyz"):
                let down = connections.first { !$0.isConnected }
                let broker = down == nil
                let database = await store.isWritable()
                // Parked events do not make docflow unready (later ones go out), but an operator
                // should see them.
                let parked = (try? await store.read { db in try Outbox.parkedCount(db) }) ?? 0
                var body: [String: JSONValue] = [
                    "status": broker && database ? "ready" : "unavailable", "broker": .bool(broker),
                    "database": .bool(database), "parked_status_events": .number(Double(parked)),
                ]
                if let down {
                    // Which connection, and why: a frozen broker reads differently from a refused login.
                    let problem = down.lastError.map { "\($0)" } ?? "not connected yet"
                    body["broker_error"] = .string("\(down.configuration.connectionName): \(problem)")
                }
                return Self.json(broker && database ? 200 : 503, .object(body))
            case (.get, "/metrics"):
                if authentication.metricsNeedKey {
                    let checked = await authentication.authenticate(
                        authorization: request.headers[.authorization], method: "GET", store: store)
                    if case .failure(let error) = checked { return Self.json(error.response) }
                }
                var buffer = ByteBuffer()
                buffer.writeString(await metrics())
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: buffer))
            default:
                break
            }
            // Signed webhooks prove themselves with their signature; everything else with a key,
            // before its body is read.
            var caller = Caller.anonymous
            if !path.hasPrefix("/hooks/") {
                switch await authentication.authenticate(
                    authorization: request.headers[.authorization], method: request.method.rawValue, store: store)
                {
                case .success(let known): caller = known
                case .failure(let error): return Self.json(error.response)
                }
            }
            // A declared length over the limit is answered before its body is read.
            if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBody {
                return Self.json(Self.payloadTooLarge(maxBody).response)
            }
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBody)
            } catch is NIOTooManyBytesError {
                return Self.json(Self.payloadTooLarge(maxBody).response)
            }
            let bytes = Data(buffer: body)
            if path.hasPrefix("/hooks/") {
                guard request.method == .post else {
                    return Self.json(
                        APIError.methodNotAllowed(request.method.rawValue, path, allowed: ["POST"]).response)
                }
                let id = String(path.dropFirst("/hooks/".count))
                do {
                    return Self.json(
                        try await webhooks.handle(
                            workflowID: id, body: bytes,
                            signature: request.headers[HTTPField.Name(WebhookSignature.header)!],
                            idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!]))
                } catch let error as APIError {
                    return Self.json(error.response)
                }
            }
            var apiRequest: APIRequest
            do {
                apiRequest = try Self.apiRequest(request, path: path, body: bytes)
            } catch let error as APIError {
                return Self.json(error.response)
            }
            apiRequest.caller = caller
            apiRequest.transport = "http"
            apiRequest.requestID = request.headers[HTTPField.Name("X-Request-Id")!].map { String($0.prefix(200)) }
            return Self.json(await router.handle(apiRequest))
        }
        let boundPort = self.boundPort
        let openConnections = OpenConnections(cap: limits.maxConnections)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                HTTPConnectionTimeoutHandler(
                    readTimeout: TimeAmount(limits.readTimeout), idleTimeout: TimeAmount(limits.idleTimeout),
                    openConnections: openConnections)
            ])
        application = Application(
            responder: responder,
            server: HTTPServerBuilder { responder in
                CappedHTTP1Channel(
                    http1: HTTP1Channel(responder: responder, configuration: http1), openConnections: openConnections)
            },
            configuration: ApplicationConfiguration(
                address: .hostname("0.0.0.0", port: port), serverName: "docflow",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
            onServerRunning: { channel in
                // One accept per wake-up of the listening socket, so the cap is checked before each.
                try? await channel.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
                if let bound = channel.localAddress?.port { boundPort.set(bound) }
                // The listening socket and the event loops' epoll instances.
                CloseOnExec.markAll()
                logger.info("serving HTTP", metadata: ["port": "\(channel.localAddress?.port ?? port)"])
            },
            logger: logger)
    }

    /// Serves until graceful shutdown (finishing the requests in flight) or cancellation. A port
    /// that cannot be opened fails with a `ServerError` that names it.
    package func run() async throws {
        do {
            // Open `/ui/events` streams end, so that the requests in flight can finish.
            try await withGracefulShutdownHandler {
                try await application.run()
            } onGracefulShutdown: { [console] in
                console?.feed.finishAll()
            }
        } catch let error as IOError where port == nil {
            if error.errnoCode == EADDRINUSE { throw ServerError.httpPortInUse(configuredPort) }
            throw ServerError.httpPortUnavailable(configuredPort, reason: "\(error)")
        }
    }

    /// An API call over HTTP: the query string, the JSON body, and `Idempotency-Key` as the
    /// message id that makes a mutating call idempotent.
    static func apiRequest(_ request: Request, path: String, body: Data) throws(APIError) -> APIRequest {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            query[String(key)] = String(value)
        }
        var json: JSONValue?
        if !body.isEmpty {
            do throws(JSONValue.ParseError) {
                json = try JSONValue.parse(body)
            } catch {
                throw .unreadableJSON("request body", error, rootField: "body")
            }
        }
        return APIRequest(
            method: request.method.rawValue, path: path, query: query, body: json,
            messageID: request.headers[HTTPField.Name("Idempotency-Key")!])
    }

    static func payloadTooLarge(_ limit: Int) -> APIError {
        APIError(
            status: 413, code: "payload_too_large",
            message: "the request body is larger than the limit of \(limit) bytes")
    }

    /// The REST response: the seed's body on success, `{"error": {...}}` on failure.
    static func json(_ response: APIResponse) -> Response {
        if response.status == 401 {
            var unauthorized = json(response.status, ["error": response.body ?? .object([:])])
            unauthorized.headers[.wwwAuthenticate] = #"Bearer realm="docflow""#
            return unauthorized
        }
        if response.status >= 400 {
            return json(response.status, ["error": response.body ?? .object([:])])
        }
        guard let body = response.body else { return Response(status: .init(code: response.status)) }
        return json(response.status, body)
    }

    static func json(_ status: Int, _ body: JSONValue) -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(body.encoded())
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
