import DocflowCore
import Foundation
import GRDB
import Testing

@testable import DocflowStore

/// `Outbox.park`: a status event the broker refused leaves its batch for `outbox_parked`, and
/// the rest of the batch stays to be published.
@Suite struct OutboxParkingTests {
    private static func message(_ id: String) -> OutboxMessage {
        OutboxMessage(
            event: "workflow.step.completed", workflowID: "w", executionID: "e", messageID: id,
            body: Data("{\"id\":\"\(id)\"}".utf8), createdAt: 1)
    }

    private static func store() throws -> Store {
        try Store(
            path: FileManager.default.temporaryDirectory
                .appendingPathComponent("docflow-park-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path)
    }

    @Test func parkingOneMessageKeepsTheRestOfItsBatch() async throws {
        let store = try Self.store()
        let seq = try await store.write { db in try Outbox.append(db, [Self.message("a"), Self.message("b")]) }
        let parked = try await store.write { db in
            try Outbox.park(db, seq: try #require(seq), messageID: "a", reason: "refused")
        }
        #expect(parked)
        let pending = try await store.read { db in try Outbox.pending(db, limit: 10) }
        #expect(pending.map(\.seq) == [seq])
        #expect(pending.first?.messages.map(\.messageID) == ["b"])
        #expect(try await store.read { db in try Outbox.count(db) } == 1)
        #expect(try await store.read { db in try Outbox.parkedCount(db) } == 1)
        let row = try await store.read { db -> [String]? in
            guard let row = try Row.fetchOne(db, sql: "SELECT message_id, reason, body FROM outbox_parked") else {
                return nil
            }
            return [row["message_id"], row["reason"], String(decoding: row["body"] as Data, as: UTF8.self)]
        }
        #expect(row == ["a", "refused", #"{"id":"a"}"#])
    }

    @Test func parkingTheLastMessageRemovesTheBatch() async throws {
        let store = try Self.store()
        let seq = try #require(try await store.write { db in try Outbox.append(db, Self.message("a")) })
        #expect(try await store.write { db in try Outbox.park(db, seq: seq, messageID: "a", reason: "refused") })
        #expect(try await store.read { db in try Outbox.pending(db, limit: 10) }.isEmpty)
        // Parked already: nothing to do.
        #expect(!(try await store.write { db in try Outbox.park(db, seq: seq, messageID: "a", reason: "again") }))
        #expect(try await store.read { db in try Outbox.parkedCount(db) } == 1)
    }
}
