import DocflowCore
import DocflowStore
import Foundation
import Logging

@testable import DocflowEngine

/// An engine over a fresh database in a folder named after `name`, every step type run by
/// `steps`; its journal is not running yet (see `whileJournalRuns`).
func freshEngine(_ name: String, steps: any StepExecutor) throws -> (store: Store, journal: Journal, engine: Engine) {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("docflow-\(name)-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
    let store = try Store(path: path)
    let logger = Logger(label: "test")
    let journal = Journal(store: store, logger: logger, didCommit: { _ in })
    var executors = StepExecutors()
    for type in StepType.allCases { executors.register(type, steps) }
    let engine = Engine(store: store, journal: journal, executors: executors, logger: logger)
    return (store, journal, engine)
}

/// Runs `body` while `journal` writes; then stops `engine` and the journal. On a failure only the
/// journal is stopped, so the failure is reported without waiting on the engine.
func whileJournalRuns<T>(_ journal: Journal, engine: Engine, _ body: () async throws -> T) async throws -> T {
    let writer = Task { await journal.run() }
    let result: T
    do {
        result = try await body()
    } catch {
        journal.stop()
        await writer.value
        throw error
    }
    await engine.stop(wait: .seconds(5))
    journal.stop()
    await writer.value
    return result
}
