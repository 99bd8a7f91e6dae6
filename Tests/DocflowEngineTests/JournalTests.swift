import DocflowCore
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// The journal's group commit and the outbox it writes, on a real SQLite file.
@Suite struct JournalTests {
    private static func temporaryStore() throws -> Store {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-journal-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
        return try Store(path: path)
    }

    private static let workflow = Workflow(
        id: "0b8e6a84-5a53-4b4c-9d3f-2f1b0c1a7e11", name: "Invoices", description: nil,
        definition: WorkflowDefinition(steps: [
            StepDefinition(id: "a", type: .transform, config: ["expression": "."]),
            StepDefinition(id: "b", type: .transform, config: ["expression": "."]),
        ]),
        triggerType: .event, triggerConfig: ["event": "document.uploaded"], enabled: true,
        createdAt: Date(), updatedAt: Date())

    private final class Committed: Sendable {
        let batches = Mutex<[OutboxBatch]>([])
    }

    @Test func outboxBatchesRoundTripInCommitOrder() throws {
        let store = try Self.temporaryStore()
        let first = (0..<3).map { index in
            OutboxMessage(
                event: "workflow.started", workflowID: "w", executionID: "e-\(index)", messageID: "m-\(index)",
                body: Data("{\"n\":\(index)}".utf8))
        }
        let second = [
            OutboxMessage(
                event: "workflow.created", workflowID: "w", executionID: nil, messageID: "m-x",
                body: Data("ünïcode ✓".utf8))
        ]
        let (one, two) = try store.pool.write { db in
            (try Outbox.append(db, first), try Outbox.append(db, second))
        }
        #expect(try store.pool.write { db in try Outbox.append(db, []) } == nil)
        let pending = try store.pool.read { db in try Outbox.pending(db, limit: 10) }
        #expect(pending.map(\.seq) == [one!, two!])
        #expect(pending[0].messages == first)
        #expect(pending[1].messages == second)
        #expect(try store.pool.read { db in try Outbox.count(db) } == 4)
        #expect(try store.pool.read { db in try Outbox.pending(db, after: one!, limit: 10) }.map(\.seq) == [two!])
        try store.pool.write { db in try Outbox.remove(db, upTo: one!) }
        #expect(try store.pool.read { db in try Outbox.count(db) } == 1)
    }

