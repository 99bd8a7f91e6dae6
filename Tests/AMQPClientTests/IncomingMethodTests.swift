import CRabbitMQ
import Testing

@testable import AMQPClient

/// Decoding what the broker sends unasked: a frame that does not decode is an error, not a crash.
@Suite("IncomingMethod")
struct IncomingMethodTests {
    @Test func aBasicAckDecodesItsTagAndMultipleFlag() throws {
        var ack = amqp_basic_ack_t(delivery_tag: 42, multiple: 1)
        let method = try withUnsafeMutablePointer(to: &ack) { pointer in
            try IncomingMethod(id: Method.basicAck, decoded: UnsafeMutableRawPointer(pointer))
        }
        #expect(method == .ack(deliveryTag: 42, multiple: true))
    }

    @Test func aMethodWithoutItsArgumentsIsAConnectionError() {
        for id in [Method.basicDeliver, Method.basicAck, Method.basicReturn, Method.channelClose] {
            #expect(throws: AMQPError.self) { try IncomingMethod(id: id, decoded: nil) }
        }
    }

    @Test func aMethodTheConnectionDoesNotActOnIsIgnored() throws {
        #expect(try IncomingMethod(id: 0x003C_000B, decoded: nil) == .ignored(0x003C_000B))
    }

    @Test func aContentFrameOutsideAMessageIsAConnectionError() {
        var frame = amqp_frame_t()
        frame.frame_type = UInt8(AMQP_FRAME_BODY)
        frame.channel = 1
        #expect(throws: AMQPError.self) { try IncomingMethod(frame) }
    }

    @Test func aServerExceptionWithoutArgumentsIsAConnectionErrorNotACrash() {
        let reply = amqp_rpc_reply_t(
            reply_type: AMQP_RESPONSE_SERVER_EXCEPTION, reply: amqp_method_t(id: Method.channelClose, decoded: nil),
            library_error: 0)
        guard case .connectionFailed = ConnectionLoop.error(of: reply) else {
            Issue.record("expected a connection error, got \(String(describing: ConnectionLoop.error(of: reply)))")
            return
        }
    }
}
