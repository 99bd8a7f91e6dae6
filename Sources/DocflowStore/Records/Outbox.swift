import DocflowCore
import Foundation
import GRDB

/// A status event committed with the change it describes and published after the commit. Where
/// it goes on the wire is the service's business, not the store's.
package struct OutboxMessage: Sendable, Equatable {
    /// The event, such as `workflow.step.completed`.
    package var event: String
    package var workflowID: String
    /// The execution the event is about; nil for a definition change.
    package var executionID: String?
    package var messageID: String
    package var body: Data
    /// Seconds since 1970, when the message was made.
    package var createdAt: Double
    /// Set for a task (a step sent to a `docflow worker`): the queue it goes to directly, instead
    /// of the status exchange.
    package var queue: String?
    /// Seconds since 1970 after which the message is of no use (a task's deadline); the broker
    /// drops or dead-letters it then.
    package var expiresAt: Double?

    package init(
        event: String, workflowID: String, executionID: String?, messageID: String, body: Data,
        createdAt: Double = Date().timeIntervalSince1970, queue: String? = nil, expiresAt: Double? = nil
    ) {
        self.queue = queue
        self.expiresAt = expiresAt
        self.event = event
        self.workflowID = workflowID
        self.executionID = executionID
        self.messageID = messageID
        self.body = body
        self.createdAt = createdAt
    }
}

/// The messages one transaction committed, in order, under the row's `seq`.
package struct OutboxBatch: Sendable {
    package let seq: Int64
    package let messages: [OutboxMessage]

    package init(seq: Int64, messages: [OutboxMessage]) {
        self.seq = seq
        self.messages = messages
    }
}

