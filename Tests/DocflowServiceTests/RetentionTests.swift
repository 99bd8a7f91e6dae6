import DocflowCore
import DocflowStore
import Foundation
import GRDB
import Logging
import Testing

@testable import DocflowService

/// Retention: the janitor prunes finished history by age and by count per workflow, with the
/// claims and idempotency records that go with it, and gives the space back.
@Suite struct RetentionTests {
    static func store() throws -> (Store, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-retention-\(UUID())")
        return (try Store(path: folder.appendingPathComponent("docflow.sqlite").path), folder)
    }

    static func workflow(_ store: Store, id: String = UUID().uuidString) async throws -> Workflow {
        let workflow = Workflow(
            id: id, name: "w", description: nil,
            definition: WorkflowDefinition(steps: [
                StepDefinition(id: "a", type: .transform, config: ["expression": "."])
            ]),
            triggerType: .manual, triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        try await store.write { db in try WorkflowRepository.insert(db, workflow) }
        return workflow
    }

    /// `count` executions of `workflow`, one a second back from `newest`, each with a step and
    /// about 2 KB of trigger data.
    static func executions(
        _ store: Store, _ workflow: Workflow, count: Int, newest: Date, status: ExecutionStatus = .completed,
        claims: Bool = true
    ) async throws -> [String] {
        let padding = String(repeating: "x", count: 2000)
        return try await store.write { db in
            try (0..<count).map { index in
                let started = newest.addingTimeInterval(-Double(index))
                var execution = Execution(
                    workflow: workflow, triggeredBy: .manual, triggerData: ["pad": .string(padding)], startedAt: started
                )
                execution.status = status
                execution.completedAt = status == .running ? nil : started
                execution.log = [
                    StepRun(stepID: "a", type: .transform, status: .completed, attempts: 1, output: ["n": 1])
                ]
                try ExecutionRepository.insert(db, execution)
                if claims {
                    try _ = TriggerClaims.claim(
                        db, workflowID: workflow.id, key: "event:\(execution.id)", executionID: execution.id)
                }
                return execution.id
            }
        }
    }

    static func count(_ store: Store, _ sql: String) async throws -> Int {
        try await store.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    @Test func finishedExecutionsPastTheAgeGoWithTheirStepsAndClaimsRunningOnesStay() async throws {
        let (store, folder) = try Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let workflow = try await Self.workflow(store)
        let now = Date()
        _ = try await Self.executions(store, workflow, count: 30, newest: now)
        _ = try await Self.executions(store, workflow, count: 40, newest: now.addingTimeInterval(-40 * 86_400))
        _ = try await Self.executions(
            store, workflow, count: 5, newest: now.addingTimeInterval(-50 * 86_400), status: .running)
        let janitor = Janitor(
            store: store, policy: RetentionPolicy(maxAge: 30 * 86_400, maxPerWorkflow: nil), logger: Logger(label: "t"))
        let report = try await janitor.prune(now: now)
        #expect(report.executions == 40)
        #expect(try await Self.count(store, "SELECT COUNT(*) FROM executions") == 35)
        #expect(try await Self.count(store, "SELECT COUNT(*) FROM executions WHERE status = 'running'") == 5)
        #expect(try await Self.count(store, "SELECT COUNT(*) FROM execution_steps") == 35)
        // Claims are dated by when they were taken (now), so they stay until their own age.
        #expect(try await Self.count(store, "SELECT COUNT(*) FROM trigger_claims") == 75)
        let later = try await janitor.prune(now: now.addingTimeInterval(31 * 86_400))
        #expect(later.claims == 75)
    }

    @Test func eachWorkflowKeepsItsNewestExecutionsAndADeletedOneLeavesNoClaims() async throws {
        let (store, folder) = try Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let busy = try await Self.workflow(store)
        let quiet = try await Self.workflow(store)
        let gone = try await Self.workflow(store)
        let now = Date()
        let busyIDs = try await Self.executions(store, busy, count: 1200, newest: now)
        _ = try await Self.executions(store, quiet, count: 7, newest: now)
        _ = try await Self.executions(store, gone, count: 600, newest: now)
        _ = try await store.write { db in try WorkflowRepository.delete(db, id: gone.id) }
        var policy = RetentionPolicy(maxAge: nil, maxPerWorkflow: 100)
        policy.batchSize = 250
        let report = try await Janitor(store: store, policy: policy, logger: Logger(label: "t")).prune(now: now)
        #expect(report.executions == 1100)
        let kept = try await store.read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM executions WHERE workflow_id = ? ORDER BY started_at DESC",
                arguments: [busy.id])
        }
        #expect(kept == Array(busyIDs.prefix(100)))
        #expect(try await Self.count(store, "SELECT COUNT(*) FROM executions") == 107)
        #expect(report.claims == 600, "the deleted workflow's claims")
        #expect(try await Self.count(store, "SELECT COUNT(*) FROM trigger_claims") == 1207)
    }

    /// The soak: waves of executions, with a pass of the janitor after each. Once retention
    /// applies, the database stops growing: pruned pages are reused or given back.
    @Test func theDatabaseStaysTheSameSizeOnceRetentionApplies() async throws {
        let (store, folder) = try Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let workflow = try await Self.workflow(store)
        let janitor = Janitor(
            store: store, policy: RetentionPolicy(maxAge: nil, maxPerWorkflow: 300), logger: Logger(label: "t"))
        var sizes: [Int] = []
        var newest = Date().addingTimeInterval(-86_400)
        for _ in 0..<8 {
            newest = newest.addingTimeInterval(1000)
            // Claims are pruned by age, which this soak does not wait for (the first test does).
            _ = try await Self.executions(store, workflow, count: 400, newest: newest, claims: false)
            _ = try await janitor.prune()
            sizes.append(try await store.read { db in try Retention.pageCounts(db) }.used)
        }
        #expect(try await Self.count(store, "SELECT COUNT(*) FROM executions") == 300)
        // Flat from the second wave on (within a few pages of B-tree slack), and nothing left free.
        let settled = sizes.dropFirst(2)
        #expect(settled.max()! - settled.min()! <= settled.min()! / 20, "pages in use per wave: \(sizes)")
        #expect(try await store.read { db in try Retention.pageCounts(db) }.free == 0)
        let fileSize = try FileManager.default.attributesOfItem(atPath: store.path)[.size] as? Int ?? 0
        print("retention soak: pages in use after each wave \(sizes); file \(fileSize) bytes")
    }

    @Test func aNewDatabaseIsMadeInIncrementalVacuumAndAnOlderOneIsLeftAsItIs() async throws {
        let fresh = try Self.store()
        defer { try? FileManager.default.removeItem(at: fresh.1) }
        #expect(try await fresh.0.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } == 2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-vacuum-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("docflow.sqlite").path
        // A database as an older docflow made it: no auto-vacuum. It is opened, not rewritten.
        let old = try DatabaseQueue(path: path)
        try await old.write { db in try db.execute(sql: "CREATE TABLE leftover (x)") }
        try old.close()
        let store = try Store(path: path)
        #expect(try await store.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } == 0)
    }
}
