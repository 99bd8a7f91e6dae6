import DocflowCore
import Foundation
import GRDB

/// A message committed with the change it describes and published after the commit.
public struct OutboxMessage: Sendable, Codable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outbox"

    public var seq: Int64?
    public var exchange: String
    public var routingKey: String
    public var messageID: String
    /// String headers, as JSON text.
    public var headers: String
    public var body: Data
    public var createdAt: Double

    enum CodingKeys: String, CodingKey {
        case seq
        case exchange
        case routingKey = "routing_key"
        case messageID = "message_id"
        case headers
        case body
        case createdAt = "created_at"
    }

    public init(exchange: String, routingKey: String, messageID: String, headers: [String: String], body: Data) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.messageID = messageID
        self.headers = JSONValue.object(headers.mapValues { .string($0) }).encodedString()
        self.body = body
        self.createdAt = Date().timeIntervalSince1970
    }

    public var headerValues: [String: String] {
        ((try? JSONValue.parse(headers))?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        seq = inserted.rowID
    }
}

public enum Outbox {
    public static func append(_ db: Database, _ message: OutboxMessage) throws {
        var message = message
        try message.insert(db)
    }

    /// The oldest messages after `seq`, in commit order.
    public static func pending(_ db: Database, after seq: Int64 = 0, limit: Int) throws -> [OutboxMessage] {
        try OutboxMessage.filter(Column("seq") > seq).order(Column("seq")).limit(limit).fetchAll(db)
    }

    /// Forgets every message up to and including `seq`.
    public static func remove(_ db: Database, upTo seq: Int64) throws {
        try db.execute(sql: "DELETE FROM outbox WHERE seq <= ?", arguments: [seq])
    }

    public static func count(_ db: Database) throws -> Int {
        try OutboxMessage.fetchCount(db)
    }
}
