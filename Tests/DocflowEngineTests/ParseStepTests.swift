import DocflowCore
import DocflowDocuments
import Foundation
import Testing

@testable import DocflowEngine

/// A `parse` step over its parser pool: what it outputs, and how each way a helper fails reads
/// in the execution log and counts for retries.
@Suite(.timeLimit(.minutes(2)))
struct ParseStepTests {
    private func step(_ pool: ParserPool) -> ParseStep {
        ParseStep(
            source: DocumentSource(http: CurlClient(policy: OutboundPolicy()), root: "/nonexistent", urlTemplate: nil),
            parser: pool)
    }

    private func run(_ step: ParseStep, trigger: JSONValue, timeout: Duration = .seconds(60)) async -> Result<
        JSONValue, StepError
    > {
        let context = StepContext(
            json: ["trigger": trigger], executionID: "execution", workflowID: "workflow", stepID: "parse", attempt: 1,
            timeout: timeout, deadline: .now + timeout)
        do throws(StepError) {
            return .success(try await step.execute(StepDefinition(id: "parse", type: .parse), context: context).output)
        } catch {
            return .failure(error)
        }
    }

    private func base64(_ data: Data, _ fileType: String? = nil) -> JSONValue {
        var trigger: JSONValue = ["content_base64": .string(data.base64EncodedString()), "document_id": "doc-1"]
        if let fileType, case .object(var fields) = trigger {
            fields["file_type"] = .string(fileType)
            trigger = .object(fields)
        }
        return trigger
    }

    @Test func aPDFTriggerOutputsWhatTheParserReads() async throws {
        let data = SampleDocuments.pdf(pages: ["One", "Two"], title: "Pages")
        let expected = try DocumentParser.parse(data, fileType: nil, url: nil, documentID: "doc-1").json()
        let pool = ParserPool(executable: try parserExecutable())
        #expect(await run(step(pool), trigger: base64(data)) == .success(expected))
    }

    @Test func plainTextIsReadWithoutAHelper() async throws {
        let pool = ParserPool(executable: "/nonexistent/docflow-parse")
        let output = try await run(step(pool), trigger: ["content": "just text"]).get()
        #expect(output["text"] == "just text")
    }

    @Test func aDamagedDocumentFailsTheStepForGood() async throws {
        let pool = ParserPool(executable: try parserExecutable())
        let result = await run(step(pool), trigger: base64(Data("%PDF-1.4 nothing else".utf8), "pdf"))
        guard case .failure(let error) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(error.message.hasPrefix("cannot parse the trigger's document: the PDF is damaged"), "\(error)")
        #expect(!error.retryable)
    }

    @Test func aParsePastItsDeadlineFailsLikeAnyTimeout() async throws {
        let pool = ParserPool(executable: try fakeParser("exec sleep 60"))
        let started = ContinuousClock.now
        let result = await run(
            step(pool), trigger: base64(SampleDocuments.html("x", title: "x")), timeout: .milliseconds(500))
        #expect(result == .failure(StepError("parsing timed out after 500 ms; the parser was stopped")))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func cancellingTheStepsTaskFailsItAsCancelled() async throws {
        let pool = ParserPool(executable: try fakeParser("exec sleep 60"))
        let parse = Task { await run(step(pool), trigger: base64(SampleDocuments.html("x", title: "x"))) }
        while pool.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        parse.cancel()
        #expect(await parse.value == .failure(StepError("cancelled", retryable: false)))
    }

    @Test func aHelperThatCannotStartFailsTheStepForNowOnly() async throws {
        let pool = ParserPool(executable: "/nonexistent/docflow-parse")
        let result = await run(step(pool), trigger: base64(SampleDocuments.html("x", title: "x")))
        #expect(
            result
                == .failure(
                    StepError(
                        "the document parser is unavailable: cannot start /nonexistent/docflow-parse: No such file or directory",
                        transient: true)))
    }

    /// The bomb took 12 GB and a minute in docflow's own process, and held up every other PDF.
    @Test func aPDFBombFailsItsStepAndLeavesDocflowsMemoryAlone() async throws {
        let bomb = try await HostilePDFs.bomb.value
        let name = "dp-bomb"
        let pool = ParserPool(executable: try renamedParser(name), memoryMiB: 512)
        let before = HelperTable.ownResidentBytes()
        let started = ContinuousClock.now
        let result = await run(step(pool), trigger: base64(bomb), timeout: .seconds(1))
        #expect(ContinuousClock.now - started < .seconds(10))
        guard case .failure(let error) = result else {
            Issue.record("the bomb parsed: \(result)")
            return
        }
        // Whichever comes first: the memory cap (a signal, or an exit when an allocation fails) or the deadline.
        let outOfMemory =
            (error.message.hasPrefix("cannot parse the trigger's document: the parser stopped (signal ")
                && error.message.hasSuffix("documents are parsed with at most 512 MiB of memory (--parse-memory-mb)"))
            || error.message.hasPrefix("cannot parse the trigger's document: the parser exited with status ")
        #expect(outOfMemory || error.message == "parsing timed out after 1000 ms; the parser was stopped", "\(error)")
        #expect(HelperTable.children(named: name, zombies: true) == [])
        let grown = HelperTable.ownResidentBytes() - before
        #expect(grown < 200 << 20, "the test process grew by \(grown >> 20) MiB")
    }
}
