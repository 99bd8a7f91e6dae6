import CRabbitMQ
import Foundation

/// Encodes publishes into AMQP frames, as `amqp_basic_publish` would send them, into one buffer
/// that is written at once. rabbitmq-c sends every frame with a `send(2)` of its own, three or
/// more per message; the publishes of one command go out in one write. Does no I/O.
struct FrameEncoder {
    /// The frames encoded and not yet taken (`removeAll`).
    private(set) var bytes: [UInt8] = []
    /// Space for rabbitmq-c to encode a method's arguments or a header's properties into.
    private var scratch: [UInt8] = []

    var isEmpty: Bool { bytes.isEmpty }

    /// Forgets the frames encoded, keeping the buffer for the next ones.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends a publish's method frame, content header frame and body frames (the body split so
    /// that no frame exceeds `frameMax`, none for an empty body). False, with nothing appended,
    /// when the method or the properties do not fit one frame.
    mutating func appendPublish(_ message: AMQPMessage, channel: UInt16, frameMax: Int) -> Bool {
        guard frameMax > 8 else { return false }
        if scratch.count < frameMax { scratch = [UInt8](repeating: 0, count: frameMax) }
        let arena = CArena()
        var properties = message.properties.cValue(in: arena)
        var method = amqp_basic_publish_t(
            ticket: 0, exchange: arena.bytes(message.exchange), routing_key: arena.bytes(message.routingKey),
            mandatory: message.mandatory ? 1 : 0, immediate: 0)
        let methodSize = Int(
            scratch.withUnsafeMutableBytes { buffer in
                amqp_encode_method(
                    AMQP_BASIC_PUBLISH_METHOD, &method, amqp_bytes_t(len: buffer.count, bytes: buffer.baseAddress))
            })
        guard methodSize >= 0, 4 + methodSize <= frameMax - 8 else { return false }
        let start = bytes.count
        appendFrameHeader(type: AMQP_FRAME_METHOD, channel: channel, size: 4 + methodSize)
        appendBigEndian(UInt64(AMQP_BASIC_PUBLISH_METHOD), bytes: 4)
        bytes.append(contentsOf: scratch[0..<methodSize])
        bytes.append(UInt8(AMQP_FRAME_END))
        let propertiesSize = Int(
            scratch.withUnsafeMutableBytes { buffer in
                amqp_encode_properties(
                    UInt16(AMQP_BASIC_CLASS), &properties, amqp_bytes_t(len: buffer.count, bytes: buffer.baseAddress))
            })
        guard propertiesSize >= 0, 12 + propertiesSize <= frameMax - 8 else {
            bytes.removeSubrange(start...)
            return false
        }
        appendFrameHeader(type: AMQP_FRAME_HEADER, channel: channel, size: 12 + propertiesSize)
        appendBigEndian(UInt64(AMQP_BASIC_CLASS), bytes: 2)
        appendBigEndian(0, bytes: 2)  // weight
        appendBigEndian(UInt64(message.body.count), bytes: 8)
        bytes.append(contentsOf: scratch[0..<propertiesSize])
        bytes.append(UInt8(AMQP_FRAME_END))
        let chunk = frameMax - 8
        var offset = 0
        while offset < message.body.count {
            let size = min(chunk, message.body.count - offset)
            appendFrameHeader(type: AMQP_FRAME_BODY, channel: channel, size: size)
            let from = message.body.startIndex + offset
            bytes.append(contentsOf: message.body[from..<(from + size)])
            bytes.append(UInt8(AMQP_FRAME_END))
            offset += size
        }
        return true
    }

    /// Appends a heartbeat frame: type 8, channel 0, no payload.
    mutating func appendHeartbeat() {
        appendFrameHeader(type: AMQP_FRAME_HEARTBEAT, channel: 0, size: 0)
        bytes.append(UInt8(AMQP_FRAME_END))
    }

    private mutating func appendFrameHeader(type: Int32, channel: UInt16, size: Int) {
        bytes.append(UInt8(type))
        appendBigEndian(UInt64(channel), bytes: 2)
        appendBigEndian(UInt64(size), bytes: 4)
    }

    private mutating func appendBigEndian(_ value: UInt64, bytes count: Int) {
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}
