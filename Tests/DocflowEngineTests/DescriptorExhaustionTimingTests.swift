import DocflowCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// Out of descriptors, a jq or parser helper cannot start: that fails the step for now, never for
/// good.
/// These tests lower the whole test process's descriptor limit for a moment, so they run alone
/// (`Timing` in the name puts them in `make test`'s serial phase).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct DescriptorExhaustionTimingTests {
    /// Lowers the soft limit on descriptors to the lowest free one, so that none can be opened;
    /// returns the limit to put back.
    private func exhaustDescriptors() throws -> rlimit {
        var saved = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) == 0)
        let lowest = dup(0)
        try #require(lowest >= 0)
        close(lowest)
        var lowered = saved
        lowered.rlim_cur = rlim_t(lowest)
        try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered) == 0)
        return saved
    }

    private func restore(_ limit: rlimit) {
        var limit = limit
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    @Test func aHelperThatCannotStartForWantOfDescriptorsIsUnavailableThenStartsOnceThereAreSome() async throws {
        let pool = try makePool(size: 1)
        defer { pool.shutdown() }
        let saved = try exhaustDescriptors()
        let result = await outcome { () async throws(JQError) in
            try await pool.evaluate(".x", input: ["x": 1], timeout: .seconds(10))
        }
        restore(saved)
        #expect(result == .failure(.unavailable("cannot create a pipe: Too many open files")))
        #expect(try await pool.evaluate(".x", input: ["x": 1], timeout: .seconds(10)) == [1])
    }

    @Test func aParserThatCannotStartForWantOfDescriptorsIsUnavailableThenStartsOnceThereAreSome() async throws {
        let pool = ParserPool(executable: try parserExecutable())
        let document = SampleDocuments.html("back", title: "x")
        let saved = try exhaustDescriptors()
        let result = await parseOutcome(pool, document)
        restore(saved)
        #expect(result == .failure(.unavailable("cannot create a pipe: Too many open files")))
        #expect(try await parseOutcome(pool, document).get().text == "back")
    }

    @Test func aTransformStepOutOfDescriptorsIsRetriedByTheEngineAndCompletes() async throws {
        // The pool says when a helper could not start: the descriptors come back at once, before
        // anything else in the process runs short (libdispatch traps when it cannot read /proc).
        let failures = FailureCount()
        let pool = JQPool(
            executable: JQPool.defaultExecutable, size: 1,
            logger: Logger(label: "docflow.jq.tests", factory: { _ in failures }))
        defer { pool.shutdown() }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-emfile-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
        let store = try Store(path: path)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let journal = Journal(store: store, logger: logger, didCommit: { _ in })
        let writer = Task { await journal.run() }
        var executors = StepExecutors()
        executors.register(.transform, TransformStep(jq: pool))
        let engine = Engine(store: store, journal: journal, executors: executors, logger: logger)
        // No retry policy: the step's own policy would fail it at once.
        let workflow = Workflow(
            id: UUID().uuidString.lowercased(), name: "Out of descriptors", description: nil,
            definition: WorkflowDefinition(steps: [
                StepDefinition(id: "double", type: .transform, config: ["expression": ".trigger.x * 2"])
            ]),
            triggerType: .manual, triggerConfig: [:], enabled: true, createdAt: Date(), updatedAt: Date())
        try await store.write { db in try WorkflowRepository.insert(db, workflow) }

        let saved = try exhaustDescriptors()
        let started: StartOutcome
        do {
            started = try await engine.start(.manual(workflow, triggerData: ["x": 21]))
        } catch {
            restore(saved)
            throw error
        }
        let wait = ContinuousClock.now.advanced(by: .seconds(5))
        while failures.count == 0, ContinuousClock.now < wait { await Task.yield() }
        restore(saved)
        #expect(failures.count > 0)
        let execution = try #require(started.execution)
        var ended: Execution?
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            ended = try await store.read { db in try ExecutionRepository.fetch(db, id: execution.id) }
            if ended?.status != .running, !engine.isRunning(execution.id) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(ended?.status == .completed, "\(String(describing: ended?.error))")
        #expect(ended?.run(of: "double")?.output == 42)
        #expect((ended?.run(of: "double")?.attempts ?? 0) > 1)
        await engine.stop(wait: .seconds(1))
        journal.stop()
        await writer.value
    }
}

/// Counts the errors logged to it, in memory: it opens nothing.
private struct FailureCount: LogHandler {
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
    private let errors = Counter()
    var count: Int { errors.value.load(ordering: .relaxed) }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .error

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if event.level >= .error { errors.value.add(1, ordering: .relaxed) }
    }
}
