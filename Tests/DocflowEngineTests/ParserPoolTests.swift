import DocflowCore
import DocflowDocuments
import Foundation
import Synchronization
import Testing

@testable import DocflowEngine

/// Documents parsed in `docflow-parse` helpers: the same result as in docflow's own process, a
/// bounded number at once, and a helper's death failing only its own parse.
@Suite(.timeLimit(.minutes(2)))
struct ParserPoolTests {
    /// Sleeps on a document that says BLOCK; answers any other at once.
    static let blockingParser = """
        if grep -qa BLOCK; then exec sleep 60; fi
        echo '{"ok": false, "error": "done"}'
        """

    @Test(arguments: ["pdf", "docx", "html"])
    func aHelperParsesAsDocflowsOwnProcessWould(format: String) async throws {
        let data =
            switch format {
            case "pdf": SampleDocuments.pdf(pages: ["First page", "Second page"], title: "Two pages")
            case "docx": try SampleDocuments.docx(paragraphs: ["Clause one", "Clause two"], title: "Agreement")
            default: SampleDocuments.html("Hello <b>world</b> &amp; more", title: "Greeting")
            }
        let pool = ParserPool(executable: try parserExecutable())
        let expected = try DocumentParser.parse(data, fileType: nil, url: nil, documentID: "doc-1")
        #expect(expected.fileType == format)
        #expect(await parseOutcome(pool, data) == .success(expected))
    }

    @Test func aDamagedDocumentFailsWithTheParsersOwnMessage() async throws {
        let data = Data("%PDF-1.4\nthis is no PDF".utf8)
        let expected = #expect(throws: DocumentError.self) {
            try DocumentParser.parse(data, fileType: "pdf", url: nil, documentID: nil)
        }
        let pool = ParserPool(executable: try parserExecutable())
        #expect(await parseOutcome(pool, data, fileType: "pdf") == .failure(.document(try #require(expected).message)))
    }

    @Test func moreParsesThanHelpersAllComplete() async throws {
        let pool = ParserPool(executable: try parserExecutable(), processes: 2)
        let outcomes = await withTaskGroup(of: (Int, ParseOutcome).self) { group in
            for i in 0..<12 {
                group.addTask {
                    (i, await parseOutcome(pool, SampleDocuments.pdf(pages: ["Page of \(i)"], title: "Number \(i)")))
                }
            }
            var outcomes: [Int: ParseOutcome] = [:]
            for await (i, outcome) in group { outcomes[i] = outcome }
            return outcomes
        }
        for i in 0..<12 {
            let document = try outcomes[i]?.get()
            #expect(document?.text == "Page of \(i)")
            #expect(document?.title == "Number \(i)")
        }
        #expect(pool.waiting == 0)
    }

    @Test func waitingParsesGetAHelperInTheOrderTheyAsked() async throws {
        let pool = ParserPool(executable: try fakeParser(Self.blockingParser), processes: 1)
        let blocker = Task { await parseOutcome(pool, SampleDocuments.html("BLOCK", title: "x")) }
        while pool.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let order = Order()
        var waiters: [Task<Void, Never>] = []
        for name in ["first", "second", "third"] {
            let expected = pool.waiting + 1
            waiters.append(
                Task {
                    _ = await parseOutcome(pool, SampleDocuments.html(name, title: name))
                    order.names.withLock { $0.append(name) }
                })
            while pool.waiting < expected { try await Task.sleep(for: .milliseconds(5)) }
        }
        blocker.cancel()
        #expect(await blocker.value == .failure(.cancelled))
        for waiter in waiters { await waiter.value }
        #expect(order.names.withLock { $0 } == ["first", "second", "third"])
    }

    @Test func aWaitingParseStopsWaitingAtItsDeadlineOrWhenCancelled() async throws {
        let pool = ParserPool(executable: try fakeParser(Self.blockingParser), processes: 1)
        let blocker = Task { await parseOutcome(pool, SampleDocuments.html("BLOCK", title: "x")) }
        while pool.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let started = ContinuousClock.now
        let timedOut = await parseOutcome(pool, SampleDocuments.html("y", title: "y"), within: .milliseconds(300))
        #expect(timedOut == .failure(.timeout(waiting: true)))
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(pool.waiting == 0)

        let waiter = Task { await parseOutcome(pool, SampleDocuments.html("z", title: "z")) }
        while pool.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        waiter.cancel()
        #expect(await waiter.value == .failure(.cancelled))
        #expect(pool.waiting == 0)
        blocker.cancel()
        #expect(await blocker.value == .failure(.cancelled))
    }

    @Test func aHelperThatRunsOutOfMemoryFailsOnlyItsParseAndTheNextOneWorks() async throws {
        let bomb = try await HostilePDFs.bomb.value
        let pool = ParserPool(executable: try parserExecutable(), processes: 2, memoryMiB: 256)
        let hello = SampleDocuments.pdf(pages: ["Hello"], title: "Small")
        async let exploded = parseOutcome(pool, bomb)
        async let beside = parseOutcome(pool, hello)
        let (bombOutcome, besideOutcome) = await (exploded, beside)
        guard case .failure(.crashed(let reason)) = bombOutcome else {
            Issue.record("the bomb: \(bombOutcome)")
            return
        }
        #expect(reason.contains("at most 256 MiB of memory (--parse-memory-mb)"), "\(reason)")
        #expect(try besideOutcome.get().text == "Hello")
        #expect(try await parseOutcome(pool, hello).get().text == "Hello")
    }

    @Test(arguments: [
        (
            "kill -SEGV $$",
            ParserError.crashed(
                "the parser stopped (signal 11); documents are parsed with at most 1024 MiB of memory (--parse-memory-mb)"
            )
        ),
        ("exit 3", .crashed("the parser exited with status 3 without a reply")),
        ("echo nonsense", .crashed("the parser's reply is unreadable")),
        ("echo '{\"ok\": false, \"error\": \"the PDF is encrypted\"}'", .document("the PDF is encrypted")),
    ])
    func aHelperThatDiesWithoutAReplySaysHow(script: String, error: ParserError) async throws {
        let pool = ParserPool(executable: try fakeParser("cat >/dev/null; \(script)"))
        let outcome = await parseOutcome(pool, SampleDocuments.html("x", title: "x"))
        #expect(outcome == .failure(error), "got \(outcome)")
    }

    @Test func aReplyLargerThanTheStepOutputLimitFailsItsParse() async throws {
        let pool = ParserPool(executable: try parserExecutable(), maxOutputBytes: 4096)
        let long = String(repeating: "many words ", count: 1000)
        #expect(
            await parseOutcome(pool, SampleDocuments.html(long, title: "Long"))
                == .failure(.outputTooLarge(limit: 4096))
        )
        #expect(try await parseOutcome(pool, SampleDocuments.html("short", title: "Short")).get().text == "short")
    }

    @Test func aHelperThatCannotStartIsUnavailable() async throws {
        let pool = ParserPool(executable: "/nonexistent/docflow-parse")
        #expect(
            await parseOutcome(pool, SampleDocuments.html("x", title: "x"))
                == .failure(.unavailable("cannot start /nonexistent/docflow-parse: No such file or directory")))
    }
}

/// The order in which parses finished.
private final class Order: Sendable {
    let names = Mutex<[String]>([])
}
