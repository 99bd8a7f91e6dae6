import DocflowEngine
import ServiceLifecycle

/// The journal's writer. At shutdown, and when cancelled, it writes what is queued, then returns.
final class JournalService: Service, Sendable {
    let journal: Journal

    init(journal: Journal) {
        self.journal = journal
    }

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await journal.run()
        } onCancelOrGracefulShutdown: { [journal] in
            journal.stop()
        }
    }
}
