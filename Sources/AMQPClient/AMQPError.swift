import CRabbitMQ

/// What went wrong talking to the broker. Server refusals keep the broker's reply text
/// (`NOT_FOUND - no queue 'x' in vhost '/'`), so a log line says what the broker said.
public enum AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The TCP connection or the AMQP handshake failed, or the socket broke.
    case connectionFailed(String)
    /// The broker closed the connection (`CONNECTION_FORCED`, `ACCESS_REFUSED` at login, ...).
    case connectionClosed(code: UInt16, text: String)
    /// The broker closed a channel because of a command on it (`NOT_FOUND`, `PRECONDITION_FAILED`, ...).
    case channelClosed(code: UInt16, text: String)
    /// The broker refused a published message (`basic.nack`).
    case nacked
    /// A mandatory message could not be routed to any queue (`basic.return`).
    case unroutable(code: UInt16, text: String)
    /// A consumer was cancelled by the broker, for example because its queue was deleted.
    case consumerCancelled(String)
    /// rabbitmq-c reported an error status.
    case library(status: Int32, message: String)
    /// The operation did not finish in time.
    case timeout(String)
    /// Nothing at all came from the broker for `silence`, two heartbeat intervals or more: it is
    /// frozen or unreachable, and the connection was closed.
    case heartbeatTimeout(silence: Duration, interval: Duration)
    /// The connection was closed by this process.
    case closed

    /// The AMQP reply code's name, such as `NOT_FOUND`, when the broker refused something.
    public var replyName: String? {
        switch self {
        case .connectionClosed(let code, _), .channelClosed(let code, _), .unroutable(let code, _):
            Self.replyNames[code]
        default: nil
        }
    }

    /// Whether the failure came from losing the connection rather than from a refusal.
    public var isConnectionLoss: Bool {
        switch self {
        case .connectionFailed, .connectionClosed, .library, .heartbeatTimeout: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .connectionFailed(let reason): "AMQP connection failed: \(reason)"
        case .connectionClosed(let code, let text): "broker closed the connection (\(code)): \(text)"
        case .channelClosed(let code, let text): "broker closed the channel (\(code)): \(text)"
        case .nacked: "broker refused the message (basic.nack)"
        case .unroutable(let code, let text): "message was returned unroutable (\(code)): \(text)"
        case .consumerCancelled(let tag): "broker cancelled consumer \(tag)"
        case .library(let status, let message): "rabbitmq-c error \(status): \(message)"
        case .timeout(let what): "timed out: \(what)"
        case .heartbeatTimeout(let silence, let interval):
            "missed heartbeats: nothing from the broker for \(Self.seconds(silence)), "
                + "over twice the heartbeat interval of \(Self.seconds(interval))"
        case .closed: "the AMQP connection was closed"
        }
    }

    static let replyNames: [UInt16: String] = [
        200: "REPLY_SUCCESS", 311: "CONTENT_TOO_LARGE", 312: "NO_ROUTE", 313: "NO_CONSUMERS",
        320: "CONNECTION_FORCED", 402: "INVALID_PATH", 403: "ACCESS_REFUSED", 404: "NOT_FOUND",
        405: "RESOURCE_LOCKED", 406: "PRECONDITION_FAILED", 501: "FRAME_ERROR", 502: "SYNTAX_ERROR",
        503: "COMMAND_INVALID", 504: "CHANNEL_ERROR", 505: "UNEXPECTED_FRAME", 506: "RESOURCE_ERROR",
        530: "NOT_ALLOWED", 540: "NOT_IMPLEMENTED", 541: "INTERNAL_ERROR",
    ]

    /// `2.1 s`: a duration as an operator reads it.
    private static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let tenths = (seconds * 10 + attoseconds / 100_000_000_000_000_000)
        return tenths % 10 == 0 ? "\(tenths / 10) s" : "\(tenths / 10).\(tenths % 10) s"
    }

    static func library(_ status: Int32) -> AMQPError {
        .library(status: status, message: String(cString: amqp_error_string2(status)))
    }
}
