import DocflowCore
import Foundation
import GRDB

/// A message committed with the change it describes and published after the commit.
public struct OutboxMessage: Sendable, Equatable {
    public var exchange: String
    public var routingKey: String
    public var messageID: String
    public var headers: [String: String]
    public var body: Data
    /// Seconds since 1970, when the message was made.
    public var createdAt: Double

    public init(
        exchange: String, routingKey: String, messageID: String, headers: [String: String], body: Data,
        createdAt: Double = Date().timeIntervalSince1970
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.messageID = messageID
        self.headers = headers
        self.body = body
        self.createdAt = createdAt
    }
}

/// The messages one transaction committed, in order, under the row's `seq`.
public struct OutboxBatch: Sendable {
    public let seq: Int64
    public let messages: [OutboxMessage]

    public init(seq: Int64, messages: [OutboxMessage]) {
        self.seq = seq
        self.messages = messages
    }
}

/// The transactional outbox: a transaction stores the messages it means to publish as one row of
/// `outbox_batches`, so a group commit of a thousand status events writes one row, not a thousand.
/// `seq` grows in commit order (one writer, AUTOINCREMENT), which is the order to publish in.
public enum Outbox {
    /// Stores `messages` as one row; returns its `seq`, or nil when there was nothing to store.
    @discardableResult
    public static func append(_ db: Database, _ messages: [OutboxMessage]) throws -> Int64? {
        guard !messages.isEmpty else { return nil }
        let statement = try db.cachedStatement(sql: "INSERT INTO outbox_batches (messages, count) VALUES (?, ?)")
        try statement.execute(arguments: [OutboxCoding.encode(messages), messages.count])
        return db.lastInsertedRowID
    }

    @discardableResult
    public static func append(_ db: Database, _ message: OutboxMessage) throws -> Int64? {
        try append(db, [message])
    }

    /// The oldest batches after `seq`, in commit order.
    public static func pending(_ db: Database, after seq: Int64 = 0, limit: Int) throws -> [OutboxBatch] {
        try Row.fetchAll(
            db, sql: "SELECT seq, messages FROM outbox_batches WHERE seq > ? ORDER BY seq LIMIT ?",
            arguments: [seq, limit]
        ).map { row in
            let seq: Int64 = row["seq"]
            return OutboxBatch(seq: seq, messages: try OutboxCoding.decode(row["messages"], seq: seq))
        }
    }

    /// Forgets every batch up to and including `seq`.
    public static func remove(_ db: Database, upTo seq: Int64) throws {
        try db.execute(sql: "DELETE FROM outbox_batches WHERE seq <= ?", arguments: [seq])
    }

    /// How many messages wait to be published or deleted.
    public static func count(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(count), 0) FROM outbox_batches") ?? 0
    }
}

/// The binary form of a batch: a version byte, a count, then each message as
/// `created_at` (float64 bits), exchange, routing key, message id, header count, header
/// names and values, body; integers little-endian, strings and the body length-prefixed (u32).
enum OutboxCoding {
    static let version: UInt8 = 1

    static func encode(_ messages: [OutboxMessage]) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(messages.reduce(8) { $0 + $1.body.count + 160 })
        out.append(version)
        put(UInt32(messages.count), into: &out)
        for message in messages {
            put64(message.createdAt.bitPattern, into: &out)
            put(message.exchange, into: &out)
            put(message.routingKey, into: &out)
            put(message.messageID, into: &out)
            put(UInt32(message.headers.count), into: &out)
            for (name, value) in message.headers.sorted(by: { $0.key < $1.key }) {
                put(name, into: &out)
                put(value, into: &out)
            }
            put(UInt32(message.body.count), into: &out)
            out.append(contentsOf: message.body)
        }
        return Data(out)
    }

    static func decode(_ data: Data, seq: Int64) throws -> [OutboxMessage] {
        var reader = Reader(bytes: [UInt8](data))
        guard let version = reader.byte(), version == Self.version, let count = reader.u32() else {
            throw StoreError.corrupt("outbox batch \(seq)")
        }
        var messages: [OutboxMessage] = []
        messages.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let bits = reader.u64(), let exchange = reader.string(), let routingKey = reader.string(),
                let messageID = reader.string(), let headerCount = reader.u32()
            else { throw StoreError.corrupt("outbox batch \(seq)") }
            var headers: [String: String] = [:]
            for _ in 0..<headerCount {
                guard let name = reader.string(), let value = reader.string() else {
                    throw StoreError.corrupt("outbox batch \(seq)")
                }
                headers[name] = value
            }
            guard let body = reader.blob() else { throw StoreError.corrupt("outbox batch \(seq)") }
            messages.append(
                OutboxMessage(
                    exchange: exchange, routingKey: routingKey, messageID: messageID, headers: headers,
                    body: Data(body), createdAt: Double(bitPattern: bits)))
        }
        return messages
    }

    private static func put(_ value: UInt32, into out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func put64(_ value: UInt64, into out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func put(_ string: String, into out: inout [UInt8]) {
        var string = string
        string.withUTF8 { utf8 in
            put(UInt32(utf8.count), into: &out)
            out.append(contentsOf: utf8)
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func u32() -> UInt32? {
            guard bytes.count - offset >= 4 else { return nil }
            var value: UInt32 = 0
            for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * i) }
            offset += 4
            return value
        }

        mutating func u64() -> UInt64? {
            guard bytes.count - offset >= 8 else { return nil }
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * i) }
            offset += 8
            return value
        }

        mutating func blob() -> ArraySlice<UInt8>? {
            guard let count = u32(), bytes.count - offset >= Int(count) else { return nil }
            defer { offset += Int(count) }
            return bytes[offset..<offset + Int(count)]
        }

        mutating func string() -> String? {
            blob().map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
