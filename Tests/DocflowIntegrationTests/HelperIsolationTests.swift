import DocflowCore
import Foundation
import Testing

/// What a jq helper of the real `docflow serve` inherits: no environment (docflow's has the AMQP
/// and SMTP credentials), no descriptor but 0, 1 and 2; and every descriptor of docflow's own is
/// close-on-exec, so no program it starts keeps its port or its database open.
@Suite("Helper isolation")
struct HelperIsolationTests {
    @Test(.timeLimit(.minutes(2))) func jqHelpersInheritNoEnvironmentAndNoDescriptorOfDocflows() async throws {
        let port = try freePort()
        let child = try ServeChild(arguments: ["--http-port", "\(port)"])
        defer { Task { await child.remove() } }
        let up = ContinuousClock.now.advanced(by: .seconds(30))
        while (try? await http("GET", port, "/readyz"))?.status != 200 {
            guard child.process.isRunning, ContinuousClock.now < up else {
                throw TestFailure("docflow serve did not come up; log:\n\(child.log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let created = try await http(
            "POST", port, "/api/workflows",
            json: [
                "name": "looks around", "trigger_type": "manual",
                "definition": [
                    "steps": [
                        transform("env", "{dollar: $ENV, builtin: env}"),
                        transform("spin", "last(range(1e18))", ["timeout_ms": 60_000]),
                    ]
                ],
            ])
        let workflowID = try #require(created.body?["id"]?.stringValue, "\(created.text)")
        let started = try await http("POST", port, "/api/workflows/\(workflowID)/execute", json: ["trigger_data": [:]])
        let executionID = try #require(started.body?["execution_id"]?.stringValue, "\(started.text)")

        let docflow = child.process.processIdentifier
        var helpers: [pid_t] = []
        let spawned = ContinuousClock.now.advanced(by: .seconds(10))
        while helpers.isEmpty, ContinuousClock.now < spawned {
            try await Task.sleep(for: .milliseconds(50))
            helpers = ProcessTable.children(of: docflow, named: "docflow-jq")
        }
        try #require(!helpers.isEmpty, "no jq helper started; log:\n\(child.log)")
        for helper in helpers {
            #expect(ProcessTable.environment(of: helper) == [], "helper \(helper)")
            let descriptors = ProcessTable.descriptors(of: helper)
            #expect(
                descriptors == [0, 1, 2],
                "helper \(helper): \(descriptors.map { "\($0) \(ProcessTable.target(of: $0, in: helper))" })")
        }
        let inherited = ProcessTable.descriptors(of: docflow).filter { fd in
            fd > 2 && ProcessTable.isCloseOnExec(fd, in: docflow) == false
        }
        #expect(
            inherited.isEmpty,
            "docflow's descriptors without close-on-exec: \(inherited.map { "\($0) \(ProcessTable.target(of: $0, in: docflow))" })"
        )

        let executions = try await http(
            "GET", port, "/api/workflows/\(workflowID)/executions?execution_id=\(executionID)")
        let execution = try #require(executions.body?["executions"]?.arrayValue?.first, "\(executions.text)")
        let envStep = execution.step("env")
        let empty: JSONValue = ["dollar": .object([:]), "builtin": .object([:])]
        #expect(envStep?["output"] == empty, "\(executions.text)")
    }
}