/// The transactional outbox: a transaction stores the messages it means to publish as one row of
/// `outbox_batches`, so a group commit of a thousand status events writes one row, not a thousand.
/// `seq` grows in commit order (one writer, AUTOINCREMENT), which is the order to publish in.
package enum Outbox {
    /// Stores `messages` as one row; returns its `seq`, or nil when there was nothing to store.
    @discardableResult
    package static func append(_ db: Database, _ messages: [OutboxMessage]) throws -> Int64? {
        guard !messages.isEmpty else { return nil }
        let statement = try db.cachedStatement(sql: "INSERT INTO outbox_batches (messages, count) VALUES (?, ?)")
        try statement.execute(arguments: [OutboxCoding.encode(messages), messages.count])
        return db.lastInsertedRowID
    }

    @discardableResult
    package static func append(_ db: Database, _ message: OutboxMessage) throws -> Int64? {
        try append(db, [message])
    }

    /// The oldest batches after `seq`, in commit order.
    package static func pending(_ db: Database, after seq: Int64 = 0, limit: Int) throws -> [OutboxBatch] {
        try Row.fetchAll(
            db, sql: "SELECT seq, messages FROM outbox_batches WHERE seq > ? ORDER BY seq LIMIT ?",
            arguments: [seq, limit]
        ).map { row in
            let seq: Int64 = row["seq"]
            return OutboxBatch(seq: seq, messages: try OutboxCoding.decode(row["messages"], seq: seq))
        }
    }

    /// Forgets every batch up to and including `seq`.
    package static func remove(_ db: Database, upTo seq: Int64) throws {
        try db.execute(sql: "DELETE FROM outbox_batches WHERE seq <= ?", arguments: [seq])
    }

    /// Moves the message `messageID` of batch `seq` to `outbox_parked` with `reason`, leaving the
    /// rest of the batch to be published; false when it is not there (parked or deleted before).
    @discardableResult
    package static func park(_ db: Database, seq: Int64, messageID: String, reason: String, now: Date = Date())
        throws -> Bool
    {
        guard
            let blob = try Data.fetchOne(db, sql: "SELECT messages FROM outbox_batches WHERE seq = ?", arguments: [seq])
        else { return false }
        var messages = try OutboxCoding.decode(blob, seq: seq)
        guard let index = messages.firstIndex(where: { $0.messageID == messageID }) else { return false }
        let message = messages.remove(at: index)
        if messages.isEmpty {
            try db.execute(sql: "DELETE FROM outbox_batches WHERE seq = ?", arguments: [seq])
        } else {
            try db.execute(
                sql: "UPDATE outbox_batches SET messages = ?, count = ? WHERE seq = ?",
                arguments: [OutboxCoding.encode(messages), messages.count, seq])
        }
        try db.execute(
            sql: """
                INSERT INTO outbox_parked (message_id, event, workflow_id, execution_id, body, reason, parked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                message.messageID, message.event, message.workflowID, message.executionID, message.body, reason,
                RFC3339.string(from: now),
            ])
        return true
    }

    /// How many status events were parked.
    package static func parkedCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_parked") ?? 0
    }

    /// How many messages wait to be published or deleted.
    package static func count(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(count), 0) FROM outbox_batches") ?? 0
    }
}

/// The binary form of a batch: a version byte, a count, then each message as `created_at`
/// (float64 bits), event, workflow id, execution id (a presence byte, then the string), message
/// id, body, then (version 3) a flags byte followed by the queue (bit 0) and the expiry as float64
/// bits (bit 1); integers little-endian, strings and the body length-prefixed (u32).
///
/// Version 1 stored an exchange, a routing key and headers instead of the event and its ids; its
/// rows are still read (`legacyMessage`), so an upgrade publishes them unchanged.
enum OutboxCoding {
    static let version: UInt8 = 3

    static func encode(_ messages: [OutboxMessage]) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(messages.reduce(8) { $0 + $1.body.count + 120 })
        out.append(version)
        put(UInt32(messages.count), into: &out)
        for message in messages {
            put64(message.createdAt.bitPattern, into: &out)
            put(message.event, into: &out)
            put(message.workflowID, into: &out)
            if let executionID = message.executionID {
                out.append(1)
                put(executionID, into: &out)
            } else {
                out.append(0)
            }
            put(message.messageID, into: &out)
            put(UInt32(message.body.count), into: &out)
            out.append(contentsOf: message.body)
            out.append((message.queue == nil ? 0 : 1) | (message.expiresAt == nil ? 0 : 2))
            if let queue = message.queue { put(queue, into: &out) }
            if let expiresAt = message.expiresAt { put64(expiresAt.bitPattern, into: &out) }
        }
        return Data(out)
    }

    static func decode(_ data: Data, seq: Int64) throws -> [OutboxMessage] {
        var reader = Reader(bytes: [UInt8](data))
        guard let version = reader.byte(), (1...3).contains(version), let count = reader.u32() else {
            throw StoreError.corrupt("outbox batch \(seq)")
        }
        var messages: [OutboxMessage] = []
        messages.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard var message = version == 1 ? reader.version1Message() : reader.message() else {
                throw StoreError.corrupt("outbox batch \(seq)")
            }
            if version == 3 {
                guard let flags = reader.byte() else { throw StoreError.corrupt("outbox batch \(seq)") }
                if flags & 1 != 0 {
                    guard let queue = reader.string() else { throw StoreError.corrupt("outbox batch \(seq)") }
                    message.queue = queue
                }
                if flags & 2 != 0 {
                    guard let bits = reader.u64() else { throw StoreError.corrupt("outbox batch \(seq)") }
                    message.expiresAt = Double(bitPattern: bits)
                }
            }
            messages.append(message)
        }
        return messages
    }

    /// A message as version 1 stored it, with a status event's routing key `<event>.<workflow_id>`
    /// and headers `workflow_id` and `execution_id`.
    static func legacyMessage(
        routingKey: String, headers: [String: String], messageID: String, body: Data, createdAt: Double
    ) -> OutboxMessage {
        var event = routingKey
        var workflowID = headers["workflow_id"] ?? ""
        if !workflowID.isEmpty, routingKey.hasSuffix(".\(workflowID)") {
            event = String(decoding: routingKey.utf8.dropLast(workflowID.utf8.count + 1), as: UTF8.self)
        } else if let dot = routingKey.lastIndex(of: ".") {
            // Never written by docflow; the key is kept as it was.
            event = String(routingKey[..<dot])
            workflowID = String(routingKey[routingKey.index(after: dot)...])
        }
        return OutboxMessage(
            event: event, workflowID: workflowID, executionID: headers["execution_id"], messageID: messageID,
            body: body, createdAt: createdAt)
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

        mutating func message() -> OutboxMessage? {
            guard let bits = u64(), let event = string(), let workflowID = string(), let hasExecution = byte()
            else { return nil }
            var executionID: String?
            if hasExecution != 0 {
                guard let id = string() else { return nil }
                executionID = id
            }
            guard let messageID = string(), let body = blob() else { return nil }
            return OutboxMessage(
                event: event, workflowID: workflowID, executionID: executionID, messageID: messageID, body: Data(body),
                createdAt: Double(bitPattern: bits))
        }

        mutating func version1Message() -> OutboxMessage? {
            guard let bits = u64(), string() != nil, let routingKey = string(), let messageID = string(),
                let headerCount = u32()
            else { return nil }
            var headers: [String: String] = [:]
            for _ in 0..<headerCount {
                guard let name = string(), let value = string() else { return nil }
                headers[name] = value
            }
            guard let body = blob() else { return nil }
            return OutboxCoding.legacyMessage(
                routingKey: routingKey, headers: headers, messageID: messageID, body: Data(body),
                createdAt: Double(bitPattern: bits))
        }
    }
}
