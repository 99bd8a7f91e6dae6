import DocflowCore
import DocflowDocuments
import Foundation
import Testing

@testable import DocflowEngine

/// The `docflow-parse` processes themselves: killed at the deadline and on cancellation, gone
/// once their parse has answered, and started with nothing of docflow's. Each test runs the
/// helper under a name of its own, so it sees only its own helpers.
@Suite(.timeLimit(.minutes(2)))
struct ParserHelperTests {
    @Test func aParsePastItsDeadlineHasItsHelperKilledAtTheDeadline() async throws {
        let slow = try await HostilePDFs.slow.value
        let name = "dp-deadline"
        let pool = ParserPool(executable: try renamedParser(name))
        let started = ContinuousClock.now
        let parse = Task { await parseOutcome(pool, slow, within: .seconds(1)) }
        let helpers = try await HelperTable.waitForChildren(named: name)
        try #require(!helpers.isEmpty, "no helper started")
        #expect(await parse.value == .failure(.timeout(waiting: false)))
        // Parsing this PDF takes about 40 s.
        #expect(ContinuousClock.now - started < .seconds(10))
        for helper in helpers { #expect(!HelperTable.isAlive(helper), "helper \(helper)") }
    }

    @Test func cancellingAParseKillsItsHelper() async throws {
        let slow = try await HostilePDFs.slow.value
        let name = "dp-cancel"
        let pool = ParserPool(executable: try renamedParser(name))
        let parse = Task { await parseOutcome(pool, slow) }
        let helpers = try await HelperTable.waitForChildren(named: name)
        try #require(!helpers.isEmpty, "no helper started")
        let cancelled = ContinuousClock.now
        parse.cancel()
        #expect(await parse.value == .failure(.cancelled))
        #expect(ContinuousClock.now - cancelled < .seconds(10))
        for helper in helpers { #expect(!HelperTable.isAlive(helper), "helper \(helper)") }
        #expect(pool.running == 0)
    }

    @Test func aHelperInheritsNoEnvironmentAndNoDescriptorAbove2() async throws {
        // The test process's own environment (PATH, HOME, ...) is what must not reach the helper.
        // No setenv here: changing the environment while other tests spawn processes races with
        // Foundation's Process.run copying it (a crash in memcpy, seen in a parallel run).
        try #require(!ProcessInfo.processInfo.environment.isEmpty)
        let slow = try await HostilePDFs.slow.value
        let name = "dp-isolated"
        let pool = ParserPool(executable: try renamedParser(name))
        // A descriptor of the test process's without close-on-exec, on a file of its own: the
        // helper must not get it. (The helper may open descriptors of its own, such as
        // /dev/null before it becomes stderr, so numbers alone do not tell; the file does.)
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-leak-\(UUID())").path
        let leaked = open(marker, O_RDWR | O_CREAT, 0o600)
        defer {
            close(leaked)
            unlink(marker)
        }
        let parse = Task { await parseOutcome(pool, slow) }
        let helpers = try await HelperTable.waitForChildren(named: name)
        try #require(!helpers.isEmpty, "no helper started")
        for helper in helpers {
            #expect(HelperTable.environment(of: helper) == [], "helper \(helper)")
            let open = HelperTable.descriptors(of: helper).compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(helper)/fd/\($0)")
            }
            #expect(!open.contains(marker), "helper \(helper) holds the test's descriptor: \(open)")
            #expect(HelperTable.descriptors(of: helper).prefix(3) == [0, 1, 2], "helper \(helper)")
        }
        parse.cancel()
        #expect(await parse.value == .failure(.cancelled))
    }

    @Test func aHelperIsGoneOnceItsParseHasAnswered() async throws {
        let name = "dp-answered"
        let pool = ParserPool(executable: try renamedParser(name))
        let document = SampleDocuments.pdf(pages: ["Done"], title: "Done")
        #expect(try await parseOutcome(pool, document).get().text == "Done")
        #expect(HelperTable.children(named: name, zombies: true) == [])
    }
}
