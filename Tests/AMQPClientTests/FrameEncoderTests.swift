import Foundation
import Testing

@testable import AMQPClient

/// The frames of a confirmed publish, checked byte by byte without a broker.
@Suite("FrameEncoder")
struct FrameEncoderTests {
    struct Frame: Equatable {
        let type: UInt8
        let channel: UInt16
        let payload: [UInt8]
    }

    /// Splits `bytes` into frames, checking each one's size and frame-end octet.
    private func frames(_ bytes: [UInt8]) throws -> [Frame] {
        var frames: [Frame] = []
        var offset = 0
        while offset < bytes.count {
            try #require(bytes.count - offset >= 8, "a frame is cut short at \(offset)")
            let channel = UInt16(bytes[offset + 1]) << 8 | UInt16(bytes[offset + 2])
            let size = bytes[(offset + 3)..<(offset + 7)].reduce(0) { $0 << 8 | Int($1) }
            let end = offset + 7 + size
            try #require(end < bytes.count, "frame at \(offset) claims \(size) bytes, more than there are")
            try #require(bytes[end] == 0xCE, "frame at \(offset) does not end with 0xCE")
            frames.append(Frame(type: bytes[offset], channel: channel, payload: Array(bytes[(offset + 7)..<end])))
            offset = end + 1
        }
        return frames
    }

    private func encode(_ message: AMQPMessage, channel: UInt16 = 3, frameMax: Int = 4096) throws -> [Frame] {
        var encoder = FrameEncoder()
        let appended = encoder.appendPublish(message, channel: channel, frameMax: frameMax)
        try #require(appended)
        return try frames(encoder.bytes)
    }

    private func bigEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> UInt64($0 * 8)) }
    }

    @Test func aPublishIsAMethodFrameAHeaderFrameAndABodyFrameOnItsChannel() throws {
        let message = AMQPMessage(exchange: "ex", routingKey: "rk", body: Data("hello".utf8), mandatory: true)
        let encoded = try encode(message, channel: 3)
        #expect(encoded.map(\.type) == [1, 2, 3])
        #expect(encoded.map(\.channel) == [3, 3, 3])
        // basic.publish (60, 40): ticket 0, exchange "ex", routing key "rk", bits: mandatory.
        #expect(encoded[0].payload == [0, 60, 0, 40, 0, 0, 2, 0x65, 0x78, 2, 0x72, 0x6B, 1])
        // Class 60, weight 0, body size 5, no property flags.
        #expect(encoded[1].payload == [0, 60, 0, 0] + bigEndian(5, bytes: 8) + [0, 0])
        #expect(encoded[2].payload == Array("hello".utf8))
    }

    @Test func theFrameHeaderIsTypeChannelAndPayloadSizeInNetworkOrder() throws {
        var encoder = FrameEncoder()
        let message = AMQPMessage(routingKey: "q", body: Data())
        let appended = encoder.appendPublish(message, channel: 0x0102, frameMax: 4096)
        #expect(appended)
        // Method payload: class and method (4), ticket (2), "" (1), "q" (2), bits (1).
        #expect(Array(encoder.bytes.prefix(7)) == [1, 0x01, 0x02, 0, 0, 0, 10])
        #expect(encoder.bytes[7 + 10] == 0xCE)
    }

    @Test func anEmptyBodyYieldsNoBodyFrame() throws {
        let encoded = try encode(AMQPMessage(routingKey: "q", body: Data()))
        #expect(encoded.map(\.type) == [1, 2])
        #expect(Array(encoded[1].payload[4..<12]) == bigEndian(0, bytes: 8))
    }

    @Test func theBodyIsSplitIntoFramesOfFrameMaxMinusEight() throws {
        let body = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        var encoder = FrameEncoder()
        let appended = encoder.appendPublish(AMQPMessage(routingKey: "q", body: body), channel: 1, frameMax: 4096)
        #expect(appended)
        let encoded = try frames(encoder.bytes)
        let bodies = encoded.filter { $0.type == 3 }
        #expect(bodies.map(\.payload.count) == [4088, 4088, 1824])
        #expect(bodies.flatMap(\.payload) == Array(body))
        #expect(Array(encoded[1].payload[4..<12]) == bigEndian(10_000, bytes: 8))
        // Whole frames, header and frame end included, stay within frame_max.
        #expect(encoded.allSatisfy { 8 + $0.payload.count <= 4096 })
    }

    @Test func aBodyOfExactlyFrameMaxMinusEightIsOneBodyFrame() throws {
        let encoded = try encode(AMQPMessage(routingKey: "q", body: Data(repeating: 0xAB, count: 4088)))
        #expect(encoded.map(\.type) == [1, 2, 3])
        #expect(encoded[2].payload.count == 4088)
    }

    @Test func aBodySlicedFromLargerDataIsEncodedFromItsOwnStart() throws {
        let whole = Data("0123456789".utf8)
        let encoded = try encode(AMQPMessage(routingKey: "q", body: whole[4..<7]))
        #expect(encoded[2].payload == Array("456".utf8))
    }

    @Test func propertiesGoIntoTheHeaderFrameAfterTheirFlags() throws {
        let message = AMQPMessage(
            routingKey: "q", body: Data("x".utf8), properties: AMQPProperties(contentType: "text/plain"))
        let encoded = try encode(message)
        // Flags: content-type only (bit 15); then the content type as a short string.
        #expect(Array(encoded[1].payload[12...]) == [0x80, 0x00, 10] + Array("text/plain".utf8))
    }

    @Test func publishesAppendOneAfterAnother() throws {
        var encoder = FrameEncoder()
        let appendedFirst = encoder.appendPublish(
            AMQPMessage(routingKey: "a", body: Data("1".utf8)), channel: 1, frameMax: 4096)
        #expect(appendedFirst)
        let appendedSecond = encoder.appendPublish(
            AMQPMessage(routingKey: "b", body: Data()), channel: 2, frameMax: 4096)
        #expect(appendedSecond)
        let encoded = try frames(encoder.bytes)
        #expect(encoded.map(\.type) == [1, 2, 3, 1, 2])
        #expect(encoded.map(\.channel) == [1, 1, 1, 2, 2])
        encoder.removeAll()
        #expect(encoder.isEmpty)
    }

    @Test func propertiesTooBigForOneFrameLeaveTheBufferAsItWas() throws {
        var encoder = FrameEncoder()
        let appendedSmall = encoder.appendPublish(
            AMQPMessage(routingKey: "a", body: Data("1".utf8)), channel: 1, frameMax: 4096)
        #expect(appendedSmall)
        let before = encoder.bytes
        let big = AMQPProperties(headers: ["big": .string(String(repeating: "x", count: 5000))])
        let appendedBig = encoder.appendPublish(
            AMQPMessage(routingKey: "b", body: Data(), properties: big), channel: 1, frameMax: 4096)
        #expect(!appendedBig)
        #expect(encoder.bytes == before)
    }

    @Test func aFrameMaxWithNoRoomForAPayloadEncodesNothing() {
        var encoder = FrameEncoder()
        let appended = encoder.appendPublish(AMQPMessage(routingKey: "q", body: Data()), channel: 1, frameMax: 8)
        #expect(!appended)
        #expect(encoder.isEmpty)
    }

    @Test func aHeartbeatIsTheEightOctetsOfAnEmptyFrameOfType8OnChannel0() throws {
        var encoder = FrameEncoder()
        encoder.appendHeartbeat()
        #expect(encoder.bytes == [8, 0, 0, 0, 0, 0, 0, 0xCE])
        #expect(try frames(encoder.bytes) == [Frame(type: 8, channel: 0, payload: [])])
    }
}
