import DocflowCore
import DocflowDocuments
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Parses PDF, DOCX and HTML documents in `docflow-parse` helper processes, one process per
/// document and at most `processes` at once; more wait their turn, first come, first served.
///
/// poppler can take gigabytes and minutes over a hostile PDF and cannot be interrupted, so these
/// formats are never parsed in docflow's own process. Each helper has an address-space cap
/// (`memoryBytes`) and is killed at its parse's deadline or when its task is cancelled; whatever
/// it took goes back to the system when it ends, and a helper that crashes fails only its parse.
package final class ParserPool: Sendable {
    package let executable: String
    /// How many helpers parse at once.
    package let processes: Int
    /// Each helper's address space (`RLIMIT_AS`), in bytes.
    package let memoryBytes: Int
    /// The largest document a helper may answer with, in bytes of JSON: the step output limit.
    package let maxOutputBytes: Int
    private let slots: ParserSlots
    private let logger: Logger

    package static let defaultProcesses = 4
    package static let defaultMemoryMiB = 1024

    /// The formats parsed in a helper; the others (text, Markdown, CSV, JSON) are read in
    /// docflow's process, in time linear in their size.
    package static let isolatedFormats: Set<String> = ["pdf", "docx", "html"]

    /// - Parameters:
    ///   - executable: the `docflow-parse` binary; see `defaultExecutable`.
    ///   - processes: how many documents are parsed at once.
    ///   - memoryMiB: each helper's address space, in MiB.
    ///   - maxOutputBytes: the largest parsed document, in bytes of JSON; a larger one fails.
    package init(
        executable: String = ParserPool.defaultExecutable, processes: Int = ParserPool.defaultProcesses,
        memoryMiB: Int = ParserPool.defaultMemoryMiB, maxOutputBytes: Int = MessageLimits().maxStepOutputBytes,
        logger: Logger = Logger(label: "docflow.parse")
    ) {
        self.logger = logger
        // A write to a killed helper must come back as an error, not kill docflow.
        signal(SIGPIPE, SIG_IGN)
        self.executable = executable
        self.processes = max(processes, 1)
        self.memoryBytes = memoryMiB << 20
        self.maxOutputBytes = maxOutputBytes
        slots = ParserSlots(self.processes)
    }

    /// `DOCFLOW_PARSE_PATH`, else `docflow-parse` beside the running executable, else on the PATH.
    package static var defaultExecutable: String {
        HelperProcess.locate("docflow-parse", variable: "DOCFLOW_PARSE_PATH")
    }

    /// How many helpers parse now.
    package var running: Int { slots.taken }

    /// How many parses wait for a helper.
    package var waiting: Int { slots.waiting }

    /// Parses `request` in a helper of its own, giving up at `deadline`.
    package func parse(_ request: ParseRequest, deadline: ContinuousClock.Instant) async throws(ParserError)
        -> ParsedDocument
    {
        switch await slots.acquire(until: deadline) {
        case .granted: break
        case .cancelled: throw .cancelled
        case .timedOut: throw .timeout(waiting: true)
        }
        defer { slots.release() }
        let limits = ParserRun.Limits(executable: executable, memoryBytes: memoryBytes, maxOutputBytes: maxOutputBytes)
        return try await ParserRun.parse(request, limits: limits, deadline: deadline, logger: logger).get()
    }
}
