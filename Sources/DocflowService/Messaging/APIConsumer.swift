import AMQPClient
import DocflowCore
import DocflowEngine
import Foundation
import Logging
import ServiceLifecycle

/// The Workflows API over AMQP request/reply (contract section 1): consumes `docflow.api`, runs
/// each request through the router, replies to `reply_to` after the change is committed, and
/// acks the request only after the reply was confirmed by the broker.
final class APIConsumer: Service, Sendable {
    private let router: Router
    private let consumeChannel: AMQPChannel
    private let replyChannel: AMQPChannel
    private let deadLetters: DeadLetters
    private let queue: String
    /// The largest request read and reply sent, in bytes.
    private let maxMessageBytes: Int
    private let metrics: ServiceMetrics
    private let authorization: AMQPAuthorization
    private let logger: Logger

    init(
        router: Router, consumeChannel: AMQPChannel, replyChannel: AMQPChannel, deadLetters: DeadLetters,
        queue: String, maxMessageBytes: Int = MessageLimits().maxMessageBytes,
        authorization: AMQPAuthorization = AMQPAuthorization(), metrics: ServiceMetrics, logger: Logger
    ) {
        self.authorization = authorization
        self.maxMessageBytes = maxMessageBytes
        self.metrics = metrics
        self.router = router
        self.consumeChannel = consumeChannel
        self.replyChannel = replyChannel
        self.deadLetters = deadLetters
        self.queue = queue
        self.logger = logger
    }

    func run() async throws {
        logger.info("serving the API", metadata: ["queue": "\(queue)"])
        try await consumeUntilShutdown(consumeChannel, queue: queue) { await self.handle($0) }
        logger.info("stopped serving the API")
    }

    func handle(_ delivery: AMQPDelivery) async {
        metrics.consumed(queue)
        let properties = delivery.properties
        let request: APIRequest
        do throws(APIError) {
            guard delivery.body.count <= maxMessageBytes else {
                throw APIError(
                    status: 413, code: "payload_too_large",
                    message:
                        "the request is \(delivery.body.count) bytes, more than the limit of \(maxMessageBytes) bytes")
            }
            var parsed = try Self.parse(delivery.body, messageID: properties.messageID)
            parsed.caller = properties.userID.map { Caller(kind: .brokerUser, name: $0) } ?? .anonymous
            parsed.requestID = properties.correlationID
            parsed.transport = "amqp"
            try authorization.check(parsed)
            request = parsed
        } catch {
            guard let replyTo = properties.replyTo, !replyTo.isEmpty else {
                metrics.deadLettered(queue)
                return await deadLetters.deadLetter(delivery, reason: error.message)
            }
            return await reply(error.response, to: delivery)
        }
        let started = ContinuousClock.now
        let response = await router.handle(request)
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.path)", "status": "\(response.status)",
            "duration_ms": "\((ContinuousClock.now - started).milliseconds)",
        ]
        if let correlationID = properties.correlationID { metadata["correlation_id"] = "\(correlationID)" }
        if let user = properties.userID { metadata["user_id"] = "\(user)" }
        logger.info("api request", metadata: metadata)
        await reply(response, to: delivery)
    }

    private func reply(_ response: APIResponse, to delivery: AMQPDelivery) async {
        guard let replyTo = delivery.properties.replyTo, !replyTo.isEmpty else {
            delivery.ack()
            return
        }
        var response = response
        var body = response.envelope.encoded()
        if body.count > maxMessageBytes {
            logger.warning(
                "a reply was larger than --max-message-bytes; answered 413",
                metadata: ["bytes": "\(body.count)", "limit": "\(maxMessageBytes)"])
            response = Self.replyTooLarge(bytes: body.count, limit: maxMessageBytes).response
            body = response.envelope.encoded()
        }
        let message = AMQPMessage(
            exchange: "", routingKey: replyTo, body: body,
            properties: AMQPProperties(
                contentType: "application/json", headers: ["status": .int(Int64(response.status))],
                correlationID: delivery.properties.correlationID))
        do {
            try await replyChannel.publish(message)
            delivery.ack()
        } catch {
            // The request comes back; its idempotency record gives the same reply again.
            logger.error("could not send a reply; requeueing the request", metadata: ["error": "\(error)"])
            delivery.nack(requeue: true)
        }
    }

    /// The answer in place of a reply over `limit`: what happened, and how to get the data.
    static func replyTooLarge(bytes: Int, limit: Int) -> APIError {
        APIError(
            status: 413, code: "reply_too_large",
            message:
                "the reply is \(bytes) bytes, more than the \(limit) an AMQP reply may carry (--max-message-bytes); "
                + "ask for less (the executions list takes limit=1 and execution_id=<id>) or make the same request "
                + "over HTTP, where replies have no such limit")
    }

    /// Reads `{"method", "path", "query", "body"}`.
    static func parse(_ body: Data, messageID: String?) throws(APIError) -> APIRequest {
        let json: JSONValue
        do throws(JSONValue.ParseError) {
            json = try JSONValue.parse(body)
        } catch {
            throw .unreadableJSON("request body", error)
        }
        guard case .object(let fields) = json else {
            throw .badRequest("request must be a JSON object with method and path")
        }
        guard let method = fields["method"]?.stringValue, !method.isEmpty else {
            throw .badRequest("request has no method")
        }
        guard let path = fields["path"]?.stringValue, path.hasPrefix("/") else {
            throw .badRequest("request has no path (a string starting with /)")
        }
        var query: [String: String] = [:]
        switch fields["query"] {
        case nil, .null?: break
        case .object(let items)?:
            for (key, value) in items {
                switch value {
                case .string(let s): query[key] = s
                case .number, .bool: query[key] = value.encodedString()
                default: throw .badRequest("query.\(key) must be a string, number or boolean")
                }
            }
        default: throw .badRequest("query must be an object")
        }
        return APIRequest(method: method, path: path, query: query, body: fields["body"], messageID: messageID)
    }
}
