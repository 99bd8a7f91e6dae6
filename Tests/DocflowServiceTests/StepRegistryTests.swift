import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import Logging
import Testing

@testable import DocflowService

/// The executors `docflow serve` registers, one per step type, without a broker.
@Suite struct StepRegistryTests {
    struct NoExtractionService: ExtractionDelegate {
        func extract(service: String, request: JSONValue, timeout: Duration) async throws(StepError) -> JSONValue {
            throw StepError("no extraction service in this test", retryable: false)
        }
    }

    @Test func everyStepTypeHasAnExecutorAndADeclaredPlaceEffectAndDeadline() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-registry-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
        let store = try Store(path: path)
        let jq = JQPool(size: 1, logger: Logger(label: "test"))
        defer { jq.shutdown() }
        let executors = Worker.stepExecutors(
            ServiceConfiguration(), store: store, jq: jq, http: CurlClient(policy: OutboundPolicy()),
            extraction: NoExtractionService(), logger: Logger(label: "test"))
        for type in StepType.allCases {
            #expect(executors[type] != nil, "no executor for \(type.rawValue) steps")
            // Steps that may run before their start is committed only read: every type that sends
            // or delegates is external, so a duplicate trigger never reaches it.
            let sends: Set<StepType> = [.integration, .extract]
            #expect((type.capabilities.effects == .external) == sends.contains(type))
        }
    }
}