    @Test func aCorruptBatchIsAnErrorNotACrash() throws {
        let store = try Self.temporaryStore()
        try store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO outbox_batches (messages, count) VALUES (?, 1)", arguments: [Data([1, 9])])
        }
        #expect(throws: StoreError.self) { try store.pool.read { db in try Outbox.pending(db, limit: 10) } }
    }

    @Test func aVersion1BatchOnDiskReadsBackAsItsEvents() throws {
        let store = try Self.temporaryStore()
        // One message as version 1 stored it: exchange, routing key and headers.
        var blob: [UInt8] = [1]
        func put(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { blob.append(contentsOf: $0) } }
        func put(_ string: String) {
            put(UInt32(string.utf8.count))
            blob.append(contentsOf: string.utf8)
        }
        put(1)
        withUnsafeBytes(of: (1_700_000_000.0 as Double).bitPattern.littleEndian) { blob.append(contentsOf: $0) }
        for string in ["docflow.status", "workflow.completed.w-1", "m-1"] { put(string) }
        put(2)
        for string in ["execution_id", "e-1", "workflow_id", "w-1"] { put(string) }
        put("{}")
        try store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO outbox_batches (messages, count) VALUES (?, 1)", arguments: [Data(blob)])
        }
        let pending = try store.pool.read { db in try Outbox.pending(db, limit: 10) }
        #expect(
            pending.first?.messages == [
                OutboxMessage(
                    event: "workflow.completed", workflowID: "w-1", executionID: "e-1", messageID: "m-1",
                    body: Data("{}".utf8), createdAt: 1_700_000_000)
            ])
    }

    @Test func migrationMovesUnpublishedRowsOfTheOldOutboxIntoABatch() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-migrate-\(UUID().uuidString).sqlite").path
        let queue = try DatabaseQueue(path: path)
        try Migrations.migrator.migrate(queue, upTo: "v2: extraction schemas")
        try queue.write { db in
            for index in 0..<2 {
                try db.execute(
                    sql: """
                        INSERT INTO outbox (exchange, routing_key, message_id, headers, body, created_at)
                        VALUES ('docflow.status', ?, ?, ?, ?, 1700000000)
                        """,
                    arguments: [
                        "workflow.created.w-\(index)", "m-\(index)", "{\"workflow_id\":\"w-\(index)\"}",
                        Data("{}".utf8),
                    ])
            }
        }
        try Migrations.migrator.migrate(queue)
        let pending = try queue.read { db in try Outbox.pending(db, limit: 10) }
        #expect(pending.count == 1)
        #expect(pending[0].messages.map(\.messageID) == ["m-0", "m-1"])
        #expect(pending[0].messages[1].event == "workflow.created")
        #expect(pending[0].messages[1].workflowID == "w-1")
        #expect(pending[0].messages[1].executionID == nil)
        #expect(pending[0].messages[1].createdAt == 1_700_000_000)
        #expect(try queue.read { db in try db.tableExists("outbox") } == false)
    }

    @Test func aCommitAfterTheWriterReturnedFailsInsteadOfWaitingForever() async throws {
        let store = try Self.temporaryStore()
        try await store.write { db in try WorkflowRepository.insert(db, Self.workflow) }
        let journal = Journal(store: store, logger: Logger(label: "test"), didCommit: { _ in })
        journal.stop()
        await journal.run()
        let execution = Execution(workflow: Self.workflow, triggeredBy: .manual, triggerData: [:])
        await #expect(throws: JournalStopped.self) { try await journal.commit(.started(execution)) }
    }

    @Test func oneGroupCommitWritesEachStepOnceAndEveryEventInOrder() async throws {
        let store = try Self.temporaryStore()
        try await store.write { db in try WorkflowRepository.insert(db, Self.workflow) }
        let committed = Committed()
        let journal = Journal(
            store: store, logger: Logger(label: "test"),
            didCommit: { batch in if let batch { committed.batches.withLock { $0.append(batch) } } })

        // Queue a whole execution before the writer runs, so it lands in one transaction.
        var execution = Execution(workflow: Self.workflow, triggeredBy: .event, triggerData: ["amount": 1])
        await journal.append(.started(execution))
        for (seq, id) in ["a", "b"].enumerated() {
            var run = StepRun(stepID: id, type: .transform, status: .running, attempts: 1, startedAt: Date())
            execution.log.append(run)
            await journal.append(.step(run, seq: seq, of: execution))
            run.status = .completed
            run.output = ["step": .string(id)]
            run.completedAt = Date()
            run.next = seq == 0 ? .step("b") : .end
            execution.log[seq] = run
            await journal.append(.step(run, seq: seq, of: execution))
        }
        execution.status = .completed
        execution.completedAt = Date()
        await journal.append(.finished(execution))
        // The writer takes everything queued in one transaction, and returns once it is written.
        journal.stop()
        await journal.run()

        let batches = committed.batches.withLock { $0 }
        #expect(batches.count == 1)
        let events = batches.first?.messages.map(\.event)
        #expect(batches.first?.messages.allSatisfy { $0.workflowID == Self.workflow.id } == true)
        #expect(batches.first?.messages.allSatisfy { $0.executionID == execution.id } == true)
        #expect(
            events == [
                "workflow.started", "workflow.step.started", "workflow.step.completed", "workflow.step.started",
                "workflow.step.completed", "workflow.completed",
            ])
        // The durable copy is the same batch, and the history reads back as it ended.
        let stored = try await store.read { db in try Outbox.pending(db, limit: 10) }
        #expect(stored.map(\.seq) == batches.map(\.seq))
        #expect(stored.first?.messages == batches.first?.messages)
        let id = execution.id
        let read = try #require(try await store.read { db in try ExecutionRepository.fetch(db, id: id) })
        #expect(read.status == .completed)
        #expect(read.log.map(\.status) == [.completed, .completed])
        #expect(read.log.map(\.output) == [["step": "a"], ["step": "b"]])
    }
}
