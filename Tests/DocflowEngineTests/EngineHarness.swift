@testable import DocflowEngine

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
